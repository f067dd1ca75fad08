#pragma once

// Point-in-time restore: the newest verified snapshot at or before the wanted instant,
// then the change-log segments of its lineage in order, applying every transaction
// committed at or before that instant, into a new encrypted database file. Each segment
// must open (seal), be the one its name says (lineage, number) and link to the hash of
// the one before; a missing segment before the instant is a gap and is refused. With
// several targets, each artefact is read from the first target that has an intact copy,
// so one damaged target does not stop a restore.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backup/backup_target.h"
#include "backup/snapshot.h"
#include "crypto/secret.h"

namespace pactum::backup {

// Move-only: it holds the key of the database it writes.
struct RestoreRequest {
  std::optional<int64_t> at_ms;        // nullopt: latest
  std::string db_path;                 // the new database file (must not exist)
  crypto::SecretBytes db_key;          // its 32-byte key
  std::vector<BackupTarget*> targets;  // in order of preference
  BackupKeyLookup keys;
  std::string environment;  // refuse snapshots of another environment
  std::function<void(std::string_view stage, uint64_t done, uint64_t total)> progress;
};

struct RestoreReport {
  std::string snapshot_id;
  std::string snapshot_target;
  int64_t snapshot_time_ms = 0;
  LogPosition reached;  // the last segment applied (its time: the last commit)
  int64_t segments = 0;
  int64_t commits = 0;
  int64_t restored_to_ms = 0;      // time of the last transaction in the result
  std::vector<std::string> notes;  // copies skipped for damage, and why
  store::DatabaseFileCheck check;
  // The audit checkpoint lines the snapshot and the segments read carry, in log order
  // (a line may repeat; the segment the restore stopped in is included).
  std::string checkpoints;
};

// Errors: kNotFound when no verified snapshot is at or before the instant; kDataLoss
// for a gap, a broken chain or an artefact damaged on every target; the partial file is
// removed.
Result<RestoreReport> Restore(const RestoreRequest& request);

}  // namespace pactum::backup
