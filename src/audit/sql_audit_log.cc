#include "audit/sql_audit_log.h"

#include <algorithm>
#include <map>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/hex.h"
#include "common/log.h"

namespace pactum::audit {
namespace {

constexpr const char* kComponent = "audit";

// An event's details beyond this are replaced by a marker: a header can hold kilobytes.
constexpr size_t kMaxDetailsBytes = size_t{16} * 1024;

Hash HashOf(std::span<const uint8_t> b) {
  Hash h{};
  if (b.size() == h.size()) std::copy(b.begin(), b.end(), h.begin());
  return h;
}

store::Blob BlobOf(const Hash& h) { return {h.begin(), h.end()}; }

// Fills `e` from a row of the columns FromRow reads, reusing its strings' storage.
void ReadRow(const store::RowView& r, StoredEvent& e) {
  e.tenant_id = r.Int(0);
  e.seq = r.Int(1);
  e.time_ms = r.Int(2);
  e.stream.assign(r.Text(3));
  e.actor.assign(r.Text(4));
  e.ip.assign(r.Text(5));
  e.action.assign(r.Text(6));
  e.target.assign(r.Text(7));
  e.outcome.assign(r.Text(8));
  e.details.assign(r.Text(9));
  e.prev_hash = HashOf(r.Bytes(10));
  e.hash = HashOf(r.Bytes(11));
}

StoredEvent FromRow(const store::Row& r) {
  StoredEvent e;
  e.tenant_id = r.Int(0);
  e.seq = r.Int(1);
  e.time_ms = r.Int(2);
  e.stream = r.Text(3);
  e.actor = r.Text(4);
  e.ip = r.Text(5);
  e.action = r.Text(6);
  e.target = r.Text(7);
  e.outcome = r.Text(8);
  e.details = r.Text(9);
  e.prev_hash = HashOf(r.Bytes(10));
  e.hash = HashOf(r.Bytes(11));
  return e;
}

// Invalid UTF-8 (a header may hold any byte) becomes U+FFFD instead of failing the event;
// everything beyond printable ASCII comes out as \u escapes: C0 controls (CR, LF, ESC),
// DEL and the C1 controls some terminals act on never reach the column as raw bytes.
std::string DetailsText(const Event& e) {
  std::string text;
  if (!e.details_json.empty()) {
    // Serialized by the caller; its promise of printable ASCII is checked, not trusted.
    const bool printable = std::all_of(e.details_json.begin(), e.details_json.end(),
                                       [](char c) { return c >= 0x20 && c < 0x7f; });
    text = printable ? e.details_json : R"({"unprintable":true})";
  } else {
    nlohmann::json d = e.details.is_object() ? e.details : nlohmann::json::object();
    if (!e.actor.request_id.empty()) d["request_id"] = e.actor.request_id;
    if (!e.actor.user_agent.empty()) d["user_agent"] = e.actor.user_agent.substr(0, 512);
    text = d.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  }
  if (text.size() > kMaxDetailsBytes) text = R"({"truncated":true})";
  return text;
}

Result<ChainHead> ReadHead(store::Session& s, int64_t tenant_id) {
  ASSIGN_OR_RETURN(auto rows, s.Query("SELECT seq, hash FROM audit_events WHERE tenant_id = $1 "
                                      "ORDER BY seq DESC LIMIT 1",
                                      {tenant_id}));
  ChainHead head;
  if (!rows.empty()) {
    head.seq = rows[0].Int(0);
    head.hash = HashOf(rows[0].Bytes(1));
  }
  return head;
}

}  // namespace

SqlAuditLog::SqlAuditLog(store::Database& db, const Clock& clock, crypto::SecretBytes redact_key)
    : db_(db), clock_(clock), redact_key_(std::move(redact_key)) {}

int64_t SqlAuditLog::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
      .count();
}

Status SqlAuditLog::AppendIn(store::Session& s, const Event& e, int64_t time_ms, ChainHead& head,
                             std::string& scratch) {
  StoredEvent row;
  row.tenant_id = e.actor.tenant_id;
  row.seq = head.seq + 1;
  row.time_ms = time_ms;
  row.stream = std::string(StreamName(e.stream));
  row.actor = e.actor.Name();
  row.ip = e.actor.ip.substr(0, 64);
  row.action = e.action;
  row.target = e.target.substr(0, 300);
  row.outcome = e.success ? "success" : "failure";
  row.details = DetailsText(e);
  row.prev_hash = head.hash;
  CanonicalBytes(row, scratch);
  row.hash = ChainHash(row.prev_hash, scratch);
  auto inserted = s.Execute(
      "INSERT INTO audit_events (tenant_id, seq, time_ms, stream, actor, ip, action, target, "
      "outcome, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
      "$12)",
      {row.tenant_id, row.seq, row.time_ms, row.stream, row.actor, row.ip, row.action, row.target,
       row.outcome, row.details, BlobOf(row.prev_hash), BlobOf(row.hash)});
  if (!inserted.ok()) return inserted.status();
  head.seq = row.seq;
  head.hash = row.hash;
  return Status::Ok();
}

