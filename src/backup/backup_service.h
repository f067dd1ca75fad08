#pragma once

// Backups of a running data directory (DESIGN §8, promises P4/P5): the change log shipped
// every interval, a full snapshot at once when none exists (so point-in-time restore
// covers a fresh install from its first minute), daily at the configured UTC time and on
// demand, every artefact on every target, per-target health in metrics and in
// <spool>/status.json for `pactum backup status`.
//
// One process owns a data directory's backups at a time: it holds <spool>/owner.lock.
// Another process (the `pactum backup run` command while the server runs) asks the
// owner for a snapshot through <spool>/requests/ and reads the answer there.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backup/backup_target.h"
#include "backup/change_log.h"
#include "backup/snapshot.h"
#include "common/clock.h"
#include "common/file_system.h"
#include "common/files.h"
#include "common/metrics.h"
#include "crypto/key_provider.h"
#include "store/database.h"

namespace pactum::backup {

struct BackupServiceOptions {
  std::string data_dir;    // <data>: the spool, scratch space and backup.key live here
  std::string backup_dir;  // one directory per target under it
  std::vector<std::string> target_names;
  int64_t interval_ms = 1000;
  int daily_at_minutes = 120;  // UTC minutes after midnight
  std::string environment;
  MetricsRegistry* metrics = nullptr;
};

// <data>/backup-spool: sealed artefacts waiting for targets, the change log's state.
std::string SpoolDirectory(const std::string& data_dir);

// Opens the local targets of `options` (their directories are created) on `fs`.
Result<std::vector<std::unique_ptr<BackupTarget>>> OpenTargets(
    FileSystem& fs, const std::string& backup_dir, const std::vector<std::string>& names);

class BackupService {
 public:
  // Takes <spool>/owner.lock (kUnavailable when another process owns the backups), opens
  // the targets and the spool (on `fs`, which must outlive the service), the backup key
  // and the change log. The database must run with external checkpoints.
  static Result<std::unique_ptr<BackupService>> Open(store::Database& db, crypto::KeyProvider& kek,
                                                     const Clock& clock, FileSystem& fs,
                                                     BackupServiceOptions options);
  ~BackupService();
  BackupService(const BackupService&) = delete;
  BackupService& operator=(const BackupService&) = delete;

  // Starts the thread: ships every interval, snapshots when due, answers requests.
  void Start();
  // Stops the thread after a last capture and upload.
  void Stop();

  // One round now, on the caller's thread (tests, and commands without a server):
  // capture and upload, and a snapshot when one is due or `force_snapshot`.
  Status RunOnce(bool force_snapshot, SnapshotResult* snapshot = nullptr);

  ChangeLog& change_log() { return *log_; }
  const std::vector<BackupTarget*>& targets() const { return target_ptrs_; }

 private:
  BackupService(store::Database& db, crypto::KeyProvider& kek, const Clock& clock, FileSystem& fs,
                BackupServiceOptions options);
  Status Init();
  // <data>/audit-checkpoints.jsonl: its lines ride with the snapshots and the change log.
  std::string CheckpointFile() const;
  void Loop();
  // Capture, upload, metrics and the status file: one shipping round.
  Status Ship();
  Result<SnapshotResult> Snapshot();
  // Runs a snapshot on its own thread (shipping goes on meanwhile); `request` names the
  // request file to answer when done (empty: none).
  void StartSnapshot(const std::string& request);
  bool SnapshotDue();
  void Prune();
  void ScheduleNextDaily();  // under state_mu_
  void AnswerRequests();
  void WriteStatus();
  void UpdateMetrics();

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

  std::mutex state_mu_;  // the snapshot bookkeeping: the snapshot and shipping threads
  int64_t next_daily_ms_ = 0;
  bool targets_lack_snapshot_ = false;
  std::string last_snapshot_id_;
  int64_t last_snapshot_ms_ = 0;
  std::string last_snapshot_error_;
  std::vector<std::string> failing_;  // targets whose failure was logged (shipping thread)
  std::thread snapshot_thread_;
  std::atomic<bool> snapshot_running_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pactum::backup
