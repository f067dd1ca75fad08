#pragma once

// The audit trail in the relational store (table audit_events, migration 12): the
// AuditSink the server writes to, and the reads the API and the verifier need.
// Thread-safe. Appending reads the chain's head inside the write transaction, so
// concurrent writers (serialized by the database) always extend the newest head.

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

#include "audit/audit_sink.h"
#include "audit/event_codec.h"
#include "common/clock.h"
#include "crypto/secret.h"
#include "store/database.h"

namespace pactum::audit {

struct ListQuery {
  int64_t tenant_id = 0;
  std::optional<Stream> stream;
  std::string actor;   // exact, "" for any
  std::string action;  // exact, "" for any
  int64_t from_ms = 0;
  int64_t to_ms = std::numeric_limits<int64_t>::max();
  int64_t before_seq = std::numeric_limits<int64_t>::max();  // the cursor, newest first
  int64_t after_seq = 0;                                     // the cursor, oldest first
  bool oldest_first = false;                                 // export order
  int limit = 100;
};

struct ChainHead {
  int64_t seq = 0;  // 0: no event yet
  Hash hash{};
};

class SqlAuditLog final : public AuditSink {
 public:
  // `redact_key` keys the HMAC that stands in for secret identifiers (Redact).
  SqlAuditLog(store::Database& db, const Clock& clock, crypto::SecretBytes redact_key);

  Status Append(store::Session& session, const Event& event) override;
  Status Record(const Event& event) override;

  // Appends many events in one transaction (the request stream's batches). All or none.
  // Not logged: AuditUnavailable with the cause as detail, for the caller that retries.
  Status AppendBatch(const std::vector<Event>& events);

  // Newest first (or oldest first), at most query.limit (1..1000).
  Result<std::vector<StoredEvent>> List(const ListQuery& query);

  // Events of `tenant_id` with seq > after_seq, oldest first, at most `limit`.
  Result<std::vector<StoredEvent>> ReadChain(int64_t tenant_id, int64_t after_seq, int limit);

  // The same events, each passed to `fn` in turn in one read transaction without being
  // collected: the event is valid only during the call (its storage is reused). An error
  // from `fn` stops the scan and is returned.
  Status ScanChain(int64_t tenant_id, int64_t after_seq, int limit,
                   const std::function<Status(const StoredEvent&)>& fn);

  Result<ChainHead> Head(int64_t tenant_id);

  // Every chain that may hold events: the platform's (0) and each tenant's.
  Result<std::vector<int64_t>> Chains();

  // "hmac:<32 hex>": a keyed HMAC-SHA256 of a secret identifier (a link token), so equal
  // secrets can be matched across events without being stored.
  std::string Redact(std::string_view secret) const;

 private:
  Status AppendIn(store::Session& s, const Event& e, int64_t time_ms, ChainHead& head,
                  std::string& scratch);
  int64_t NowMs() const;

  store::Database& db_;
  const Clock& clock_;
  const crypto::SecretBytes redact_key_;
};

// Turns a stored event into its API form:
// {"seq","time","stream","actor","ip","action","target","outcome","details"}.
nlohmann::json EventJson(const StoredEvent& e);

}  // namespace pactum::audit
