#pragma once

// Documents of contracts (DESIGN §3, §4): uploads streamed through SHA-256 and the
// tenant-key file cipher straight into the blob store, versions by file name, and
// short-lived signed download links.
//
// An upload is durable before it exists: the encrypted object is written and fsynced
// (with its directory) first, and only then does the row commit, so a crash leaves either
// no document or a complete one. Objects without a row (a crash between the two, a failed
// delete) are removed by SweepOrphans after a grace period longer than any upload.
// Documents of a contract in the trash, or of another tenant, do not exist (kNotFound).
//
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/audit_sink.h"
#include "blob/blob_store.h"
#include "common/byte_source.h"
#include "common/clock.h"
#include "common/status.h"
#include "crypto/link_token.h"
#include "store/database.h"
#include "tenant/tenant_keys.h"

namespace pactum::document {

struct Document {
  int64_t id = 0;
  int64_t tenant_id = 0;
  int64_t contract_id = 0;
  std::string name;  // sanitised (content_type.h); never part of a storage path
  int64_t version = 1;
  std::string media_type;  // from the content (content_type.h)
  int64_t size = 0;
  std::string sha256;  // hex, of the plaintext
  int64_t uploaded_by = 0;
  std::string created_at;
  std::string blob_id;
  uint32_t key_version = 0;
};

// The document as the API shows it (no blob id, no key version).
nlohmann::json ToJson(const Document& d);

struct Link {
  std::string token;
  int64_t expires_at = 0;  // unix seconds
};

class DocumentService {
 public:
  static constexpr int64_t kMaxLinkMinutes = 60;

  // Uploads and deletions are recorded in `audit` in the transaction that makes them
  // (document.upload, document.delete); links and downloads change nothing and are
  // recorded by the routes that answer them.
  DocumentService(store::Database& db, const Clock& clock, tenant::TenantKeys& keys,
                  blob::BlobStore& blobs, std::vector<std::string> allowed_types,
                  audit::AuditSink& audit);

  // Whether documents may be added to the contract: kNotFound, or kPermissionDenied
  // "not_owner" when `only_owner` > 0 does not own it. For answering before a body is read;
  // Upload checks again when it commits.
  Status CheckContract(int64_t tenant_id, int64_t contract_id, int64_t only_owner);

  // Streams `body` into a new document (the next version of `name` on the contract).
  // Errors: kUnsupportedMediaType ("unsupported_type") for a type not allowed; the body's
  // error (kPayloadTooLarge past the limit, kRequestTimeout); kUnavailable "disk_full";
  // CheckContract's errors. Nothing of a failed upload remains.
  Result<Document> Upload(const audit::Actor& by, int64_t tenant_id, int64_t contract_id,
                          int64_t user_id, int64_t only_owner, const std::string& name,
                          ByteSource& body);

  // Every version of every document of the contract: by name, newest version first.
  Result<std::vector<Document>> List(int64_t tenant_id, int64_t contract_id);
  Result<Document> Get(int64_t tenant_id, int64_t id);
  // Removes one version (its row at once, its object right after); owner rule as above.
  Status Delete(const audit::Actor& by, int64_t tenant_id, int64_t id, int64_t only_owner);

  // A link to the document for `user_id`, valid for `minutes` (1 - kMaxLinkMinutes). A
  // non-empty `credential` ("session:<hash>" or "token:<id>") binds the link to it.
  Result<Link> MakeLink(int64_t tenant_id, int64_t document_id, int64_t user_id,
                        std::string_view credential, int64_t minutes);

  // A link whose signature is right (kPermissionDenied "link_invalid" otherwise): only
  // then may its claims (the tenant) be used for anything.
  struct VerifiedLink {
    crypto::LinkClaims claims;
    crypto::SecretBytes link_key;
  };
  Result<VerifiedLink> Verify(std::string_view token);

  // The document a verified link grants, checked in this order: not expired
  // ("link_expired"), made with `credential` when bound ("link_not_yours"), its user
  // still enabled ("link_invalid"), and the document still there (kNotFound).
  Result<Document> Redeem(const VerifiedLink& link, std::string_view credential);
  // Verify, then Redeem.
  Result<Document> Redeem(std::string_view token, std::string_view credential);

  // The plaintext from byte `offset` on (offset < d.size, or 0). Errors while reading:
  // kDataLoss when the stored object was altered, truncated or swapped.
  Result<std::unique_ptr<ByteSource>> Open(const Document& d, uint64_t offset);

  // Removes objects that have no document row and were written more than `grace` ago
  // (by the file system's clock); returns how many.
  Result<int> SweepOrphans(std::chrono::seconds grace);

  // Removes the objects of documents whose rows are gone (the purged trash); failures
  // are left to SweepOrphans.
  void RemoveObjects(const std::vector<std::string>& blob_ids);

 private:
  Result<crypto::SecretBytes> LinkKeyOf(int64_t tenant_id, uint32_t key_version);

  store::Database& db_;
  const Clock& clock_;
  tenant::TenantKeys& keys_;
  blob::BlobStore& blobs_;
  audit::AuditSink& audit_;
  std::vector<std::string> allowed_types_;
};

}  // namespace pactum::document
