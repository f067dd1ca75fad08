#pragma once

// Checks of client-supplied text shared by the contract fields and the custom fields
// (internal to contract/).

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace pactum::contract {

// Whether `s` holds C0 or C1 controls, DEL, or a bidirectional override or isolate (which
// can make text display as something else). With `allow_newline_and_tab`, \n and \t pass.
bool HasControlCharacters(std::string_view s, bool allow_newline_and_tab = false);

// kInvalidArgument "\"<field>\" <what>".
Status Bad(const std::string& field, const std::string& what);

// Whether `s` is `min`-`max` bytes of UTF-8 without control characters (see
// HasControlCharacters); kInvalidArgument naming `field` otherwise.
Status CheckText(std::string_view s, const std::string& field, size_t min, size_t max,
                 bool allow_newline_and_tab = false);

// `v` as a string of `min`-`max` bytes of UTF-8 without control characters (see
// HasControlCharacters) into `out`; kInvalidArgument naming `field` otherwise.
Status TextField(const nlohmann::json& v, const std::string& field, size_t min, size_t max,
                 std::string& out, bool allow_newline_and_tab = false);

}  // namespace pactum::contract
