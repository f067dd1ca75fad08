#pragma once

// Strict JSON parsing for text from outside (request bodies above all): exactly one JSON
// value (RFC 8259), valid UTF-8 throughout, nothing after it but white space (a NUL byte is
// not white space: nlohmann's own parser stops at one and ignores the rest), no key twice
// in one object at any depth (nlohmann would keep the last one silently, so two readers of
// one body could disagree), numbers that fit (an integer literal beyond 64 bits or a float
// beyond double's range such as 1e400 is refused instead of turning into a double or an
// exception), and a nesting limit. Never throws: the parse runs on nlohmann's SAX
// interface. Error messages are safe to show a client: they give a byte offset, or at most
// a short escaped excerpt (a duplicated key), never the input itself.
// Stateless and thread-safe.

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace pactum {

struct JsonLimits {
  size_t max_depth = 32;  // objects and arrays nested in one another
};

// The value of `text`, or kInvalidArgument with reason "invalid_json" and a message
// saying what is wrong (and where, as a byte offset, when the parser knows).
Result<nlohmann::json> ParseStrictJson(std::string_view text, const JsonLimits& limits = {});

}  // namespace pactum