Status SqlAuditLog::Append(store::Session& session, const Event& event) {
  std::string scratch;
  auto head = ReadHead(session, event.actor.tenant_id);
  Status s = head.ok() ? AppendIn(session, event, NowMs(), *head, scratch) : head.status();
  if (!s.ok()) {
    log::Error(kComponent, "an audit event could not be written",
               {{"action", event.action}, {"error", s.ToString()}});
    return AuditUnavailable();
  }
  return Status::Ok();
}

Status SqlAuditLog::Record(const Event& event) {
  const Status s = db_.Write([&](store::Session& session) { return Append(session, event); });
  return s.ok() ? s : AuditUnavailable();
}

Status SqlAuditLog::AppendBatch(const std::vector<Event>& events) {
  if (events.empty()) return Status::Ok();
  const int64_t now = NowMs();
  const Status s = db_.Write([&](store::Session& session) -> Status {
    std::map<int64_t, ChainHead> heads;
    std::string scratch;
    for (const Event& e : events) {
      auto it = heads.find(e.actor.tenant_id);
      if (it == heads.end()) {
        ASSIGN_OR_RETURN(auto head, ReadHead(session, e.actor.tenant_id));
        it = heads.emplace(e.actor.tenant_id, head).first;
      }
      RETURN_IF_ERROR(AppendIn(session, e, now, it->second, scratch));
    }
    return Status::Ok();
  });
  // Logged by the caller, which retries: once when batches start failing, not per try.
  return s.ok() ? s : AuditUnavailable(s.ToString());
}

Result<std::vector<StoredEvent>> SqlAuditLog::List(const ListQuery& q) {
  std::vector<StoredEvent> out;
  const std::string stream = q.stream ? std::string(StreamName(*q.stream)) : "";
  const int64_t limit = std::clamp(q.limit, 1, 1000);
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    const std::initializer_list<store::Value> params = {q.tenant_id, q.before_seq, q.after_seq,
                                                        q.from_ms,   q.to_ms,      stream,
                                                        q.actor,     q.action,     limit};
    ASSIGN_OR_RETURN(
        auto rows,
        q.oldest_first
            ? s.Query("SELECT tenant_id, seq, time_ms, stream, actor, ip, action, target, "
                      "outcome, details, prev_hash, hash FROM audit_events WHERE tenant_id = $1 "
                      "AND seq < $2 AND seq > $3 AND time_ms >= $4 AND time_ms <= $5 AND ($6 = '' "
                      "OR stream = $6) AND ($7 = '' OR actor = $7) AND ($8 = '' OR action = $8) "
                      "ORDER BY seq LIMIT $9",
                      params)
            : s.Query("SELECT tenant_id, seq, time_ms, stream, actor, ip, action, target, "
                      "outcome, details, prev_hash, hash FROM audit_events WHERE tenant_id = $1 "
                      "AND seq < $2 AND seq > $3 AND time_ms >= $4 AND time_ms <= $5 AND ($6 = '' "
                      "OR stream = $6) AND ($7 = '' OR actor = $7) AND ($8 = '' OR action = $8) "
                      "ORDER BY seq DESC LIMIT $9",
                      params));
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(FromRow(r));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<StoredEvent>> SqlAuditLog::ReadChain(int64_t tenant_id, int64_t after_seq,
                                                        int limit) {
  std::vector<StoredEvent> out;
  RETURN_IF_ERROR(ScanChain(tenant_id, after_seq, limit, [&](const StoredEvent& e) {
    out.push_back(e);
    return Status::Ok();
  }));
  return out;
}

Status SqlAuditLog::ScanChain(int64_t tenant_id, int64_t after_seq, int limit,
                              const std::function<Status(const StoredEvent&)>& fn) {
  StoredEvent e;
  return db_.Read([&](store::Session& s) -> Status {
    return s.QueryEach(
        "SELECT tenant_id, seq, time_ms, stream, actor, ip, action, target, outcome, details, "
        "prev_hash, hash FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq "
        "LIMIT $3",
        {tenant_id, after_seq, static_cast<int64_t>(limit)}, [&](const store::RowView& r) {
          ReadRow(r, e);
          return fn(e);
        });
  });
}

Result<ChainHead> SqlAuditLog::Head(int64_t tenant_id) {
  ChainHead head;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(head, ReadHead(s, tenant_id));
    return Status::Ok();
  }));
  return head;
}

Result<std::vector<int64_t>> SqlAuditLog::Chains() {
  std::vector<int64_t> out{0};
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT id FROM tenants ORDER BY id"));
    for (const auto& r : rows) out.push_back(r.Int(0));
    return Status::Ok();
  }));
  return out;
}

std::string SqlAuditLog::Redact(std::string_view secret) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), redact_key_.data(), static_cast<int>(redact_key_.size()),
           reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), mac,
           &len) == nullptr) {
    return "hmac:unavailable";
  }
  return "hmac:" + HexEncode(std::span<const uint8_t>(mac, 16));
}

nlohmann::json EventJson(const StoredEvent& e) {
  nlohmann::json details = nlohmann::json::parse(e.details, nullptr, false);
  if (details.is_discarded()) details = nlohmann::json::object();
  return {{"seq", e.seq},
          {"time", FormatTimeMs(e.time_ms)},
          {"stream", e.stream},
          {"actor", e.actor},
          {"ip", e.ip},
          {"action", e.action},
          {"target", e.target},
          {"outcome", e.outcome},
          {"details", std::move(details)}};
}

}  // namespace pactum::audit
