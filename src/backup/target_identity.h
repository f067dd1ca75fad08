#pragma once

// Whether a backup target still holds what was written to it. A target that lost its
// backups (its directory deleted, its disk wiped or swapped, a bucket emptied) must be
// reported, not written to again as if it were healthy.
//
// Two halves:
//  - the target's marker, object kMarkerObject ("target.json", plain JSON
//    {"format": 1, "id": <32 hex>, "name", "created_ms"}), put once when the target is
//    first initialised; retention never deletes it (prune touches only snapshots/ and
//    changelog/);
//  - the data directory's ledger, <spool>/targets.json: per target name the marker id it
//    initialised (or found and adopted), the newest snapshot verified on it, and an open
//    loss (when found, why) until a verified snapshot is on the target again.
//
// CheckTarget compares the two. A target is lost when the ledger knows it but its marker
// is gone, holds another id, or the newest snapshot verified there is gone. Without a
// ledger entry (a data directory restored elsewhere, backups from before markers) a
// target with artefacts is adopted and an empty one is new.
//
// Thread-safety: the functions are stateless; a TargetLedger is not thread-safe (its
// owner serializes).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "backup/backup_target.h"
#include "common/status.h"

namespace pactum::backup {

inline constexpr std::string_view kMarkerObject = "target.json";

struct TargetMarker {
  std::string id;  // 32 hex characters
  std::string name;
  int64_t created_ms = 0;
};

// The target's marker. kNotFound when it has none; kDataLoss when it does not read;
// errors of the target as they are.
Result<TargetMarker> ReadMarker(BackupTarget& target);

// Puts a new marker (a fresh id) unless one exists: then returns the one there.
Result<TargetMarker> EnsureMarker(BackupTarget& target, int64_t now_ms);

struct TargetRecord {
  std::string id;             // the marker id this data directory knows the target by
  int64_t since_ms = 0;       // when it was initialised or adopted with that id
  std::string last_snapshot;  // the newest snapshot verified on it (empty: none yet)
  int64_t lost_ms = 0;        // an open loss: when it was found (0: none)
  std::string lost_reason;    // why, for reports
  int64_t losses = 0;         // losses found over the target's life
  int64_t last_loss_ms = 0;   // when the latest was found (kept after it is closed)
};

// <spool>/targets.json. Save() writes it atomically (0600).
class TargetLedger {
 public:
  // Reads `path`; a missing file is an empty ledger. kDataLoss when it does not read.
  static Result<TargetLedger> Load(std::string path);
  Status Save() const;

  const TargetRecord* Find(std::string_view name) const;
  TargetRecord* Find(std::string_view name);
  TargetRecord& At(const std::string& name) { return records_[name]; }
  const std::map<std::string, TargetRecord, std::less<>>& records() const { return records_; }

 private:
  std::string path_;
  std::map<std::string, TargetRecord, std::less<>> records_;
};

enum class TargetState {
  kOk,           // the marker matches the ledger (or was adopted) and its backups are there
  kNew,          // no marker, no artefacts, no ledger entry: never initialised
  kLost,         // see above; `reason` says which way
  kUnavailable,  // it cannot be read now (down, unmounted): `reason` is the error
};

struct TargetCheck {
  TargetState state = TargetState::kUnavailable;
  std::string reason;                  // for kLost and kUnavailable
  std::optional<TargetMarker> marker;  // the marker found, if any
};

// Checks `target` against `record` (null: the ledger has no entry). Reads only.
TargetCheck CheckTarget(BackupTarget& target, const TargetRecord* record);

std::string_view TargetStateName(TargetState state);  // "ok", "new", "lost", "unavailable"

}  // namespace pactum::backup
