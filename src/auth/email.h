#pragma once

// Email addresses as account names. An address is accepted when it is:
//   - 3-254 bytes of UTF-8 without white space, control, bidirectional or invisible
//     characters (the text rule of common/text.h);
//   - one '@' between a local part of 1-64 bytes (RFC 5321) and a domain;
//   - a local part of dot-separated atoms (RFC 5322 atext, and any non-ASCII letters,
//     RFC 6531): no leading, trailing or doubled dot, no quoted forms;
//   - a domain of at least two dot-separated labels (or exactly "localhost", which the
//     first start's admin uses), each of 1-63 bytes of letters, digits and inner hyphens,
//     the last one not all digits (an IP address is not a mail domain);
//   - single-script in the local part and in each domain label (UTS #39 section 5.1,
//     resolved script sets from ICU's Script_Extensions: Common and Inherited characters
//     such as digits, '.', '-' and combining marks go with any script; Han goes with
//     Hiragana, Katakana, Hangul and Bopomofo as Japanese, Korean and Chinese writing do).
//     "аdmin" with a Cyrillic "а", or "pаypal.com", is how look-alike addresses are made.
// Addresses are compared case-insensitively in ASCII (EmailKey). Stateless, thread-safe.

#include <string>
#include <string_view>

#include "common/status.h"

namespace pactum::auth {

// OK, or kInvalidArgument "not a valid email address: <why>" in words for the person who
// typed it ("it mixes Latin and Cyrillic letters before the @ ...").
Status CheckEmail(std::string_view email);

// CheckEmail(email).ok().
bool IsValidEmail(std::string_view email);

// The case-insensitive key an address is unique by.
std::string EmailKey(std::string_view email);

}  // namespace pactum::auth
