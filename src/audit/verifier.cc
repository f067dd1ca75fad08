#include "audit/verifier.h"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

namespace pactum::audit {
namespace {

constexpr int kPage = 10000;

std::string At(int64_t seq) { return "seq " + std::to_string(seq); }

// Whether an event with hash `h` sits at or after `from_seq` in the chain.
Result<bool> HashFoundFrom(SqlAuditLog& log, int64_t tenant_id, int64_t from_seq, const Hash& h) {
  int64_t after = from_seq - 1;
  for (;;) {
    ASSIGN_OR_RETURN(auto page, log.ReadChain(tenant_id, after, kPage));
    if (page.empty()) return false;
    for (const auto& e : page) {
      if (e.hash == h) return true;
    }
    after = page.back().seq;
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
  for (;;) {
    ASSIGN_OR_RETURN(auto page, log.ReadChain(tenant_id, expected - 1, kPage));
    if (page.empty()) break;
    for (const StoredEvent& e : page) {
      if (e.seq != expected) {
        report.problem = Problem{"missing", expected,
                                 "events " + std::to_string(expected) + ".." +
                                     std::to_string(e.seq - 1) + " are missing"};
        return report;
      }
      CanonicalBytes(e, scratch);
      if (ChainHash(prev, scratch) != e.hash || e.prev_hash != prev) {
        if (e.prev_hash != prev && ChainHash(e.prev_hash, scratch) == e.hash) {
          // Intact, but out of place: is its predecessor later in the log, or gone?
          ASSIGN_OR_RETURN(const bool later, HashFoundFrom(log, tenant_id, e.seq + 1, e.prev_hash));
          report.problem =
              later ? Problem{"reordered", e.seq,
                              "the event at " + At(e.seq) + " is intact but out of order"}
                    : Problem{
                          "missing", e.seq,
                          "the event before " + At(e.seq) + " is missing (the log was renumbered)"};
        } else {
          report.problem = Problem{"changed", e.seq, "the event at " + At(e.seq) + " was changed"};
        }
        return report;
      }
      if (auto c = by_seq.find(e.seq); c != by_seq.end() && c->second->hash != e.hash) {
        report.problem = Problem{"changed", e.seq,
                                 "the event at " + At(e.seq) +
                                     " differs from the signed checkpoint (the chain was "
                                     "rewritten)"};
        return report;
      }
      prev = e.hash;
      ++expected;
      ++report.events;
    }
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
