#include "document/document_service.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/hex.h"
#include "common/log.h"
#include "crypto/file_cipher.h"
#include "document/content_type.h"

namespace pactum::document {
namespace {

constexpr std::string_view kComponent = "documents";

#define PACTUM_DOCUMENT_COLUMNS                                                           \
  "d.id, d.tenant_id, d.contract_id, d.name, d.version, d.media_type, d.size, d.sha256, " \
  "d.uploaded_by, d.created_at, d.blob_id, d.key_version"

Document FromRow(const store::Row& r) {
  Document d;
  d.id = r.Int(0);
  d.tenant_id = r.Int(1);
  d.contract_id = r.Int(2);
  d.name = r.Text(3);
  d.version = r.Int(4);
  d.media_type = r.Text(5);
  d.size = r.Int(6);
  d.sha256 = r.Text(7);
  d.uploaded_by = r.Int(8);
  d.created_at = r.Text(9);
  d.blob_id = r.Text(10);
  d.key_version = static_cast<uint32_t>(r.Int(11));
  return d;
}

Status NotOwner() {
  return Status(StatusCode::kPermissionDenied, "only the contract's owner may change its documents")
      .WithReason("not_owner");
}

Status LinkRefused(std::string_view reason, std::string message) {
  return Status(StatusCode::kPermissionDenied, std::move(message)).WithReason(std::string(reason));
}

// The contract must exist in the tenant, outside the trash, owned by `only_owner` if set.
Status CheckContractIn(store::Session& s, int64_t tenant_id, int64_t contract_id,
                       int64_t only_owner) {
  ASSIGN_OR_RETURN(auto rows, s.Query("SELECT owner_id FROM contracts WHERE id = $1 AND "
                                      "tenant_id = $2 AND deleted_at IS NULL",
                                      {contract_id, tenant_id}));
  if (rows.empty()) return NotFound("no such contract");
  if (only_owner > 0 && rows[0].Int(0) != only_owner) return NotOwner();
  return Status::Ok();
}

// The upload as it streams by: the sniffed head first, then the rest of the body, each
// byte counted and hashed on its way to the cipher. The body is read in large pieces
// (each read of a streamed body is a round trip to the connection's I/O thread).
class HashingSource final : public ByteSource {
 public:
  HashingSource(std::span<const uint8_t> head, ByteSource& rest)
      : head_(head), rest_(rest), buffer_(kReadBytes), ctx_(EVP_MD_CTX_new()) {
    if (ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
      EVP_MD_CTX_free(ctx_);
      ctx_ = nullptr;
    }
  }
  ~HashingSource() override { EVP_MD_CTX_free(ctx_); }
  HashingSource(const HashingSource&) = delete;
  HashingSource& operator=(const HashingSource&) = delete;

  Result<size_t> Read(std::span<uint8_t> out) override {
    if (ctx_ == nullptr) return Internal("SHA-256 is not available");
    if (pos_ == end_) {
      if (!head_.empty()) {  // at most kSniffBytes: fits
        std::memcpy(buffer_.data(), head_.data(), head_.size());
        end_ = head_.size();
        head_ = {};
      } else {
        ASSIGN_OR_RETURN(end_, rest_.Read(buffer_));
      }
      pos_ = 0;
      if (end_ == 0) return size_t{0};
      if (EVP_DigestUpdate(ctx_, buffer_.data(), end_) != 1) return Internal("SHA-256 failed");
      size_ += end_;
    }
    const size_t n = std::min(out.size(), end_ - pos_);
    std::memcpy(out.data(), buffer_.data() + pos_, n);
    pos_ += n;
    return n;
  }

  uint64_t size() const { return size_; }
  Result<std::string> HexDigest() {
    uint8_t digest[32];
    unsigned int len = 0;
    if (ctx_ == nullptr || EVP_DigestFinal_ex(ctx_, digest, &len) != 1) {
      return Internal("SHA-256 failed");
    }
    return HexEncode(std::span<const uint8_t>(digest, len));
  }

