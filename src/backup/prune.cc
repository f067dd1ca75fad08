#include "backup/prune.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string_view>

#include "backup/log_format.h"
#include "backup/snapshot.h"

namespace pactum::backup {
namespace {

constexpr std::string_view kDataSuffix = ".data";
constexpr std::string_view kManifestSuffix = ".manifest";
constexpr std::string_view kSegmentSuffix = ".seg";
constexpr size_t kSeqDigits = 16;

std::optional<int> Digits(std::string_view s) {
  int v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// The time a snapshot id starts with ("yyyymmddthhmmssz", UTC) in Unix ms.
std::optional<int64_t> IdTimeMs(std::string_view id) {
  if (id.size() < 16 || id[8] != 't' || id[15] != 'z') return std::nullopt;
  const auto y = Digits(id.substr(0, 4));
  const auto mo = Digits(id.substr(4, 2));
  const auto d = Digits(id.substr(6, 2));
  const auto h = Digits(id.substr(9, 2));
  const auto mi = Digits(id.substr(11, 2));
  const auto s = Digits(id.substr(13, 2));
  if (!y || !mo || !d || !h || !mi || !s || *h > 23 || *mi > 59 || *s > 60) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{*y},
                                        std::chrono::month{static_cast<unsigned>(*mo)},
                                        std::chrono::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  const auto t = std::chrono::sys_days{ymd} + std::chrono::hours{*h} + std::chrono::minutes{*mi} +
                 std::chrono::seconds{*s};
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// "snapshots/<id><suffix>" -> id, empty when `name` is not of that shape.
std::string SnapshotIdOf(std::string_view name, std::string_view suffix) {
  if (!name.starts_with(kSnapshotPrefix) || !name.ends_with(suffix)) return {};
  name.remove_prefix(kSnapshotPrefix.size());
  name.remove_suffix(suffix.size());
  if (name.empty() || name.find('/') != std::string_view::npos) return {};
  return std::string(name);
}

struct SegmentRef {
  std::string lineage;
  uint64_t seq = 0;
};

// "changelog/<lineage>/<16 digits>.seg" -> (lineage, seq).
std::optional<SegmentRef> ParseSegmentName(std::string_view name) {
  if (!name.starts_with(kChangeLogPrefix) || !name.ends_with(kSegmentSuffix)) return std::nullopt;
  name.remove_prefix(kChangeLogPrefix.size());
  name.remove_suffix(kSegmentSuffix.size());
  if (name.size() != kLineageChars + 1 + kSeqDigits || name[kLineageChars] != '/') {
    return std::nullopt;
  }
  SegmentRef ref{std::string(name.substr(0, kLineageChars)), 0};
  if (!IsLineage(ref.lineage)) return std::nullopt;
  for (const char c : name.substr(kLineageChars + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    ref.seq = ref.seq * 10 + static_cast<uint64_t>(c - '0');
  }
  if (ref.seq == 0) return std::nullopt;
  return ref;
}

BackupTime AsBackupTime(int64_t ms) { return BackupTime{std::chrono::milliseconds{ms}}; }

// Rule 1's replay bound over `decisions` (one per manifest, in order): per lineage, the
// verified snapshots taken from `base` on, by position.
void KeepForReplayBound(const std::vector<Manifest>& manifests,
                        std::vector<PrunePlan::SnapshotDecision>& decisions, const Manifest& base,
                        ReplayBound bound) {
  if (bound.page_bytes == 0 && bound.transactions == 0) return;
  std::map<std::string, std::vector<size_t>> by_lineage;
  for (size_t i = 0; i < manifests.size(); ++i) {
    const Manifest& m = manifests[i];
    if (m.verification.ok && m.taken_ms >= base.taken_ms) {
      by_lineage[m.position.lineage].push_back(i);
    }
  }
  const auto beyond = [&bound](const LogPosition& from, const LogPosition& to) {
    const uint64_t bytes = to.page_bytes >= from.page_bytes ? to.page_bytes - from.page_bytes : 0;
    const uint64_t txns =
        to.transactions >= from.transactions ? to.transactions - from.transactions : 0;
    return (bound.page_bytes > 0 && bytes > bound.page_bytes) ||
           (bound.transactions > 0 && txns > bound.transactions);
  };
  for (auto& [lineage, order] : by_lineage) {
    std::stable_sort(order.begin(), order.end(), [&manifests](size_t a, size_t b) {
      return manifests[a].position.seq < manifests[b].position.seq;
    });
    std::optional<size_t> kept_before;
    for (size_t k = 0; k < order.size(); ++k) {
      const size_t i = order[k];
      if (decisions[i].keep) {
        kept_before = i;
        continue;
      }
      if (!kept_before || k + 1 == order.size()) continue;
      const Manifest& before = manifests[*kept_before];
      const Manifest& after = manifests[order[k + 1]];
      if (!before.log_totals || !manifests[i].log_totals || !after.log_totals) continue;
      if (beyond(before.position, after.position)) {
        decisions[i].keep = true;
        decisions[i].reasons.push_back(KeepReason::kBound);
        kept_before = i;
      }
    }
  }
}

}  // namespace

Result<PrunePlan> PlanPrune(BackupTarget& target, const BackupKeyLookup& keys, int64_t now_ms,
                            const RetentionPolicy& policy, ReplayBound bound) {
  // The listing first: a snapshot that appears after it is left for the next prune.
  ASSIGN_OR_RETURN(const std::vector<ObjectInfo> snapshot_objects, target.List(kSnapshotPrefix));
  ASSIGN_OR_RETURN(const std::vector<ObjectInfo> log_objects, target.List(kChangeLogPrefix));
  std::vector<std::string> damaged;
  ASSIGN_OR_RETURN(std::vector<Manifest> listed, ListManifests(target, keys, &damaged));

  PrunePlan plan;
  plan.damaged = std::move(damaged);
  std::map<std::string, uint64_t> data_size;  // id -> stored bytes of its data object
  std::set<std::string> manifest_objects;     // ids with a manifest object, readable or not
  std::map<std::string, uint64_t> manifest_size;
  for (const ObjectInfo& o : snapshot_objects) {
    if (std::string id = SnapshotIdOf(o.name, kDataSuffix); !id.empty()) {
      data_size[id] = o.size;
    } else if (std::string mid = SnapshotIdOf(o.name, kManifestSuffix); !mid.empty()) {
      manifest_objects.insert(mid);
      manifest_size[mid] = o.size;
    } else {
      plan.held.push_back(o.name + ": not a snapshot's data or manifest, left alone");
    }
  }
  std::vector<Manifest> manifests;  // readable, listed above, oldest first
  for (Manifest& m : listed) {
    if (manifest_objects.contains(m.id)) manifests.push_back(std::move(m));
  }

  // The policy over the snapshots taken up to `now`; one taken later (a clock ahead of
  // this one) is kept and counts for nothing.
  std::vector<RetentionInput> inputs;
  std::vector<size_t> input_of;  // manifest index -> input index, or npos
  for (const Manifest& m : manifests) {
    if (m.taken_ms > now_ms) {
      input_of.push_back(std::string::npos);
      continue;
    }
    input_of.push_back(inputs.size());
    inputs.push_back({AsBackupTime(m.taken_ms), m.verification.ok});
  }
  ASSIGN_OR_RETURN(const std::vector<RetentionDecision> decisions,
                   PlanRetention(inputs, AsBackupTime(now_ms), policy));

  const Manifest* base = nullptr;
  bool kept_verified = false;
  for (size_t i = 0; i < manifests.size(); ++i) {
    const Manifest& m = manifests[i];
    PrunePlan::SnapshotDecision d{
        .id = m.id, .taken_ms = m.taken_ms, .verified = m.verification.ok};
    if (input_of[i] == std::string::npos) {
      d.keep = true;
      plan.held.push_back(SnapshotManifestName(m.id) + ": taken after the prune's now, kept");
    } else {
      d.keep = decisions[input_of[i]].keep;
      d.reasons = decisions[input_of[i]].reasons;
    }
    for (const KeepReason r : d.reasons) {
      if (r == KeepReason::kPitr) base = &m;
    }
    if (d.keep && d.verified) kept_verified = true;
    plan.snapshots.push_back(std::move(d));
  }
  if (base != nullptr) KeepForReplayBound(manifests, plan.snapshots, *base, bound);
  if (!kept_verified || base == nullptr) {
    plan.held_back = "no verified snapshot on target " + target.name() +
                     " is kept by the retention policy: nothing is deleted";
    return plan;
  }

  auto remove = [&plan](std::string name, uint64_t bytes) {
    plan.delete_objects.push_back(std::move(name));
    plan.delete_bytes += bytes;
  };

  // 1. Snapshots the policy drops: the manifest, then the data.
  for (const PrunePlan::SnapshotDecision& d : plan.snapshots) {
    if (d.keep) continue;
    remove(SnapshotManifestName(d.id), manifest_size[d.id]);
    if (const auto it = data_size.find(d.id); it != data_size.end()) {
      remove(SnapshotDataName(d.id), it->second);
    }
  }

  // 2. Incomplete snapshots: data without any manifest object, older than the grace.
  for (const auto& [id, size] : data_size) {
    if (manifest_objects.contains(id)) continue;
    const std::string name = SnapshotDataName(id);
    const std::optional<int64_t> started = IdTimeMs(id);
    if (!started) {
      plan.held.push_back(name + ": no manifest and no time in its id, left alone");
    } else if (now_ms - *started <= kIncompleteSnapshotGraceMs) {
      plan.held.push_back(name + ": no manifest yet, started less than 24 h ago (may be " +
                          "being written), left alone");
    } else {
      plan.orphans.push_back(name + ": incomplete snapshot (no manifest), started more " +
                             "than 24 h ago");
      remove(name, size);
    }
  }

  // 3. Segments: per lineage, the lowest position of a kept snapshot from the base on.
  std::map<std::string, uint64_t> needed_after;  // lineage -> segments above this stay
  for (size_t i = 0; i < manifests.size(); ++i) {
    const Manifest& m = manifests[i];
    if (!plan.snapshots[i].keep || m.taken_ms < base->taken_ms) continue;
    const auto [it, inserted] = needed_after.try_emplace(m.position.lineage, m.position.seq);
    if (!inserted && m.position.seq < it->second) it->second = m.position.seq;
  }
  for (const ObjectInfo& o : log_objects) {
    const std::optional<SegmentRef> ref = ParseSegmentName(o.name);
    if (!ref) {
      plan.held.push_back(o.name + ": not a change-log segment, left alone");
      continue;
    }
    const auto it = needed_after.find(ref->lineage);
    if (it != needed_after.end() && ref->seq > it->second) {
      ++plan.kept_segments;
    } else {
      remove(o.name, o.size);  // List sorts by name: each lineage oldest first
    }
  }
  return plan;
}

Status ApplyPrune(BackupTarget& target, const PrunePlan& plan) {
  for (const std::string& name : plan.delete_objects) {
    if (!name.starts_with(kSnapshotPrefix) && !name.starts_with(kChangeLogPrefix)) {
      return InvalidArgument("a prune deletes only snapshots and change-log segments, not " + name);
    }
  }
  for (const std::string& name : plan.delete_objects) {
    Status s = target.Delete(name);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  return Status::Ok();
}

}  // namespace pactum::backup
