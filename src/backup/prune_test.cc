// Pruning against real snapshots and change-log segments of the real encrypted SQLite
// store on real local-directory targets, with a fake clock walked over 40 days.

#include "backup/prune.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "backup/change_log.h"
#include "backup/snapshot.h"
#include "common/clock.h"
#include "tests/support/backup_rig.h"
#include "tests/support/temp_dir.h"

namespace pactum::backup {
namespace {

using namespace std::chrono_literals;
using testing_support::TempDir;
using Contents = testing_support::RigContents;
using testing_support::ObjectNames;

constexpr int64_t kHourMs = int64_t{3600} * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr uint64_t kSegments = 39 * 3 + 1;  // BuildHistory's

using Rig = testing_support::BackupRig;

std::set<std::string> ManifestIds(BackupTarget& t, const BackupKeyLookup& keys) {
  auto manifests = ListManifests(t, keys);
  EXPECT_TRUE(manifests.ok());
  std::set<std::string> ids;
  for (const Manifest& m : *manifests) ids.insert(m.id);
  return ids;
}

// The ids the retention policy keeps of `manifests` at `now_ms`, computed directly.
std::set<std::string> PolicyKeeps(const std::vector<Manifest>& manifests, int64_t now_ms) {
  std::vector<RetentionInput> in;
  in.reserve(manifests.size());
  for (const Manifest& m : manifests) {
    in.push_back({BackupTime{std::chrono::milliseconds{m.taken_ms}}, m.verification.ok});
  }
  auto decisions = PlanRetention(in, BackupTime{std::chrono::milliseconds{now_ms}});
  EXPECT_TRUE(decisions.ok());
  std::set<std::string> keep;
  for (size_t i = 0; i < manifests.size(); ++i) {
    if ((*decisions)[i].keep) keep.insert(manifests[i].id);
  }
  return keep;
}

void FlipByte(const std::string& path, int64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(offset);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x01);
  f.seekp(offset);
  f.write(&c, 1);
}

Status PutBytes(BackupTarget& t, const std::string& name, const std::string& bytes) {
  SpanSource source({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  return t.PutIfAbsent(name, source);
}

// 40 days from 2027-01-01: a snapshot at 02:00 each day and writes at 06:00, 14:00 and
// 23:00, each shipped as its own segment, up to `now`, day 39 10:00; on day 38 a second
// snapshot at 22:00 that fails its verification on site-a. The point-in-time window then
// starts at day 32 10:00, after its base (day 32 02:00) and its first segment (06:00), so
// restores in it replay from the base.
struct History {
  int64_t now_ms = 0;
  std::map<std::string, Contents> at_snapshot;  // id -> live contents when it was taken
  std::string unverified_on_a;                  // id of the day-38 22:00 snapshot
  std::map<int64_t, Contents> live;             // commit time -> live contents after it

  // What the database held at `t_ms`.
  const Contents& At(int64_t t_ms) const { return std::prev(live.upper_bound(t_ms))->second; }
};

History BuildHistory(Rig& rig) {
  History h;
  const int64_t start = UnixMillis(rig.clock.Now());
  auto at = [&](int day, int64_t offset_ms) {
    rig.clock.Advance(
        std::chrono::milliseconds(start + day * kDayMs + offset_ms - UnixMillis(rig.clock.Now())));
  };
  for (int day = 0; day < 40; ++day) {
    at(day, 2 * kHourMs);
    auto snap = rig.Snapshot();
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    h.at_snapshot[snap->manifest.id] = rig.Live();
    int i = 0;
    for (const int64_t hour : {6, 14, 23}) {
      if (day == 39 && hour > 10) break;
      at(day, hour * kHourMs);
      EXPECT_TRUE(rig.Put(day * 10 + i, "day " + std::to_string(day)).ok());
      EXPECT_TRUE(rig.Put(0, "day " + std::to_string(day) + " write " + std::to_string(i)).ok());
      EXPECT_TRUE(rig.Ship().ok());
      h.live[UnixMillis(rig.clock.Now())] = rig.Live();
      ++i;
      if (day == 38 && hour == 14) {
        at(day, 22 * kHourMs);
        rig.site_a().CorruptGets(100);
        auto bad = rig.Snapshot();
        rig.site_a().Heal();
        EXPECT_TRUE(bad.ok());
        EXPECT_FALSE(bad->outcomes[0].verification.ok);
        EXPECT_TRUE(bad->outcomes[1].verification.ok);
        h.unverified_on_a = bad->manifest.id;
        h.at_snapshot[bad->manifest.id] = rig.Live();
      }
    }
  }
  at(39, 10 * kHourMs);
  h.now_ms = UnixMillis(rig.clock.Now());
  return h;
}

TEST(Prune, KeepsThePolicysSnapshotsAndEveryRestoreOfTheWindow) {
  TempDir dir;
  Rig rig(dir);
  const History h = BuildHistory(rig);
  const BackupKeyLookup keys = rig.Keys();
  auto manifests_a = ListManifests(rig.site_a(), keys);
  auto manifests_b = ListManifests(rig.site_b(), keys);
  ASSERT_TRUE(manifests_a.ok() && manifests_b.ok());
  ASSERT_EQ(manifests_b->size(), 41U);
  const std::set<std::string> keep_b = PolicyKeeps(*manifests_b, h.now_ms);
  EXPECT_TRUE(keep_b.contains(h.unverified_on_a)) << "verified on site-b: the day's newest";
  for (const Manifest& m : *manifests_b) {
    EXPECT_EQ(m.position.lineage, manifests_b->front().position.lineage) << "one lineage";
  }

  // A snapshot the policy drops, its manifest damaged on site-a only.
  std::string damaged_id;
  for (const Manifest& m : *manifests_b) {
    if (!keep_b.contains(m.id) && m.taken_ms > h.now_ms - 30 * kDayMs) {
      damaged_id = m.id;
      break;
    }
  }
  ASSERT_FALSE(damaged_id.empty());
  FlipByte(rig.dir() + "/site-a/" + SnapshotManifestName(damaged_id), 60);
  manifests_a = ListManifests(rig.site_a(), keys);
  ASSERT_TRUE(manifests_a.ok());
  ASSERT_EQ(manifests_a->size(), 40U);
  std::set<std::string> keep_a = PolicyKeeps(*manifests_a, h.now_ms);
  EXPECT_FALSE(keep_a.contains(h.unverified_on_a)) << "unverified on site-a";

  // Incomplete snapshots (data, no manifest) started 25 h and 23 h ago, and a key object.
  const std::string old_orphan = SnapshotDataName(NewSnapshotId(h.now_ms - 25 * kHourMs));
  const std::string young_orphan = SnapshotDataName(NewSnapshotId(h.now_ms - 23 * kHourMs));
  for (BackupTarget* t : rig.both()) {
    ASSERT_TRUE(PutBytes(*t, old_orphan, "killed mid-way").ok());
    ASSERT_TRUE(PutBytes(*t, young_orphan, "being written").ok());
    ASSERT_TRUE(PutBytes(*t, "keys/backup-1", "wrapped key").ok());
  }

  // The point-in-time window: every hour of it holds what the database held then (the
  // contents restores gave before the prune, checked here every 12 hours).
  std::map<int64_t, Contents> window;
  for (int64_t t = h.now_ms - 7 * kDayMs; t <= h.now_ms; t += kHourMs) {
    window[t] = h.At(t);
    if ((h.now_ms - t) % (12 * kHourMs) != 0) continue;
    auto r = rig.RestoreAt(t, rig.both());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->second, window[t]) << "before the prune, at " << t;
  }

  // Dry run: planning deletes nothing.
  const auto all_a = ObjectNames(rig.site_a(), "");
  const auto all_b = ObjectNames(rig.site_b(), "");
  auto plan_a = PlanPrune(rig.site_a(), keys, h.now_ms);
  auto plan_b = PlanPrune(rig.site_b(), keys, h.now_ms);
  ASSERT_TRUE(plan_a.ok()) << plan_a.status().ToString();
  ASSERT_TRUE(plan_b.ok()) << plan_b.status().ToString();
  EXPECT_EQ(ObjectNames(rig.site_a(), ""), all_a);
  EXPECT_EQ(ObjectNames(rig.site_b(), ""), all_b);
  EXPECT_TRUE(rig.site_a().deletes().empty());
  EXPECT_TRUE(plan_a->held_back.empty());

  // The plan: one decision per readable manifest, oldest first, the policy's.
  ASSERT_EQ(plan_a->snapshots.size(), manifests_a->size());
  for (size_t i = 0; i < plan_a->snapshots.size(); ++i) {
    const auto& d = plan_a->snapshots[i];
    EXPECT_EQ(d.id, (*manifests_a)[i].id);
    EXPECT_EQ(d.keep, keep_a.contains(d.id)) << d.id;
    if (i > 0) {
      EXPECT_LE(plan_a->snapshots[i - 1].taken_ms, d.taken_ms);
    }
  }
  ASSERT_EQ(plan_a->damaged.size(), 1U);
  EXPECT_NE(plan_a->damaged[0].find(damaged_id), std::string::npos);
  EXPECT_EQ(plan_a->orphans.size(), 1U);
  // Each dropped snapshot's manifest goes before its data.
  const auto& order = plan_a->delete_objects;
  for (size_t i = 0; i < order.size(); ++i) {
    if (!order[i].ends_with(".data") || order[i] == old_orphan) continue;
    const std::string manifest = order[i].substr(0, order[i].size() - 5) + ".manifest";
    const auto m = std::find(order.begin(), order.end(), manifest);
    ASSERT_NE(m, order.end()) << order[i];
    EXPECT_LT(m - order.begin(), static_cast<ptrdiff_t>(i));
  }
  EXPECT_GT(plan_a->delete_bytes, 0U);

  ASSERT_TRUE(ApplyPrune(rig.site_a(), *plan_a).ok());
  ASSERT_TRUE(ApplyPrune(rig.site_b(), *plan_b).ok());
  EXPECT_EQ(rig.site_a().deletes(), plan_a->delete_objects) << "in the plan's order";
  // Again: everything is gone already, which is fine.
  ASSERT_TRUE(ApplyPrune(rig.site_a(), *plan_a).ok());
  ASSERT_TRUE(ApplyPrune(rig.site_b(), *plan_b).ok());

  // Exactly the policy's snapshots remain, each with its data; on site-a also the one
  // whose manifest is damaged.
  EXPECT_EQ(ManifestIds(rig.site_b(), keys), keep_b);
  EXPECT_EQ(ManifestIds(rig.site_a(), keys), keep_a);
  EXPECT_FALSE(ManifestIds(rig.site_a(), keys).contains(h.unverified_on_a));
  auto expect_data = [&](BackupTarget& t, std::set<std::string> ids) {
    std::set<std::string> data;
    for (const std::string& n : ObjectNames(t, kSnapshotPrefix)) {
      if (n.ends_with(".data")) data.insert(n);
    }
    std::set<std::string> expected{young_orphan};
    for (const std::string& id : ids) expected.insert(SnapshotDataName(id));
    EXPECT_EQ(data, expected) << t.name();
  };
  expect_data(rig.site_b(), keep_b);
  keep_a.insert(damaged_id);
  expect_data(rig.site_a(), keep_a);
  for (const std::string& n : ObjectNames(rig.site_a(), kSnapshotPrefix)) {
    if (n.ends_with(".manifest")) {
      EXPECT_TRUE(keep_a.contains(n.substr(10, n.size() - 19))) << n;
    }
  }
  for (BackupTarget* t : rig.both()) EXPECT_EQ(ObjectNames(*t, "keys/").size(), 1U);

  // Segments: from the point-in-time base on, nothing before it.
  const Manifest* base = nullptr;
  for (const Manifest& m : *manifests_b) {
    if (m.taken_ms <= h.now_ms - 7 * kDayMs) base = &m;
  }
  ASSERT_NE(base, nullptr);
  for (BackupTarget* t : rig.both()) {
    const auto segments = ObjectNames(*t, kChangeLogPrefix);
    ASSERT_FALSE(segments.empty());
    EXPECT_EQ(segments.front(), SegmentName(base->position.lineage, base->position.seq + 1));
    EXPECT_EQ(segments.back(), SegmentName(base->position.lineage, kSegments));
    EXPECT_EQ(segments.size(), kSegments - base->position.seq);
  }
  EXPECT_EQ(plan_b->kept_segments, static_cast<int64_t>(kSegments - base->position.seq));

  // Every hour of the window restores as before, from both targets and from each alone.
  for (const auto& [t, contents] : window) {
    auto r = rig.RestoreAt(t, rig.both());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->second, contents) << "at " << t;
    if ((h.now_ms - t) % (12 * kHourMs) != 0) continue;
    for (BackupTarget* alone : rig.both()) {
      auto one = rig.RestoreAt(t, {alone});
      ASSERT_TRUE(one.ok()) << alone->name() << ": " << one.status().ToString();
      EXPECT_EQ(one->second, contents) << alone->name() << " at " << t;
    }
  }
  // Before the window only whole snapshots remain: each kept one, read alone, holds what
  // the database held when it was taken (Restore itself: RestoreBeforeTheWindowGivesTheKeptSnapshot
  // below).
  int older = 0;
  for (const std::string& id : keep_b) {
    auto c = rig.SnapshotContents(rig.site_b(), id);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(*c, h.at_snapshot.at(id)) << id;
    if (id < base->id) ++older;
  }
  EXPECT_EQ(older, 10) << "daily: days 26-31 (Jan 27 - Feb 1); weekly: Sundays Jan 3-24";

  // A second plan finds nothing more to delete; the young incomplete snapshot is held.
  auto again = PlanPrune(rig.site_a(), keys, h.now_ms);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->delete_objects.empty());
  EXPECT_EQ(again->delete_bytes, 0U);
  ASSERT_EQ(again->held.size(), 1U);
  EXPECT_NE(again->held[0].find(young_orphan), std::string::npos);
}