 private:
  static constexpr size_t kReadBytes = 1 << 20;
  std::span<const uint8_t> head_;
  ByteSource& rest_;
  std::vector<uint8_t> buffer_;
  size_t pos_ = 0;
  size_t end_ = 0;
  EVP_MD_CTX* ctx_;
  uint64_t size_ = 0;
};

}  // namespace

nlohmann::json ToJson(const Document& d) {
  return {{"id", d.id},           {"contract_id", d.contract_id}, {"name", d.name},
          {"version", d.version}, {"media_type", d.media_type},   {"size", d.size},
          {"sha256", d.sha256},   {"uploaded_by", d.uploaded_by}, {"created_at", d.created_at}};
}

DocumentService::DocumentService(store::Database& db, const Clock& clock, tenant::TenantKeys& keys,
                                 blob::BlobStore& blobs, std::vector<std::string> allowed_types,
                                 audit::AuditSink& audit)
    : db_(db),
      clock_(clock),
      keys_(keys),
      blobs_(blobs),
      audit_(audit),
      allowed_types_(std::move(allowed_types)) {}

Status DocumentService::CheckContract(int64_t tenant_id, int64_t contract_id, int64_t only_owner) {
  return db_.Read(
      [&](store::Session& s) { return CheckContractIn(s, tenant_id, contract_id, only_owner); });
}

Result<Document> DocumentService::Upload(const audit::Actor& by, int64_t tenant_id,
                                         int64_t contract_id, int64_t user_id, int64_t only_owner,
                                         const std::string& name, ByteSource& body) {
  // The type comes from the first bytes, before anything is stored.
  std::vector<uint8_t> head(kSniffBytes);
  ASSIGN_OR_RETURN(const size_t got, ReadFull(body, head));
  head.resize(got);
  ASSIGN_OR_RETURN(const std::string type, DetectType(head, got < kSniffBytes));
  if (std::find(allowed_types_.begin(), allowed_types_.end(), type) == allowed_types_.end()) {
    return Status(StatusCode::kUnsupportedMediaType,
                  "documents of type " + type + " are not accepted")
        .WithReason("unsupported_type");
  }

  uint32_t key_version = 0;
  crypto::SecretBytes key;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(key_version, keys_.CurrentVersion(s, tenant_id));
    ASSIGN_OR_RETURN(key, keys_.DataKey(s, tenant_id, key_version));
    return Status::Ok();
  }));
  const blob::BlobId blob_id = blob::BlobId::Random();
  HashingSource plain(head, body);
  ASSIGN_OR_RETURN(
      auto sealed,
      crypto::EncryptingSource(key.span(), {.tenant_id = tenant_id, .key_version = key_version},
                               blob_id.str(), plain));
  RETURN_IF_ERROR(blobs_.Put(blob_id, *sealed));

  Document d;
  d.tenant_id = tenant_id;
  d.contract_id = contract_id;
  d.name = name;
  d.media_type = type;
  d.size = static_cast<int64_t>(plain.size());
  d.uploaded_by = user_id;
  d.created_at = FormatRfc3339(clock_.Now());
  d.blob_id = blob_id.str();
  d.key_version = key_version;
  auto digest = plain.HexDigest();
  Status committed = digest.status();
  // Whether the transaction's work succeeded: if it did and the write still failed, the
  // COMMIT itself failed, and SQLite may yet keep the row at recovery, so the object is
  // left to the sweeper (which removes it only if no row names it).
  bool work_done = false;
  if (committed.ok()) {
    d.sha256 = *digest;
    committed = db_.Write([&](store::Session& s) -> Status {
      work_done = false;
      RETURN_IF_ERROR(CheckContractIn(s, tenant_id, contract_id, only_owner));
      ASSIGN_OR_RETURN(auto rows,
                       s.Query("INSERT INTO documents (tenant_id, contract_id, name, version, "
                               "media_type, size, sha256, blob_id, key_version, uploaded_by, "
                               "created_at) SELECT $1, $2, $3, coalesce(max(version), 0) + 1, $4, "
                               "$5, $6, $7, $8, $9, $10 FROM documents WHERE contract_id = $2 AND "
                               "name = $3 RETURNING id, version",
                               {tenant_id, contract_id, d.name, d.media_type, d.size, d.sha256,
                                d.blob_id, int64_t{key_version}, user_id, d.created_at}));
      if (rows.size() != 1) return Internal("document insert returned no row");
      d.id = rows[0].Int(0);
      d.version = rows[0].Int(1);
      audit::Event e{.action = "document.upload", .target = "document:" + std::to_string(d.id)};
      e.details = {{"contract_id", contract_id}, {"name", d.name},
                   {"version", d.version},       {"size", d.size},
                   {"sha256", d.sha256},         {"media_type", d.media_type}};
      e.actor = by;
      RETURN_IF_ERROR(audit_.Append(s, e));
      work_done = true;
      return Status::Ok();
    });
  }
  if (!committed.ok()) {
    if (work_done) return committed;
    // Certainly no row: remove the object now (or the sweeper will).
    if (Status s = blobs_.Delete(blob_id); !s.ok()) {
      log::Warn(kComponent, "removing the object of a failed upload failed",
                {{"error", s.ToString()}});
    }
    return committed;
  }
  return d;
}

