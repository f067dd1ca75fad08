#pragma once

// The embedded KeyProvider: KEK versions held in locked memory, read from the master key
// file (default <data>/master.key) or from PACTUM_MASTER_KEY (base64, one version).
//
// Master key file, text, 0600:
//   pactum-master-key-v1 environment=<prod|staging|dev>
//   kek <version> <base64 of 32 bytes>      (one line per version, ascending)

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "crypto/key_provider.h"

namespace pactum::crypto {

class LocalKeyProvider final : public KeyProvider {
 public:
  // Reads `path`. Refuses (kFailedPrecondition, one-line reason naming the file) a file
  // readable by group or others, a file of another environment than `environment`, and
  // a malformed file (kInvalidArgument); kNotFound when it does not exist.
  static Result<std::unique_ptr<LocalKeyProvider>> Load(const std::string& path,
                                                        const std::string& environment);
  // Creates a new key file with one random KEK (version 1), mode 0600, never overwriting
  // (kAlreadyExists, also when another process creates it at the same moment), then
  // loads it.
  static Result<std::unique_ptr<LocalKeyProvider>> Create(const std::string& path,
                                                          const std::string& environment);
  // One KEK (version 1) from base64, for deployments that inject secrets.
  static Result<std::unique_ptr<LocalKeyProvider>> FromBase64(std::string_view base64,
                                                              const std::string& environment);

  const std::string& environment() const override { return environment_; }
  uint32_t current_version() const override;
  Result<WrappedKey> Wrap(const KeyRef& ref, std::span<const uint8_t> key) override;
  Result<SecretBytes> Unwrap(const KeyRef& ref, const WrappedKey& wrapped) override;

  // Adds a new random KEK version and rewrites the key file atomically (0600); new
  // wrappings use it, older versions stay for unwrapping until RemoveVersionsBelow.
  // kFailedPrecondition for a provider not backed by a file.
  Status AddVersion() override;
  // Forgets versions below `version` and rewrites the file (after every key is rewrapped).
  Status RemoveVersionsBelow(uint32_t version) override;

 private:
  explicit LocalKeyProvider(std::string environment, std::string path)
      : environment_(std::move(environment)), path_(std::move(path)) {}
  // Writes the key file; `exclusive` never replaces an existing one (first creation).
  Status SaveLocked(bool exclusive = false) const;

  const std::string environment_;
  const std::string path_;  // empty for FromBase64
  mutable std::mutex mu_;
  std::map<uint32_t, SecretBytes> keks_;  // GUARDED_BY(mu_)
};

}  // namespace pactum::crypto
