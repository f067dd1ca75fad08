#pragma once

// Backups of a running data directory (DESIGN §8, promises P4/P5): the change log shipped
// every interval, a full snapshot at once when a target has none (so point-in-time restore
// covers a fresh install from its first minute), daily at the configured UTC time, when
// the change log since the last snapshot passes a size or transaction count (so a restore
// replays a bounded amount) and on demand, every artefact on every target, per-target
// health in metrics and in <spool>/status.json for `pactum backup status`.
//
// The work runs as jobs of a scheduler::Scheduler (AddJobs): "backup-changelog" (every
// interval: the target checks, capture and upload, metrics and the status file; it asks
// for a snapshot when one is wanted), "backup-snapshot" (daily, and when asked) and
// "backup-prune" (after each snapshot). A snapshot thus runs beside the rounds.
//
// Targets that lost their backups (backup/target_identity.h) are found by every round:
// logged as an error, counted in pactum_backup_target_losses_total, shown as lost in the
// status file and pactum_backup_target_lost until a verified snapshot is on them again;
// the service makes their storage anew, marks them and takes that snapshot at once, and
// the change log goes on to them.
//
// One process owns a data directory's backups at a time: it holds <spool>/owner.lock.
// Another process asks the owner for a snapshot through the control socket (the server's
// "backup.run" verb, RequestSnapshot).
//
// Thread-safety: the jobs run on the scheduler's threads; RequestSnapshot from any
// thread; Open, RunOnce and Finish from one thread while no job runs. The scheduler the
// jobs were added to must stop before the service is destroyed.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "backup/backup_target.h"
#include "backup/change_log.h"
#include "backup/local_target.h"
#include "backup/snapshot.h"
#include "backup/target_identity.h"
#include "common/clock.h"
#include "common/file_system.h"
#include "common/files.h"
#include "common/metrics.h"
#include "crypto/key_provider.h"
#include "scheduler/scheduler.h"
#include "store/database.h"

namespace pactum::backup {

struct BackupServiceOptions {
  std::string data_dir;    // <data>: the spool, scratch space and backup.key live here
  std::string backup_dir;  // one directory per target under it
  std::vector<std::string> target_names;
  int64_t interval_ms = 1000;
  int daily_at_minutes = 120;  // UTC minutes after midnight
  // A snapshot once the change log since the last one holds this many bytes of pages or
  // this many transactions (0: no such snapshot). See config/config.h for the defaults.
  int64_t snapshot_after_bytes = 0;
  int64_t snapshot_after_transactions = 0;
  // A snapshot wanted by a condition (a target lacks one, growth) is tried again this
  // long after one that failed, not at every round.
  int64_t snapshot_retry_ms = 300'000;
  std::string environment;
  MetricsRegistry* metrics = nullptr;
};

// <data>/backup-spool: sealed artefacts waiting for targets, the change log's state.
std::string SpoolDirectory(const std::string& data_dir);
// <spool>/targets.json: the target ledger (backup/target_identity.h).
std::string TargetLedgerPath(const std::string& data_dir);

// Opens the local targets of `options` on `fs`: their directories are created with
// kCreate; with kExisting nothing is created (commands that only read).
Result<std::vector<std::unique_ptr<BackupTarget>>> OpenTargets(
    FileSystem& fs, const std::string& backup_dir, const std::vector<std::string>& names,
    LocalTargetOpen open = LocalTargetOpen::kCreate);

// The names of the service's jobs.
inline constexpr std::string_view kChangeLogJob = "backup-changelog";
inline constexpr std::string_view kSnapshotJob = "backup-snapshot";
inline constexpr std::string_view kPruneJob = "backup-prune";

class BackupService {
 public:
  // Takes <spool>/owner.lock (kUnavailable when another process owns the backups), opens
  // the targets and the spool (on `fs`, which must outlive the service), checks the
  // targets against the ledger, opens the backup key and the change log. The database
  // must run with external checkpoints.
  static Result<std::unique_ptr<BackupService>> Open(store::Database& db, crypto::KeyProvider& kek,
                                                     const Clock& clock, FileSystem& fs,
                                                     BackupServiceOptions options);
  ~BackupService();
  BackupService(const BackupService&) = delete;
  BackupService& operator=(const BackupService&) = delete;