Result<std::vector<Document>> DocumentService::List(int64_t tenant_id, int64_t contract_id) {
  std::vector<Document> out;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    RETURN_IF_ERROR(CheckContractIn(s, tenant_id, contract_id, 0));
    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT " PACTUM_DOCUMENT_COLUMNS
                                        " FROM documents d WHERE d.tenant_id = $1 AND "
                                        "d.contract_id = $2 ORDER BY d.name, d.version DESC",
                                        {tenant_id, contract_id}));
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(FromRow(r));
    return Status::Ok();
  }));
  return out;
}

Result<Document> DocumentService::Get(int64_t tenant_id, int64_t id) {
  Document d;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT " PACTUM_DOCUMENT_COLUMNS
                                        " FROM documents d JOIN contracts c ON c.id = "
                                        "d.contract_id WHERE d.id = $1 AND d.tenant_id = $2 AND "
                                        "c.deleted_at IS NULL",
                                        {id, tenant_id}));
    if (rows.empty()) return NotFound("no such document");
    d = FromRow(rows[0]);
    return Status::Ok();
  }));
  return d;
}

Status DocumentService::Delete(const audit::Actor& by, int64_t tenant_id, int64_t id,
                               int64_t only_owner) {
  std::string blob_id;
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT d.contract_id, d.blob_id FROM documents d WHERE "
                                        "d.id = $1 AND d.tenant_id = $2",
                                        {id, tenant_id}));
    if (rows.empty()) return NotFound("no such document");
    RETURN_IF_ERROR(CheckContractIn(s, tenant_id, rows[0].Int(0), only_owner));
    blob_id = rows[0].Text(1);
    RETURN_IF_ERROR(s.Execute("DELETE FROM documents WHERE id = $1", {id}).status());
    audit::Event e{.action = "document.delete", .target = "document:" + std::to_string(id)};
    e.details = {{"contract_id", rows[0].Int(0)}};
    e.actor = by;
    return audit_.Append(s, e);
  }));
  RemoveObjects({blob_id});
  return Status::Ok();
}

Result<crypto::SecretBytes> DocumentService::LinkKeyOf(int64_t tenant_id, uint32_t key_version) {
  crypto::SecretBytes key;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(key, keys_.DataKey(s, tenant_id, key_version));
    return Status::Ok();
  }));
  return crypto::LinkKey(key.span());
}

Result<Link> DocumentService::MakeLink(int64_t tenant_id, int64_t document_id, int64_t user_id,
                                       std::string_view credential, int64_t minutes) {
  if (minutes < 1 || minutes > kMaxLinkMinutes) {
    return InvalidArgument("a link lives 1 to 60 minutes");
  }
  RETURN_IF_ERROR(Get(tenant_id, document_id).status());
  uint32_t key_version = 0;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(key_version, keys_.CurrentVersion(s, tenant_id));
    return Status::Ok();
  }));
  ASSIGN_OR_RETURN(const crypto::SecretBytes link_key, LinkKeyOf(tenant_id, key_version));
  crypto::LinkClaims c;
  c.tenant_id = tenant_id;
  c.document_id = document_id;
  c.user_id = user_id;
  c.key_version = key_version;
  c.expires_at = UnixSeconds(clock_.Now()) + minutes * 60;
  if (!credential.empty()) c.binding = crypto::LinkBinding(link_key.span(), credential);
  return Link{crypto::SignLink(link_key.span(), c), c.expires_at};
}

