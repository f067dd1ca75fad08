#include "tenant/tenant_keys.h"

#include <cstring>

#include "crypto/aead.h"
#include "crypto/random.h"

namespace pactum::tenant {
namespace {

constexpr char kSealMagic[4] = {'p', 't', 's', '1'};
constexpr size_t kSealHeader = 8;

crypto::KeyRef Ref(int64_t tenant_id, uint32_t version) {
  return {"tenant", std::to_string(tenant_id) + "/v" + std::to_string(version)};
}

std::string SealAad(int64_t tenant_id, uint32_t version, std::string_view context) {
  std::string aad = "pactum-tenant-seal-v1";
  aad += '\0';
  aad += std::to_string(tenant_id);
  aad += '\0';
  aad += std::to_string(version);
  aad += '\0';
  aad += context;
  return aad;
}

}  // namespace

Result<uint32_t> TenantKeys::AddVersion(store::Session& session, int64_t tenant_id) {
  ASSIGN_OR_RETURN(auto rows, session.Query("SELECT coalesce(max(version), 0) FROM tenant_keys "
                                            "WHERE tenant_id = $1",
                                            {tenant_id}));
  const auto version = static_cast<uint32_t>(rows.empty() ? 1 : rows[0].Int(0) + 1);
  crypto::SecretBytes key(crypto::kAesKeyBytes);
  crypto::RandomBytes(key.span());
  ASSIGN_OR_RETURN(const crypto::WrappedKey wrapped,
                   keys_.Wrap(Ref(tenant_id, version), key.span()));
  RETURN_IF_ERROR(
      session
          .Execute("INSERT INTO tenant_keys (tenant_id, version, wrapped, created_at) "
                   "VALUES ($1, $2, $3, $4)",
                   {tenant_id, int64_t{version}, wrapped.Encode(), FormatRfc3339(clock_.Now())})
          .status());
  // Not cached here: the transaction may still roll back.
  return version;
}

Result<int64_t> TenantKeys::RewrapAll(store::Session& session) {
  ASSIGN_OR_RETURN(auto rows, session.Query("SELECT tenant_id, version, wrapped FROM tenant_keys "
                                            "ORDER BY tenant_id, version"));
  int64_t count = 0;
  for (const store::Row& row : rows) {
    const int64_t tenant_id = row.Int(0);
    const auto version = static_cast<uint32_t>(row.Int(1));
    const store::Blob blob = row.Bytes(2);
    ASSIGN_OR_RETURN(const crypto::WrappedKey old, crypto::WrappedKey::Decode(blob));
    ASSIGN_OR_RETURN(const crypto::SecretBytes key, keys_.Unwrap(Ref(tenant_id, version), old));
    ASSIGN_OR_RETURN(const crypto::WrappedKey fresh,
                     keys_.Wrap(Ref(tenant_id, version), key.span()));
    RETURN_IF_ERROR(session
                        .Execute("UPDATE tenant_keys SET wrapped = $1 "
                                 "WHERE tenant_id = $2 AND version = $3",
                                 {fresh.Encode(), tenant_id, int64_t{version}})
                        .status());
    ++count;
  }
  return count;
}

Result<int64_t> TenantKeys::VerifyAll(store::Session& session) {
  ASSIGN_OR_RETURN(auto rows, session.Query("SELECT tenant_id, version FROM tenant_keys "
                                            "ORDER BY tenant_id, version"));
  for (const store::Row& row : rows) {
    RETURN_IF_ERROR(Key(session, row.Int(0), static_cast<uint32_t>(row.Int(1))).status());
  }
  return static_cast<int64_t>(rows.size());
}

Result<const crypto::SecretBytes*> TenantKeys::Key(store::Session& session, int64_t tenant_id,
                                                   uint32_t version) {
  ASSIGN_OR_RETURN(auto rows, session.Query("SELECT wrapped FROM tenant_keys "
                                            "WHERE tenant_id = $1 AND version = $2",
                                            {tenant_id, int64_t{version}}));
  if (rows.empty()) return NotFound("tenant key not found");
  const store::Blob blob = rows[0].Bytes(0);
  // Keyed by the wrapping itself: a row seen in a transaction that later rolled back can
  // never stand in for a different key of the same version.
  std::string cache_key(blob.begin(), blob.end());
  cache_key += '\0';
  cache_key += Ref(tenant_id, version).id;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(cache_key); it != cache_.end()) return &it->second;
  }
  ASSIGN_OR_RETURN(const crypto::WrappedKey wrapped, crypto::WrappedKey::Decode(blob));
  ASSIGN_OR_RETURN(crypto::SecretBytes key, keys_.Unwrap(Ref(tenant_id, version), wrapped));
  std::lock_guard lock(mu_);
  auto [it, inserted] = cache_.try_emplace(std::move(cache_key), std::move(key));
  return &it->second;  // std::map nodes are stable: the pointer outlives later inserts
}

Result<uint32_t> TenantKeys::CurrentVersion(store::Session& session, int64_t tenant_id) {
  ASSIGN_OR_RETURN(auto rows, session.Query("SELECT max(version) FROM tenant_keys "
                                            "WHERE tenant_id = $1",
                                            {tenant_id}));
  if (rows.empty() || rows[0].IsNull(0)) return NotFound("tenant has no data key");
  return static_cast<uint32_t>(rows[0].Int(0));
}

Result<crypto::SecretBytes> TenantKeys::DataKey(store::Session& session, int64_t tenant_id,
                                                uint32_t version) {
  ASSIGN_OR_RETURN(const crypto::SecretBytes* key, Key(session, tenant_id, version));
  return crypto::SecretBytes::CopyOf(key->span());
}

Result<std::vector<uint8_t>> TenantKeys::Seal(store::Session& session, int64_t tenant_id,
                                              std::span<const uint8_t> plaintext,
                                              std::string_view context) {
  ASSIGN_OR_RETURN(const uint32_t version, CurrentVersion(session, tenant_id));
  ASSIGN_OR_RETURN(const crypto::SecretBytes* key, Key(session, tenant_id, version));
  ASSIGN_OR_RETURN(
      const std::vector<uint8_t> sealed,
      crypto::AesGcmSeal(key->span(), plaintext, SealAad(tenant_id, version, context)));
  std::vector<uint8_t> out(kSealMagic, kSealMagic + 4);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(version >> shift));
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Result<crypto::SecretBytes> TenantKeys::Open(store::Session& session, int64_t tenant_id,
                                             std::span<const uint8_t> sealed,
                                             std::string_view context) {
  if (sealed.size() < kSealHeader || std::memcmp(sealed.data(), kSealMagic, 4) != 0) {
    return InvalidArgument("not a sealed tenant secret");
  }
  const uint32_t version = (uint32_t{sealed[4]} << 24) | (uint32_t{sealed[5]} << 16) |
                           (uint32_t{sealed[6]} << 8) | sealed[7];
  auto key = Key(session, tenant_id, version);
  if (!key.ok()) {
    if (key.status().code() == StatusCode::kNotFound) {
      return DataLoss("sealed secret names a key version this tenant does not have");
    }
    return key.status();
  }
  return crypto::AesGcmOpen((*key)->span(), sealed.subspan(kSealHeader),
                            SealAad(tenant_id, version, context));
}

}  // namespace pactum::tenant