TEST(Prune, WithoutAVerifiedSnapshotNothingIsDeleted) {
  TempDir dir;
  Rig rig(dir);
  rig.site_a().CorruptGets(100);
  ASSERT_TRUE(rig.Snapshot().ok());
  rig.site_a().Heal();
  for (int i = 0; i < 3; ++i) {
    rig.clock.Advance(20 * 24h);
    ASSERT_TRUE(rig.Put(i, "v").ok());
    ASSERT_TRUE(rig.Ship().ok());
  }
  const std::string old_orphan =
      SnapshotDataName(NewSnapshotId(UnixMillis(rig.clock.Now()) - 5 * kDayMs));
  ASSERT_TRUE(PutBytes(rig.site_a(), old_orphan, "killed mid-way").ok());
  const auto before = ObjectNames(rig.site_a(), "");
  auto plan = PlanPrune(rig.site_a(), rig.Keys(), UnixMillis(rig.clock.Now()));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->snapshots.size(), 1U);
  EXPECT_FALSE(plan->snapshots[0].verified);
  EXPECT_FALSE(plan->snapshots[0].keep);
  EXPECT_FALSE(plan->held_back.empty());
  EXPECT_TRUE(plan->delete_objects.empty());
  ASSERT_TRUE(ApplyPrune(rig.site_a(), *plan).ok());
  EXPECT_EQ(ObjectNames(rig.site_a(), ""), before);
}

