#pragma once

// Restoring a whole data directory from the backups (`pactum backup restore`): what a
// server needs to start on the restored data, put together in a new directory —
//   master.key               the master key, copied when it lived in the old data
//                            directory's key file
//   pactum.db-key            a new database key, wrapped by the master key
//   pactum.db                the database as it was at the instant asked for
//                            (backup/restore.h)
//   audit-signing.key        the audit signing key the targets keep (backup_keys.h)
//   backup.key               the backup key, from the targets
//   audit-checkpoints.jsonl  of the signed checkpoints the backups carry, those that hold
//                            for the restored audit chains (audit::CheckpointsCovering)
// then the restore is recorded as "backup.restore", the first event after the restored
// ones on the platform's chain. The directory stays locked (<dir>/pactum.lock) until the
// end, so no server starts on it half-restored; a failure at any step removes everything
// the restore put there (and the directory, when the restore made it).
//
// Key material — the database key, the backup key, the master key file's content, the
// audit signing key — is held only in crypto::SecretBytes, which wipe themselves, on
// every path, failures included: nothing of it is left in ordinary memory.
//
// The restored directory starts a backup lineage of its own: it holds no change-log
// state, so its server's first backup is a snapshot under a new lineage id, written to
// the targets its configuration names — possibly the very targets it was restored from.
// The lineage it was restored from stays as it was. The report says both.
//
// Not thread-safe (one restore at a time per destination).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/backup_target.h"
#include "backup/restore.h"
#include "common/clock.h"
#include "crypto/key_provider.h"

namespace pactum::backup {

// Where a data directory's server backs up (its configuration's backup section).
struct BackupPlan {
  bool on = true;                    // backup.mode
  std::string dir;                   // one directory per target under it
  std::vector<std::string> targets;  // target names
};

struct DirectoryRestoreRequest {
  std::optional<int64_t> at_ms;        // nullopt: the latest
  std::string at_text;                 // as asked ("latest" or the RFC 3339 time), for the event
  std::string to;                      // the new data directory: absent, or empty
  std::string data_dir;                // the configured data directory, never restored over
  crypto::KeyProvider* kek = nullptr;  // the master key (not owned)
  // The master key file to copy beside the restored data; empty when there is none to copy
  // (PACTUM_MASTER_KEY, or a key file kept outside the data directory).
  std::string kek_file;
  std::vector<BackupTarget*> targets;  // in order of preference (not owned)
  std::string environment;             // refuse backups of another environment
  BackupPlan source_backups;           // where the configured data directory backs up
  BackupPlan restored_backups;         // where the restored directory's server will
  std::function<void(std::string_view stage, uint64_t done, uint64_t total)> progress;
};

struct DirectoryRestoreReport {
  std::string dir;                // the restored data directory, absolute
  RestoreReport database;         // its checkpoint lines are not kept here
  int64_t audit_checkpoints = 0;  // signed checkpoints brought back
  // Checkpoints the backups carried that do not hold for the restored chains (signed
  // after the instant, of another history, repeated, unreadable): left out.
  int64_t audit_checkpoints_left_out = 0;
  bool recorded = false;           // "backup.restore" is in the restored audit trail
  std::vector<std::string> notes;  // the database restore's, then the directory's

  // Where the restored directory's server will back up: a new lineage, in these targets.
  struct Target {
    std::string name;
    std::string path;
  };
  struct Backups {
    bool on = true;
    std::string dir;
    std::vector<Target> targets;
    bool same_targets = false;  // the targets the directory was restored from
  } backups;
};

// The destination's check before anything is done: kInvalidArgument when `to` is the
// configured data directory, kAlreadyExists when it exists and is not an empty directory.
Status CheckRestoreDestination(const std::string& to, const std::string& data_dir);

// Errors: those of CheckRestoreDestination; kFailedPrecondition when the directory is
// locked by another process; those of Restore (kNotFound: no verified backup at or before
// the instant; kDataLoss: a gap, a broken chain, damage on every target); kUnavailable
// for a target or the disk failing. Nothing is left behind on error.
Result<DirectoryRestoreReport> RestoreDataDirectory(const DirectoryRestoreRequest& request,
                                                    const Clock& clock);

}  // namespace pactum::backup
