#pragma once

// The continuous change log for point-in-time restore (promise P4): every transaction
// committed to the embedded database, as page images with its commit time, sealed into
// hash-linked segments (backup/log_format.h) and copied to every backup target.
//
// Capture, with the database's writes paused (store/change_capture.h): read the
// transactions committed since the last position, cut them into segments, seal each into
// the local spool (<data>/backup-spool, a directory of sealed artefacts) and record the
// position in <spool>/state.json; then, once the engine's log holds enough shipped pages,
// release it (the engine folds it into the database). Upload,
// without pausing anything: copy spooled segments to each target; a segment leaves the
// spool once every target has it, so a target that is down catches up when it is back
// and never holds up the others or the server. Commit times come from the store's
// commit observer (the clock at commit); a transaction the observer did not see (written
// by another process, or before this one started) gets the time it was found.
//
// Continuity is the engine's judgement (its log cursor, kept in the state file): when
// its log no longer continues from where this one stands — the first start, a log folded
// by a process without backups — a snapshot is needed, which starts a new lineage
// (NeedsSnapshot()).
//
// The audit trail's signed checkpoints ride along (backup/log_format.h): each capture
// takes the checkpoint file's complete lines appended since the last one (its offset is
// in the state file) into its first segment — a segment of its own when nothing was
// committed — so a point-in-time restore has the checkpoints signed up to its instant.
//
// Thread-safety: Capture and BeginSnapshot serialize on the database's writer lock, so
// a snapshot may run on its own thread beside the shipping one; Upload from one thread
// at a time; health(), position() and NeedsSnapshot() from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "backup/backup_target.h"
#include "backup/log_format.h"
#include "common/clock.h"
#include "crypto/secret.h"
#include "store/change_capture.h"

namespace pactum::backup {

struct BackupKey {
  uint32_t version = 0;
  crypto::SecretBytes key;
};

struct ChangeLogOptions {
  uint32_t max_segment_frames = 4096;  // 16 MiB of pages at most per segment
  // The audit checkpoint file (<data>/audit-checkpoints.jsonl) whose new lines ride with
  // the segments; empty: none.
  std::string checkpoint_file;
  size_t max_checkpoint_bytes = size_t{1} << 20;  // of checkpoint lines per segment
  uint32_t checkpoint_frames = 1000;  // release the engine's log once it holds this many pages
  int zstd_level = 1;
};

// What the log holds since the position of the last snapshot begun (BeginSnapshot), which
// a restore from that snapshot replays: the measure for snapshots by growth.
struct LogGrowth {
  uint64_t segments = 0;
  uint64_t transactions = 0;
  uint64_t page_bytes = 0;  // page images, 4096 bytes each
};

// Per target: what reached it and what did not.
struct TargetHealth {
  std::string name;
  int64_t last_success_ms = 0;    // last upload that left nothing pending (0: never)
  int64_t pending = 0;            // spooled artefacts not yet on it
  int64_t oldest_pending_ms = 0;  // commit time of the oldest of them (0: none)
  std::string last_error;         // empty after a success
};

class ChangeLog {
 public:
  // `spool` is the local spool target; `targets` the backup targets (not owned; they
  // outlive the log). Reads <spool dir>/state.json.
  static Result<std::unique_ptr<ChangeLog>> Open(store::ChangeCapture& capture, BackupKey key,
                                                 BackupTarget& spool, std::string state_file,
                                                 std::vector<BackupTarget*> targets,
                                                 const Clock& clock,
                                                 const ChangeLogOptions& options);
  ~ChangeLog();
  ChangeLog(const ChangeLog&) = delete;
  ChangeLog& operator=(const ChangeLog&) = delete;

  // Seals what was committed since the last capture into the spool. kFailedPrecondition
  // when the log has no lineage or lost continuity: take a snapshot (NeedsSnapshot()).
  Status Capture();
  // Copies spooled segments to every target. OK when every target has every segment;
  // otherwise the first error (each target's is in health()).
  Status Upload();

  bool NeedsSnapshot() const;
  LogPosition position() const;
  LogGrowth growth() const;
  std::vector<TargetHealth> health() const;

  // For a snapshot: with writes paused, captures everything, folds the engine's whole log
  // into the database file (starting a new lineage when continuity was lost) and holds off
  // further releases until EndSnapshot, so the database file stays exactly the state
  // at the returned position while the snapshot reads it. `opened_at_position` runs
  // while writes are still paused (to open a reader pinned at the same state).
  // kUnavailable when readers kept the checkpoint from completing.
  Result<LogPosition> BeginSnapshot(const std::function<Status()>& opened_at_position);
  void EndSnapshot();
  // A snapshot at the very start of the lineage (`at`, seq 0) carries the checkpoint file
  // up to `bytes`: the lineage's segments carry on from there, as no segment before it
  // could need the lines. Elsewhere in a lineage the log keeps its own offset (a line may
  // then travel twice; a restore keeps it once).
  Status SnapshotCarriedCheckpoints(const LogPosition& at, uint64_t bytes);

 private:
  struct State;
  ChangeLog(store::ChangeCapture& capture, BackupKey key, BackupTarget& spool,
            std::string state_file, std::vector<BackupTarget*> targets, const Clock& clock,
            const ChangeLogOptions& options);
  Status LoadState();
  Status SaveState();
  Status CaptureLocked(store::ChangeReader& r, bool for_snapshot);
  Status Spool(const Segment& segment);
  // The checkpoint file's complete lines from `offset` (from its start when it is shorter).
  Result<std::string> NewCheckpointLines(uint64_t offset);
  void OnCommit(uint64_t mark);

  store::ChangeCapture& capture_;
  BackupKey key_;
  BackupTarget& spool_;
  std::string state_file_;
  std::vector<BackupTarget*> targets_;
  const Clock& clock_;
  ChangeLogOptions options_;

  mutable std::mutex mu_;  // guards state_ and health_ for readers on other threads
  std::unique_ptr<State> state_;
  std::vector<TargetHealth> health_;
  // Per target, the spooled segments it is known to hold (Upload's thread only): a target
  // that is down keeps segments in the spool, and the others are not sent them again.
  std::vector<std::set<std::string>> confirmed_;
  std::atomic<bool> hold_checkpoints_{false};  // set while a snapshot reads the file

  std::mutex times_mu_;
  std::vector<std::pair<uint64_t, int64_t>> commit_times_;  // (commit mark, ms) GUARDED_BY
};

}  // namespace pactum::backup
