#pragma once

// Bearer secrets (session ids, CSRF tokens, API tokens): 256 random bits written as 43
// characters of base64url, kept only as their SHA-256. Thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

namespace pactum::crypto {

inline constexpr size_t kUrlTokenChars = 43;  // base64url of 32 bytes, no padding

// A fresh random token.
std::string RandomUrlToken();

// Whether `text` has the form RandomUrlToken() produces (checked before any lookup).
bool IsUrlToken(std::string_view text);

// The raw 32-byte SHA-256 of `data`, as stored in place of a token.
std::string Sha256(std::string_view data);

}  // namespace pactum::crypto
