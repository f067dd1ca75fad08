#pragma once

// Recomputes the audit chains and checks them against the signed checkpoints
// (`pactum audit verify`, GET /api/v1/audit/verify). Reports the first problem of each
// chain, by kind:
//   changed    an event's bytes differ from what was hashed, or its hash differs from
//              the signed checkpoint at its sequence number (the chain was rewritten)
//   missing    sequence numbers are absent, or an intact event's predecessor is gone
//   reordered  an intact event sits after an event that is not its predecessor
//   truncated  a signed checkpoint names events past the end of the log
//   signature  a checkpoint is not signed by this server's audit key

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "audit/checkpoint.h"
#include "audit/sql_audit_log.h"

namespace pactum::audit {

struct Problem {
  std::string kind;
  int64_t seq = 0;  // the first bad sequence number
  std::string message;
};

struct ChainReport {
  int64_t tenant_id = 0;
  int64_t events = 0;            // events checked
  int64_t last_seq = 0;          // the newest sequence number in the log
  int64_t checkpoints = 0;       // signed checkpoints checked
  int64_t checkpointed_seq = 0;  // the newest sequence number a checkpoint covers
  std::optional<Problem> problem;
};

// Called after each page of events with the number checked so far.
using VerifyProgress = std::function<void(int64_t events)>;

// Verifies one chain against `checkpoints` (all chains' are fine; others are skipped).
Result<ChainReport> VerifyChain(SqlAuditLog& log, const std::vector<Checkpoint>& checkpoints,
                                const PublicKey& key, int64_t tenant_id,
                                const VerifyProgress& progress = {});

// The checkpoints among `checkpoints` that hold for the chains in `log` as they are now:
// signed by `key`, naming an event its chain holds at its seq, with that event's hash.
// Each once (repeats are dropped), in the order given. A restore brings back these: one
// beyond a restored chain's head, or of another history, would fail the restored trail's
// verification.
Result<std::vector<Checkpoint>> CheckpointsCovering(SqlAuditLog& log,
                                                    const std::vector<Checkpoint>& checkpoints,
                                                    const PublicKey& key);

// {"ok", "tenant", "events", "last_seq", "checkpoints", "checkpointed_seq"} plus, when bad,
// "problem": {"kind","seq","message"}.
nlohmann::json ReportJson(const ChainReport& r);

}  // namespace pactum::audit