TEST(Prune, ApplyRefusesAPlanThatNamesAnythingButSnapshotsAndSegments) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(PutBytes(rig.site_b(), "keys/backup-1", "wrapped key").ok());
  ASSERT_TRUE(PutBytes(rig.site_b(), "snapshots/x.data", "x").ok());
  PrunePlan plan;
  plan.delete_objects = {"snapshots/x.data", "keys/backup-1"};
  EXPECT_EQ(ApplyPrune(rig.site_b(), plan).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ObjectNames(rig.site_b(), "").size(), 2U) << "nothing deleted";
}

TEST(Prune, AnUnreachableTargetIsAnErrorNotAnEmptyPlan) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(rig.Snapshot().ok());
  rig.site_a().down = true;
  EXPECT_EQ(PlanPrune(rig.site_a(), rig.Keys(), UnixMillis(rig.clock.Now())).status().code(),
            StatusCode::kUnavailable);
}

// Before the point-in-time window only snapshots are kept: a restore to such an instant
// gives the newest kept snapshot before it (the pruned change log after it is no gap).
TEST(Prune, RestoreBeforeTheWindowGivesTheKeptSnapshot) {
  TempDir dir;
  Rig rig(dir);
  const History h = BuildHistory(rig);
  for (BackupTarget* t : rig.both()) {
    auto plan = PlanPrune(*t, rig.Keys(), h.now_ms);
    ASSERT_TRUE(plan.ok());
    ASSERT_TRUE(ApplyPrune(*t, *plan).ok());
  }
  auto manifests = ListManifests(rig.site_b(), rig.Keys());
  ASSERT_TRUE(manifests.ok());
  const Manifest& oldest = manifests->front();
  auto r = rig.RestoreAt(oldest.taken_ms + kHourMs, rig.both());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->second, h.at_snapshot.at(oldest.id));
}