  // Adds the three jobs above to `scheduler`.
  Status AddJobs(scheduler::Scheduler& scheduler);

  // Asks for a snapshot and waits until one that started after the call has ended: its
  // result. kUnavailable when the service finishes (or `stop` is set) first.
  Result<SnapshotResult> RequestSnapshot(std::stop_token stop);

  // After the scheduler has stopped: a last capture and upload of what was committed, the
  // status file; waiting requests are answered kUnavailable.
  void Finish();

  // One round now, on the caller's thread (commands without a server): capture and
  // upload, and a snapshot when one is wanted or `force_snapshot`.
  Status RunOnce(bool force_snapshot, SnapshotResult* snapshot = nullptr);

  ChangeLog& change_log() { return *log_; }
  const std::vector<BackupTarget*>& targets() const { return target_ptrs_; }

 private:
  BackupService(store::Database& db, crypto::KeyProvider& kek, const Clock& clock, FileSystem& fs,
                BackupServiceOptions options);
  Status Init();
  // <data>/audit-checkpoints.jsonl: its lines ride with the snapshots and the change log.
  std::string CheckpointFile() const;
  // The jobs.
  Status ChangeLogRound();
  Status SnapshotRun();
  Status PruneRun();
  // Capture, upload, metrics and the status file: one shipping round.
  Status Ship();
  Result<SnapshotResult> Snapshot();
  // Checks every target against the ledger and makes lost and new ones anew.
  void CheckTargets();
  // Why a snapshot is wanted now (empty: it is not), under state_mu_.
  std::string SnapshotWantedLocked(int64_t now_ms) const;
  void UpdateMetrics();
  void WriteStatus();
  BackupKeyLookup KeyLookup() const;

  store::Database& db_;
  crypto::KeyProvider& kek_;
  const Clock& clock_;
  FileSystem& fs_;
  BackupServiceOptions options_;
  FileLock owner_;
  std::unique_ptr<BackupTarget> spool_;
  std::vector<std::unique_ptr<BackupTarget>> targets_;
  std::vector<BackupTarget*> target_ptrs_;
  BackupKey key_;
  std::unique_ptr<ChangeLog> log_;
  scheduler::Scheduler* scheduler_ = nullptr;  // set by AddJobs

  // Per target, what the last check found (index as targets_).
  struct Identity {
    TargetState state = TargetState::kUnavailable;
    std::string reason;
  };

  mutable std::mutex state_mu_;         // what the job threads share
  TargetLedger ledger_;                 // GUARDED_BY(state_mu_)
  std::vector<Identity> identity_;      // GUARDED_BY(state_mu_)
  bool targets_lack_snapshot_ = false;  // GUARDED_BY(state_mu_)
  bool snapshot_asked_ = false;         // triggered, not started yet; GUARDED_BY(state_mu_)
  bool snapshot_running_ = false;       // GUARDED_BY(state_mu_)
  int64_t snapshot_failed_ms_ = 0;      // the last failed one (0: it succeeded)
  std::string last_snapshot_id_;        // GUARDED_BY(state_mu_)
  int64_t last_snapshot_ms_ = 0;        // GUARDED_BY(state_mu_)
  std::string last_snapshot_error_;     // GUARDED_BY(state_mu_)
  std::string snapshot_reason_;  // why the next (or running) one is taken; GUARDED_BY(state_mu_)
  uint64_t snapshot_runs_started_ = 0;                 // GUARDED_BY(state_mu_)
  uint64_t snapshot_runs_finished_ = 0;                // GUARDED_BY(state_mu_)
  std::optional<Result<SnapshotResult>> last_result_;  // GUARDED_BY(state_mu_)
  bool finished_ = false;                              // GUARDED_BY(state_mu_)
  std::condition_variable_any snapshot_done_;
  std::mutex status_mu_;              // serializes WriteStatus
  std::vector<std::string> failing_;  // targets whose failure was logged (round thread)
};

}  // namespace pactum::backup
