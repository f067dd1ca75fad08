#include "audit/verifier.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace pactum::audit {
namespace {

constexpr int kPage = 10000;  // events per read transaction

std::string At(int64_t seq) { return "seq " + std::to_string(seq); }

// What a scan's callback returns to end it early; the caller knows why it stopped.
Status Stop() { return Status(StatusCode::kConflict, "scan stopped"); }

// Whether an event with hash `h` sits at or after `from_seq` in the chain.
Result<bool> HashFoundFrom(SqlAuditLog& log, int64_t tenant_id, int64_t from_seq, const Hash& h) {
  int64_t after = from_seq - 1;
  for (;;) {
    bool found = false;
    int64_t read = 0;
    const Status s = log.ScanChain(tenant_id, after, kPage, [&](const StoredEvent& e) {
      ++read;
      after = e.seq;
      found = e.hash == h;
      return found ? Stop() : Status::Ok();
    });
    if (found) return true;
    RETURN_IF_ERROR(s);
    if (read == 0) return false;
  }
}

}  // namespace

Result<ChainReport> VerifyChain(SqlAuditLog& log, const std::vector<Checkpoint>& checkpoints,
                                const PublicKey& key, int64_t tenant_id,
                                const VerifyProgress& progress) {
  ChainReport report;
  report.tenant_id = tenant_id;
  std::map<int64_t, const Checkpoint*> by_seq;
  for (const auto& c : checkpoints) {
    if (c.tenant_id != tenant_id) continue;
    ++report.checkpoints;
    if (!SignatureValid(key, c)) {
      report.problem = Problem{"signature", c.seq,
                               "the checkpoint at seq " + std::to_string(c.seq) +
                                   " is not signed by this server's audit key"};
      return report;
    }
    by_seq[c.seq] = &c;
    report.checkpointed_seq = std::max(report.checkpointed_seq, c.seq);
  }

  Hash prev{};
  int64_t expected = 1;
  std::string scratch;
  // An intact event whose predecessor is not the event before it: its seq and that hash.
  std::optional<std::pair<int64_t, Hash>> out_of_place;
  const auto check = [&](const StoredEvent& e) -> Status {
    if (e.seq != expected) {
      report.problem = Problem{
          "missing", expected,
          "events " + std::to_string(expected) + ".." + std::to_string(e.seq - 1) + " are missing"};
      return Stop();
    }
    CanonicalBytes(e, scratch);
    if (ChainHash(prev, scratch) != e.hash || e.prev_hash != prev) {
      if (e.prev_hash != prev && ChainHash(e.prev_hash, scratch) == e.hash) {
        out_of_place.emplace(e.seq, e.prev_hash);
      } else {
        report.problem = Problem{"changed", e.seq, "the event at " + At(e.seq) + " was changed"};
      }
      return Stop();
    }
    if (auto c = by_seq.find(e.seq); c != by_seq.end() && c->second->hash != e.hash) {
      report.problem = Problem{"changed", e.seq,
                               "the event at " + At(e.seq) +
                                   " differs from the signed checkpoint (the chain was "
                                   "rewritten)"};
      return Stop();
    }
    prev = e.hash;
    ++expected;
    ++report.events;
    return Status::Ok();
  };
  for (;;) {
    const int64_t before = report.events;
    const Status s = log.ScanChain(tenant_id, expected - 1, kPage, check);
    if (out_of_place) {
      // Intact, but out of place: is its predecessor later in the log, or gone?
      const auto& [seq, prev_hash] = *out_of_place;
      ASSIGN_OR_RETURN(const bool later, HashFoundFrom(log, tenant_id, seq + 1, prev_hash));
      report.problem =
          later
              ? Problem{"reordered", seq, "the event at " + At(seq) + " is intact but out of order"}
              : Problem{"missing", seq,
                        "the event before " + At(seq) + " is missing (the log was renumbered)"};
    }
    if (report.problem) return report;
    RETURN_IF_ERROR(s);
    if (report.events == before) break;
    report.last_seq = expected - 1;
    if (progress) progress(report.events);
  }
  report.last_seq = expected - 1;
  if (report.checkpointed_seq > report.last_seq) {
    report.problem = Problem{"truncated", report.last_seq + 1,
                             "events " + std::to_string(report.last_seq + 1) + ".." +
                                 std::to_string(report.checkpointed_seq) +
                                 " were removed: a signed checkpoint covers seq " +
                                 std::to_string(report.checkpointed_seq)};
  }
  return report;
}

Result<std::vector<Checkpoint>> CheckpointsCovering(SqlAuditLog& log,
                                                    const std::vector<Checkpoint>& checkpoints,
                                                    const PublicKey& key) {
  std::vector<Checkpoint> out;
  std::set<std::string> seen;
  for (const Checkpoint& c : checkpoints) {
    std::string id = SignedBytes(c);
    id.append(reinterpret_cast<const char*>(c.signature.data()), c.signature.size());
    if (c.seq < 1 || !seen.insert(std::move(id)).second || !SignatureValid(key, c)) continue;
    bool holds = false;
    RETURN_IF_ERROR(log.ScanChain(c.tenant_id, c.seq - 1, 1, [&](const StoredEvent& e) {
      holds = e.seq == c.seq && e.hash == c.hash;
      return Status::Ok();
    }));
    if (holds) out.push_back(c);
  }
  return out;
}

nlohmann::json ReportJson(const ChainReport& r) {
  nlohmann::json j{{"ok", !r.problem.has_value()}, {"tenant", r.tenant_id},
                   {"events", r.events},           {"last_seq", r.last_seq},
                   {"checkpoints", r.checkpoints}, {"checkpointed_seq", r.checkpointed_seq}};
  if (r.problem) {
    j["problem"] = {
        {"kind", r.problem->kind}, {"seq", r.problem->seq}, {"message", r.problem->message}};
  }
  return j;
}

}  // namespace pactum::audit
