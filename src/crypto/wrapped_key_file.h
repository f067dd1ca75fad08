#pragma once

// A data key kept beside the data it protects, wrapped by the KeyProvider (the database
// key lives in <data>/pactum.db-key). Text, mode 0600:
//   pactum-wrapped-key-v1 purpose=<purpose> id=<id>
//   <base64 of WrappedKey::Encode()>
// The wrapping carries the environment, so a process of another environment is refused
// before anything is decrypted.

#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "crypto/key_provider.h"

namespace pactum::crypto {

// Unwraps the key in `path`. kNotFound when the file does not exist; kFailedPrecondition
// (naming both environments) when it belongs to another environment or its KEK version
// is no longer held; kDataLoss when the master key does not open it; kInvalidArgument for
// a file that is not a wrapped key file for `ref`.
Result<SecretBytes> LoadWrappedKeyFile(const std::string& path, KeyProvider& keys,
                                       const KeyRef& ref);

// Makes a new random 256-bit key, writes it wrapped to `path` (atomically, 0600, never
// over an existing file, even one another process creates at the same moment:
// kAlreadyExists) and returns it.
Result<SecretBytes> CreateWrappedKeyFile(const std::string& path, KeyProvider& keys,
                                         const KeyRef& ref);

// Rewraps the key in `path` under the provider's current KEK version, replacing the file
// atomically. Returns the KEK version it is now wrapped with.
Result<uint32_t> RewrapKeyFile(const std::string& path, KeyProvider& keys, const KeyRef& ref);

// The text of a wrapped key file holding `key`, under the current KEK version: for copies
// kept elsewhere (a backup target keeps the backup key this way).
Result<std::string> WrappedKeyText(KeyProvider& keys, const KeyRef& ref,
                                   std::span<const uint8_t> key);

// Unwraps the text of a wrapped key file; `origin` names it in messages. Errors as
// LoadWrappedKeyFile's.
Result<SecretBytes> UnwrapKeyText(std::string_view text, const std::string& origin,
                                  KeyProvider& keys, const KeyRef& ref);

}  // namespace pactum::crypto
