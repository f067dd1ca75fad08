#pragma once

// Cryptographically secure randomness (OpenSSL's DRBG). Thread-safe.

#include <cstdint>
#include <span>
#include <string>

namespace pactum::crypto {

// Fills `out` with random bytes. Aborts the process if the system has no entropy: running
// on without a working CSPRNG would be worse than stopping.
void RandomBytes(std::span<uint8_t> out);

// `n` random bytes, lower-case hex encoded (2n characters).
std::string RandomHex(size_t n);

// Constant-time comparison of two byte strings (length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace pactum::crypto
