#pragma once

// HKDF-SHA256 (RFC 5869) through OpenSSL: one key from another for one purpose. Thread-safe.

#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"
#include "crypto/secret.h"

namespace pactum::crypto {

// 32 bytes derived from `ikm` with `salt` (may be empty) for the purpose named by `info`.
Result<SecretBytes> HkdfSha256(std::span<const uint8_t> ikm, std::span<const uint8_t> salt,
                               std::string_view info);

}  // namespace pactum::crypto
