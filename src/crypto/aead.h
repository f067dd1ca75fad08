#pragma once

// AES-256-GCM (OpenSSL EVP, AES-NI) for small objects such as wrapped keys and sealed
// secrets. Format of a sealed value: 12-byte random nonce || ciphertext || 16-byte tag.
// `aad` is authenticated but not stored: the opener must present the same context.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/secret.h"

namespace pactum::crypto {

inline constexpr size_t kAesKeyBytes = 32;
inline constexpr size_t kGcmNonceBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;

// kInvalidArgument for a key that is not 32 bytes.
Result<std::vector<uint8_t>> AesGcmSeal(std::span<const uint8_t> key,
                                        std::span<const uint8_t> plaintext, std::string_view aad);

// kDataLoss when the value was altered, or the key or the context is not the one it was
// sealed with (GCM cannot tell these apart); kInvalidArgument for a malformed input.
Result<SecretBytes> AesGcmOpen(std::span<const uint8_t> key, std::span<const uint8_t> sealed,
                               std::string_view aad);

}  // namespace pactum::crypto
