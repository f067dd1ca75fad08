#pragma once

// The contract module's helpers for client-supplied text (internal to contract/). The rule
// itself is the one for every user-given name and text, in common/text.h.

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/text.h"

namespace pactum::contract {

// kInvalidArgument "\"<field>\" <what>".
Status Bad(const std::string& field, const std::string& what);

// `v` as a string keeping the text rule (common/text.h) with `min_chars`-`max_chars` code
// points into `out`; kInvalidArgument naming `field` otherwise.
Status TextField(const nlohmann::json& v, const std::string& field, size_t min_chars,
                 size_t max_chars, std::string& out, TextKind kind = TextKind::kName);

}  // namespace pactum::contract
