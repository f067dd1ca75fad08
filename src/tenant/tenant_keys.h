#pragma once

// Per-tenant data keys: 256-bit, versioned, stored in tenant_keys wrapped by the
// KeyProvider (purpose "tenant", id "<tenant id>/v<version>", so a wrapping cannot be
// moved to another tenant or version). New data is sealed with a tenant's newest
// version; every older version stays readable. Unwrapped keys are cached in locked
// memory and wiped when this object is destroyed.
//
// Seal/Open protect small secrets that must stay encrypted in any database engine (TOTP
// secrets, keys of later features): the result is self-describing,
//   "pts1" | key version (4 bytes, big-endian) | AES-256-GCM nonce | ciphertext | tag
// with the tenant, the version and the caller's `context` (what the secret is, e.g.
// "totp:user/42") bound as associated data.
//
// Thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "crypto/key_provider.h"
#include "store/database.h"

namespace pactum::tenant {

class TenantKeys {
 public:
  TenantKeys(crypto::KeyProvider& keys, const Clock& clock) : keys_(keys), clock_(clock) {}

  // Adds the next key version for `tenant_id` (version 1 for a new tenant) in the
  // caller's write transaction; returns the version.
  Result<uint32_t> AddVersion(store::Session& session, int64_t tenant_id);

  // Rewraps every version of every tenant under the provider's current KEK version, in
  // the caller's write transaction; returns how many wrappings were rewritten.
  Result<int64_t> RewrapAll(store::Session& session);

  // Unwraps every version of every tenant's key (an operator's check that the master key
  // opens them all); returns how many. The first failure is returned as is.
  Result<int64_t> VerifyAll(store::Session& session);

  // The version new data is sealed with (the newest); kNotFound when the tenant has none.
  Result<uint32_t> CurrentVersion(store::Session& session, int64_t tenant_id);
  // A copy of the tenant's data key of `version`, for the stored-file cipher
  // (crypto/file_cipher.h) and keys derived from it. kNotFound for an unknown version.
  Result<crypto::SecretBytes> DataKey(store::Session& session, int64_t tenant_id, uint32_t version);

  // Errors: kNotFound when the tenant has no key; kDataLoss when a sealed value or a
  // wrapping does not authenticate (altered, another tenant's, another context).
  Result<std::vector<uint8_t>> Seal(store::Session& session, int64_t tenant_id,
                                    std::span<const uint8_t> plaintext, std::string_view context);
  Result<crypto::SecretBytes> Open(store::Session& session, int64_t tenant_id,
                                   std::span<const uint8_t> sealed, std::string_view context);

 private:
  Result<const crypto::SecretBytes*> Key(store::Session& session, int64_t tenant_id,
                                         uint32_t version);

  crypto::KeyProvider& keys_;
  const Clock& clock_;
  std::mutex mu_;
  // Unwrapped keys by (wrapping, slot). Grows only by key versions and rotations.
  std::map<std::string, crypto::SecretBytes> cache_;  // GUARDED_BY(mu_)
};

}  // namespace pactum::tenant