// Snapshots by growth: each day a snapshot at 02:00 and one after each burst of three
// transactions (06:00, 10:00, 14:00, 18:00), as a server with a bound of 4 transactions
// takes them. The policy alone keeps the newest of each day, so an instant early in a day
// replays from the day before's last; with the bound every growth snapshot of the window
// stays, and every instant of the window replays at most 4 transactions.
TEST(Prune, AReplayBoundKeepsTheWindowsGrowthSnapshots) {
  TempDir dir;
  Rig rig(dir);
  const int64_t start = UnixMillis(rig.clock.Now());
  auto at = [&](int day, int64_t hour) {
    rig.clock.Advance(std::chrono::milliseconds(start + day * kDayMs + hour * kHourMs -
                                                UnixMillis(rig.clock.Now())));
  };
  int64_t key = 0;
  for (int day = 0; day < 10; ++day) {
    at(day, 2);
    ASSERT_TRUE(rig.Snapshot().ok());
    for (const int64_t hour : {6, 10, 14, 18}) {
      for (int i = 0; i < 3; ++i) {
        at(day, hour);
        rig.clock.Advance(std::chrono::minutes(i));
        ASSERT_TRUE(rig.Put(++key, "day " + std::to_string(day)).ok());
      }
      ASSERT_TRUE(rig.Ship().ok());
      rig.clock.Advance(std::chrono::minutes(10));
      auto snap = rig.Snapshot();
      ASSERT_TRUE(snap.ok()) << snap.status().ToString();
      EXPECT_TRUE(snap->manifest.log_totals);
    }
  }
  at(9, 20);
  const int64_t now = UnixMillis(rig.clock.Now());
  const ReplayBound bound{.transactions = 4};
  auto policy_only = PlanPrune(rig.site_a(), rig.Keys(), now);
  auto bounded = PlanPrune(rig.site_b(), rig.Keys(), now, RetentionPolicy{}, bound);
  ASSERT_TRUE(policy_only.ok() && bounded.ok());
  int kept_for_bound = 0;
  for (size_t i = 0; i < bounded->snapshots.size(); ++i) {
    const auto& b = bounded->snapshots[i];
    const auto& p = policy_only->snapshots[i];
    ASSERT_EQ(b.id, p.id);
    const bool in_window = b.taken_ms >= now - 7 * kDayMs;
    const bool for_bound =
        std::find(b.reasons.begin(), b.reasons.end(), KeepReason::kBound) != b.reasons.end();
    if (for_bound) {
      ++kept_for_bound;
      EXPECT_FALSE(p.keep) << b.id << ": only what the policy drops is kept for the bound";
    }
    if (!in_window) {
      EXPECT_FALSE(for_bound) << b.id << ": before the window, the policy alone";
    }
    if (b.keep != p.keep) {
      EXPECT_TRUE(for_bound) << b.id;
    }
  }
  // Each day of the window keeps the 06:00, 10:00 and 14:00 ones; the 02:00 one follows
  // the day before's last with nothing in between, so dropping it costs no replay.
  EXPECT_EQ(kept_for_bound, 7 * 3);
  ASSERT_TRUE(ApplyPrune(rig.site_a(), *policy_only).ok());
  ASSERT_TRUE(ApplyPrune(rig.site_b(), *bounded).ok());

  // Each hour of the window, restored from each target alone.
  int64_t most_a = 0;
  int64_t most_b = 0;
  for (int64_t t = now - 7 * kDayMs + kHourMs; t <= now; t += kHourMs) {
    auto a = rig.RestoreAt(t, {&rig.site_a()});
    auto b = rig.RestoreAt(t, {&rig.site_b()});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(a->second, b->second) << "the same state at " << t;
    most_a = std::max(most_a, a->first.commits);
    most_b = std::max(most_b, b->first.commits);
  }
  EXPECT_LE(most_b, 4) << "within the bound everywhere in the window";
  EXPECT_GT(most_a, 4) << "the policy alone replays more (the test would notice no bound)";
}

}  // namespace
}  // namespace pactum::backup
