#pragma once

// What a document is, decided from its first bytes (libmagic, the `file` command's
// library), never from the client's Content-Type or file name; and the name a client
// gave it, made safe to keep and to show.
//
// Thread-safe (one libmagic handle behind a mutex: detection looks at a bounded window).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pactum::document {

// How many leading bytes decide the type.
inline constexpr size_t kSniffBytes = size_t{64} * 1024;

// The MIME type of a file starting with `head` (at most kSniffBytes of it; `complete`
// when `head` is the whole file). An empty file, and UTF-8 text without control
// characters that libmagic cannot name (very short text), are "text/plain".
// kInternal when libmagic's database cannot be loaded.
Result<std::string> DetectType(std::span<const uint8_t> head, bool complete);

// A file name as X-Filename gave it, safe to store and show: the last path component
// only, control, bidirectional-override and reserved characters (/ \ : * ? " < > |)
// removed, leading dots and surrounding spaces trimmed, at most 200 bytes (whole UTF-8
// characters). Invalid UTF-8 or nothing left gives "document".
std::string SanitizeFilename(std::string_view raw);

}  // namespace pactum::document