Result<DocumentService::VerifiedLink> DocumentService::Verify(std::string_view token) {
  const Status invalid = LinkRefused("link_invalid", "this download link is not valid");
  auto claims = crypto::ParseLink(token);
  if (!claims.ok()) return invalid;
  auto link_key = LinkKeyOf(claims->tenant_id, claims->key_version);
  if (!link_key.ok()) {
    // No such tenant or key version: a forged link. Anything else is our failure.
    if (link_key.status().code() == StatusCode::kNotFound) return invalid;
    return link_key.status();
  }
  if (!crypto::LinkSignatureValid(link_key->span(), token)) return invalid;
  return VerifiedLink{*claims, std::move(link_key).value()};
}

Result<Document> DocumentService::Redeem(std::string_view token, std::string_view credential) {
  ASSIGN_OR_RETURN(const VerifiedLink link, Verify(token));
  return Redeem(link, credential);
}

Result<Document> DocumentService::Redeem(const VerifiedLink& link, std::string_view credential) {
  const crypto::LinkClaims& claims = link.claims;
  if (UnixSeconds(clock_.Now()) >= claims.expires_at) {
    return LinkRefused("link_expired", "this download link has expired: ask for a new one");
  }
  if (claims.bound()) {
    const auto binding = crypto::LinkBinding(link.link_key.span(), credential);
    if (credential.empty() ||
        CRYPTO_memcmp(binding.data(), claims.binding.data(), binding.size()) != 0) {
      return LinkRefused("link_not_yours",
                         "this download link works only in the session that made it");
    }
  }
  bool enabled = false;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT disabled FROM users WHERE id = $1 AND "
                                        "tenant_id = $2",
                                        {claims.user_id, claims.tenant_id}));
    enabled = !rows.empty() && rows[0].Int(0) == 0;
    return Status::Ok();
  }));
  if (!enabled) return LinkRefused("link_invalid", "this download link is not valid");
  return Get(claims.tenant_id, claims.document_id);
}

Result<std::unique_ptr<ByteSource>> DocumentService::Open(const Document& d, uint64_t offset) {
  ASSIGN_OR_RETURN(const blob::BlobId blob_id, blob::BlobId::Parse(d.blob_id));
  const crypto::TenantKeyLookup key_for = [&](uint32_t version) -> Result<crypto::SecretBytes> {
    crypto::SecretBytes key;
    RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
      ASSIGN_OR_RETURN(key, keys_.DataKey(s, d.tenant_id, version));
      return Status::Ok();
    }));
    return key;
  };
  const crypto::SealedOpener open_at = [&](uint64_t at) { return blobs_.GetAt(blob_id, at); };
  auto plain = crypto::DecryptingSourceAt(d.tenant_id, d.blob_id, key_for, open_at, offset);
  if (!plain.ok() && plain.status().code() == StatusCode::kNotFound) {
    // Deleted since it was looked up (its row goes first), or lost.
    if (Get(d.tenant_id, d.id).status().code() == StatusCode::kNotFound) {
      return NotFound("no such document");
    }
    return Status(StatusCode::kDataLoss, "the stored file is missing");
  }
  return plain;
}

Result<int> DocumentService::SweepOrphans(std::chrono::seconds grace) {
  // Objects carry the file system's times: compared with the real clock, not the
  // injected one.
  const auto cutoff = std::chrono::system_clock::now() - grace;
  std::vector<std::string> old;
  RETURN_IF_ERROR(blobs_.List([&](const blob::BlobId& id, std::chrono::system_clock::time_point t) {
    if (t < cutoff) old.push_back(id.str());
  }));
  std::vector<std::string> orphans;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    for (const auto& id : old) {
      ASSIGN_OR_RETURN(auto rows, s.Query("SELECT 1 FROM documents WHERE blob_id = $1", {id}));
      if (rows.empty()) orphans.push_back(id);
    }
    return Status::Ok();
  }));
  // An object's time is when its last byte was written, and its row commits right after
  // that: `grace` only has to cover that moment, not the upload.
  int removed = 0;
  for (const auto& id : orphans) {
    if (blobs_.Delete(*blob::BlobId::Parse(id)).ok()) ++removed;
  }
  return removed;
}

void DocumentService::RemoveObjects(const std::vector<std::string>& blob_ids) {
  for (const auto& text : blob_ids) {
    auto id = blob::BlobId::Parse(text);
    if (!id.ok()) continue;
    if (Status s = blobs_.Delete(*id); !s.ok() && s.code() != StatusCode::kNotFound) {
      log::Warn(kComponent, "removing a document's object failed; the sweeper will retry",
                {{"error", s.ToString()}});
    }
  }
}

}  // namespace pactum::document
