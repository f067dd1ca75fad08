#pragma once

// The key-encryption key (KEK) behind every data key, behind an interface so a KMS
// (Vault transit, a cloud KMS) can replace the local master key without touching callers:
// callers only ever Wrap and Unwrap data keys; the KEK never leaves the provider.
//
// Every wrapping is bound to the provider's environment (prod | staging | dev), the KEK
// version, and the key's purpose and id (associated data), so a wrapped key cannot be
// moved to another slot, another environment, or opened with another KEK.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/secret.h"

namespace pactum::crypto {

// What a data key is for: ("database", "main"), ("tenant", "42/v3") ...
struct KeyRef {
  std::string purpose;
  std::string id;
};

struct WrappedKey {
  std::string environment;
  uint32_t kek_version = 0;
  std::vector<uint8_t> sealed;

  // Self-describing bytes for storage: "pwk1" | env | version | sealed.
  std::vector<uint8_t> Encode() const;
  // kInvalidArgument when `bytes` is not an encoded WrappedKey.
  static Result<WrappedKey> Decode(std::span<const uint8_t> bytes);
};

// Thread-safe.
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  virtual const std::string& environment() const = 0;
  // The KEK version new wrappings use.
  virtual uint32_t current_version() const = 0;
  // Wraps `key` under the current KEK version.
  virtual Result<WrappedKey> Wrap(const KeyRef& ref, std::span<const uint8_t> key) = 0;
  // Errors: kFailedPrecondition when `wrapped` belongs to another environment, kNotFound
  // when its KEK version is not known here, kDataLoss when it does not authenticate
  // (wrong KEK, another key slot, altered bytes).
  virtual Result<SecretBytes> Unwrap(const KeyRef& ref, const WrappedKey& wrapped) = 0;

  // Rotation: starts a new KEK version that new wrappings use (older versions still
  // unwrap), and later retires versions below one once every key is rewrapped. A KMS maps
  // these to its own rotate and minimum-decryption-version settings. kFailedPrecondition
  // where the provider cannot rotate (an injected key).
  virtual Status AddVersion() = 0;
  virtual Status RemoveVersionsBelow(uint32_t version) = 0;
};

}  // namespace pactum::crypto
