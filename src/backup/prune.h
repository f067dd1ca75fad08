#pragma once

// Pruning one backup target by the retention policy (promise P4, DESIGN §8): which
// snapshots and change-log segments go, as a plan that can be shown (prune --dry-run)
// before ApplyPrune deletes it. Each target is pruned on its own, from what it holds.
//
// What a plan deletes, in this order:
//  1. each snapshot the policy (backup/retention.h, over the target's readable manifests
//     by taken_ms, verified = the manifest's verification) does not keep, oldest first:
//     its manifest, then its data, so a prune cut short never leaves a manifest without
//     its data. With a replay bound (the server's snapshots by growth), a verified
//     snapshot taken from the window's base on that the policy drops is kept as well
//     (reason kBound) when, without it, a restore between the kept snapshot before it and
//     the snapshot after it (same lineage, by position) would replay more of the change
//     log than the bound: so every instant of the window restores within it. Manifests
//     from before positions carried the log's totals are left to the policy;
//  2. incomplete snapshots: a data object with no manifest (a snapshot killed before its
//     manifest was written), only once the time in its id is more than 24 h before `now`,
//     so a snapshot being written right now is never touched;
//  3. change-log segments no kept snapshot needs: segment n of lineage L stays iff some
//     kept snapshot S with S.position.lineage == L, taken no earlier than the base of the
//     point-in-time window (the snapshot kept for reason kPitr), has S.position.seq < n.
//     So the window replays from its base, and every later lineage from its snapshots;
//     before the base only whole snapshots restore.
// What a plan never deletes: anything a damaged (unreadable) manifest names, any object
// whose name it does not recognise, anything outside snapshots/ and changelog/ (keys/
// above all), and anything at all when the target holds no kept verified snapshot.
//
// Stateless and thread-safe; the target must be, as every BackupTarget is.

#include <cstdint>
#include <string>
#include <vector>

#include "backup/artefact.h"
#include "backup/backup_target.h"
#include "backup/retention.h"

namespace pactum::backup {

struct PrunePlan {
  struct SnapshotDecision {
    std::string id;
    int64_t taken_ms = 0;
    bool verified = false;
    bool keep = false;
    std::vector<KeepReason> reasons;  // empty for a kept snapshot taken after `now`
  };
  std::vector<SnapshotDecision> snapshots;  // every readable manifest, oldest first
  std::vector<std::string> delete_objects;  // object names, in the order to delete them
  // Incomplete snapshots deleted (their data objects are in delete_objects too), each as
  // "<object name>: <why>".
  std::vector<std::string> orphans;
  // Manifests that do not read ("<object name>: <why>"); their snapshots are kept whole.
  std::vector<std::string> damaged;
  // Objects left alone for another reason than the policy (an incomplete snapshot younger
  // than 24 h, a name that is not a backup artefact), each with why.
  std::vector<std::string> held;
  // Non-empty when the plan deletes nothing to be safe (no kept verified snapshot).
  std::string held_back;
  uint64_t delete_bytes = 0;  // sum of the stored sizes of delete_objects
  int64_t kept_segments = 0;
};

// An incomplete snapshot is deleted once its id's time is more than this before `now`.
inline constexpr int64_t kIncompleteSnapshotGraceMs = 24LL * 60 * 60 * 1000;

// The most change log a restore in the point-in-time window should replay (0: no bound
// of that kind); the server passes backup.snapshot_after_bytes / _transactions.
struct ReplayBound {
  uint64_t page_bytes = 0;
  uint64_t transactions = 0;
};

// Lists `target` and plans its prune at `now_ms`; deletes nothing. Errors of the target
// (kUnavailable ...) as they are; kInvalidArgument for a bad policy.
Result<PrunePlan> PlanPrune(BackupTarget& target, const BackupKeyLookup& keys, int64_t now_ms,
                            const RetentionPolicy& policy = {}, ReplayBound bound = {});

// Deletes the plan's objects in its order; an object already gone (kNotFound) counts as
// deleted, so applying a plan twice, or after a prune that was cut short, is fine. Stops
// at the first other error and returns it: later objects (a snapshot's data after its
// manifest) are then left for the next prune. kInvalidArgument, before deleting
// anything, when the plan names an object outside snapshots/ and changelog/.
Status ApplyPrune(BackupTarget& target, const PrunePlan& plan);

}  // namespace pactum::backup
