// The change log, snapshots and point-in-time restore against the real encrypted SQLite
// store and real local-directory targets, with a fake clock for commit times.

#include "backup/change_log.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

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

using Rig = testing_support::BackupRig;

TEST(ChangeLog, WithoutASnapshotThereIsNoLineageToShipInto) {
  TempDir dir;
  Rig rig(dir);
  EXPECT_TRUE(rig.log().NeedsSnapshot());
  EXPECT_EQ(rig.log().Capture().code(), StatusCode::kFailedPrecondition);
  auto snap = rig.Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_FALSE(rig.log().NeedsSnapshot());
  ASSERT_EQ(snap->outcomes.size(), 2U);
  for (const TargetOutcome& o : snap->outcomes) {
    EXPECT_TRUE(o.status.ok()) << o.target << ": " << o.status.ToString();
    EXPECT_TRUE(o.verification.ok) << o.target << ": " << o.verification.error;
  }
  EXPECT_EQ(ObjectNames(rig.spool(), kSnapshotPrefix).size(), 0U) << "the spool copy is gone";
  EXPECT_EQ(ObjectNames(rig.site_b(), kSnapshotPrefix).size(), 2U);  // data and manifest
}

TEST(ChangeLog, RestoresExactlyTheCommittedStateOfEveryInstant) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(rig.Put(0, "before the snapshot").ok());
  ASSERT_TRUE(rig.Snapshot().ok());
  const int64_t snapshot_ms = UnixMillis(rig.clock.Now());
  std::vector<std::pair<int64_t, Contents>> history;  // (commit time, state after it)
  for (int i = 1; i <= 12; ++i) {
    rig.clock.Advance(10s);
    ASSERT_TRUE(rig.Put(i, "value " + std::to_string(i)).ok());
    if (i % 4 == 0) {
      ASSERT_TRUE(rig.Put(0, "changed at " + std::to_string(i)).ok());
    }
    history.emplace_back(UnixMillis(rig.clock.Now()), rig.Live());
    if (i % 3 == 0) {
      ASSERT_TRUE(rig.Ship().ok());  // several transactions per segment
    }
  }
  ASSERT_TRUE(rig.Ship().ok());

  // Before the first transaction after the snapshot: the snapshot's state.
  auto r = rig.RestoreAt(snapshot_ms + 9999);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->second, (Contents{{0, "before the snapshot"}}));
  for (size_t k = 0; k < history.size(); ++k) {
    const auto& [t, state] = history[k];
    auto at = rig.RestoreAt(t);  // at the commit: included
    ASSERT_TRUE(at.ok()) << at.status().ToString();
    EXPECT_EQ(at->second, state) << "at commit " << k + 1;
    EXPECT_EQ(at->first.restored_to_ms, t);
    auto just_before = rig.RestoreAt(t - 1);
    ASSERT_TRUE(just_before.ok());
    const Contents expected_before =
        k == 0 ? Contents{{0, "before the snapshot"}} : history[k - 1].second;
    EXPECT_EQ(just_before->second, expected_before) << "just before commit " << k + 1;
    auto just_after = rig.RestoreAt(t + 1);
    ASSERT_TRUE(just_after.ok());
    EXPECT_EQ(just_after->second, state) << "just after commit " << k + 1;
  }
  auto latest = rig.RestoreAt(std::nullopt);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->second, rig.Live());
  EXPECT_TRUE(latest->first.check.integrity_ok);
  // Before the oldest snapshot there is nothing to restore.
  EXPECT_EQ(rig.RestoreAt(snapshot_ms - 60'000).status().code(), StatusCode::kNotFound);
}

TEST(ChangeLog, ADamagedCopyOnOneTargetIsReadFromTheOther) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(rig.Snapshot().ok());
  for (int i = 0; i < 5; ++i) {
    rig.clock.Advance(1s);
    ASSERT_TRUE(rig.Put(i, "v").ok());
    ASSERT_TRUE(rig.Ship().ok());
  }
  // Every byte site-a returns is damaged at one offset: every artefact there fails.
  rig.site_a().CorruptGets(100);
  auto r = rig.RestoreAt(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->second, rig.Live());
  EXPECT_EQ(r->first.snapshot_target, "site-b");
  EXPECT_FALSE(r->first.notes.empty());
  // site-a alone: refused with a reason.
  auto alone = rig.RestoreAt(std::nullopt, {&rig.site_a()});
  EXPECT_FALSE(alone.ok());
}

TEST(ChangeLog, AGapInTheLogIsRefusedAndASegmentOfAnotherDatabaseDoesNotFit) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(rig.Snapshot().ok());
  for (int i = 0; i < 4; ++i) {
    rig.clock.Advance(1s);
    ASSERT_TRUE(rig.Put(i, "v").ok());
    ASSERT_TRUE(rig.Ship().ok());
  }
  const LogPosition at = rig.log().position();
  ASSERT_GE(at.seq, 4U);
  const std::string second = SegmentName(at.lineage, 2);
  ASSERT_TRUE(rig.site_a().Delete(second).ok());
  ASSERT_TRUE(rig.site_b().Delete(second).ok());
  auto gap = rig.RestoreAt(std::nullopt);
  EXPECT_EQ(gap.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(gap.status().message().find("gap"), std::string::npos) << gap.status().message();
  // Up to before segment 2's transaction the log is whole.
  auto before = rig.RestoreAt(UnixMillis(rig.clock.Now()) - 3500);
  EXPECT_TRUE(before.ok()) << before.status().ToString();

  // Segment 2 of another database, put under this lineage's name: it does not open
  // (its seal binds its own name) — and renamed back into its own name it is refused as
  // not linking.
  TempDir other_dir;
  Rig other(other_dir, "-other");
  ASSERT_TRUE(other.Snapshot().ok());
  for (int i = 0; i < 3; ++i) {
    other.clock.Advance(1s);
    ASSERT_TRUE(other.Put(i, "foreign").ok());
    ASSERT_TRUE(other.Ship().ok());
  }
  const std::string foreign = SegmentName(other.log().position().lineage, 2);
  std::filesystem::create_directories(
      std::filesystem::path(rig.dir() + "/site-b/" + second).parent_path());
  std::filesystem::copy_file(other.dir() + "/site-b/" + foreign, rig.dir() + "/site-b/" + second);
  auto mixed = rig.RestoreAt(std::nullopt);
  EXPECT_EQ(mixed.status().code(), StatusCode::kDataLoss) << mixed.status().ToString();
}

TEST(ChangeLog, ATargetThatIsDownCatchesUpAndNeverHoldsUpTheOther) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(rig.Snapshot().ok());
  rig.site_a().down = true;
  for (int i = 0; i < 3; ++i) {
    rig.clock.Advance(1s);
    ASSERT_TRUE(rig.Put(i, "v").ok());
    EXPECT_EQ(rig.Ship().code(), StatusCode::kUnavailable);
  }
  auto health = rig.log().health();
  ASSERT_EQ(health.size(), 2U);
  EXPECT_EQ(health[0].name, "site-a");
  EXPECT_EQ(health[0].pending, 3);
  EXPECT_FALSE(health[0].last_error.empty());
  EXPECT_EQ(health[1].pending, 0);
  EXPECT_TRUE(health[1].last_error.empty());
  auto from_b = rig.RestoreAt(std::nullopt, {&rig.site_b()});
  ASSERT_TRUE(from_b.ok());
  EXPECT_EQ(from_b->second, rig.Live());

  rig.site_a().down = false;
  ASSERT_TRUE(rig.log().Upload().ok());
  EXPECT_EQ(rig.log().health()[0].pending, 0);
  EXPECT_TRUE(ObjectNames(rig.spool(), kChangeLogPrefix).empty());
  auto from_a = rig.RestoreAt(std::nullopt, {&rig.site_a()});
  ASSERT_TRUE(from_a.ok()) << from_a.status().ToString();
  EXPECT_EQ(from_a->second, rig.Live());
}

TEST(ChangeLog, AFullTargetOrOneThatFailsWritesFailsOnlyItself) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(rig.Snapshot().ok());
  rig.site_a().FillUpAfter(0);
  rig.clock.Advance(1s);
  ASSERT_TRUE(rig.Put(1, std::string(20000, 'f')).ok());
  EXPECT_EQ(rig.Ship().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(ObjectNames(rig.site_a(), kChangeLogPrefix).empty()) << "nothing partial";
  EXPECT_EQ(ObjectNames(rig.site_b(), kChangeLogPrefix).size(), 1U);
  // Writes failing while reads work (a read-only disk): the same, and it catches up.
  rig.site_a().Heal();
  rig.site_a().fail_writes = true;
  rig.clock.Advance(1s);
  ASSERT_TRUE(rig.Put(2, "two").ok());
  EXPECT_EQ(rig.Ship().code(), StatusCode::kUnavailable);
  EXPECT_EQ(rig.log().health()[0].pending, 2);
  EXPECT_EQ(ObjectNames(rig.site_b(), kChangeLogPrefix).size(), 2U);
  rig.site_a().fail_writes = false;
  ASSERT_TRUE(rig.log().Upload().ok());
  auto from_a = rig.RestoreAt(std::nullopt, {&rig.site_a()});
  ASSERT_TRUE(from_a.ok()) << from_a.status().ToString();
  EXPECT_EQ(from_a->second, rig.Live());
}

TEST(ChangeLog, AFailedVerificationIsFlaggedAndNeverRestoredFrom) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(rig.Put(1, "one").ok());
  rig.site_a().CorruptGets(100);  // what site-a gives back is not what it was given
  auto snap = rig.Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_FALSE(snap->outcomes[0].verification.ok);
  EXPECT_FALSE(snap->outcomes[0].verification.error.empty());
  EXPECT_TRUE(snap->outcomes[1].verification.ok);
  rig.site_a().Heal();
  auto manifests = ListManifests(rig.site_a(), rig.Keys());
  ASSERT_TRUE(manifests.ok());
  ASSERT_EQ(manifests->size(), 1U);
  EXPECT_FALSE((*manifests)[0].verification.ok) << "site-a's manifest records the failure";
  EXPECT_EQ(rig.RestoreAt(std::nullopt, {&rig.site_a()}).status().code(), StatusCode::kNotFound);
  auto b = rig.RestoreAt(std::nullopt, {&rig.site_b()});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->second, rig.Live());
}

TEST(ChangeLog, TheLogContinuesAcrossARestart) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(rig.Snapshot().ok());
  ASSERT_TRUE(rig.Put(1, "one").ok());
  ASSERT_TRUE(rig.Ship().ok());
  const std::string lineage = rig.log().position().lineage;
  ASSERT_TRUE(rig.Put(2, "written, not yet shipped").ok());
  rig.Close();  // no checkpoint on close: the frames wait in the WAL
  rig.OpenDatabase();
  rig.OpenLog();
  EXPECT_FALSE(rig.log().NeedsSnapshot());
  ASSERT_TRUE(rig.Ship().ok());
  EXPECT_EQ(rig.log().position().lineage, lineage);
  auto r = rig.RestoreAt(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->second, rig.Live());
  EXPECT_EQ(r->second.at(2), "written, not yet shipped");
}

TEST(ChangeLog, ACheckpointMadeElsewhereStartsANewLineageWithASnapshot) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(rig.Snapshot().ok());
  ASSERT_TRUE(rig.Put(1, "one").ok());
  ASSERT_TRUE(rig.Ship().ok());
  const std::string first = rig.log().position().lineage;
  ASSERT_TRUE(rig.Put(2, "two").ok());
  rig.Close();
  rig.WriteWithoutExternalCheckpoints(3, "three");  // checkpoints and drops the WAL on close
  rig.OpenDatabase();
  rig.OpenLog();
  ASSERT_TRUE(rig.Put(4, "four").ok());
  EXPECT_EQ(rig.log().Capture().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(rig.log().NeedsSnapshot());
  ASSERT_TRUE(rig.Snapshot().ok());
  EXPECT_NE(rig.log().position().lineage, first);
  ASSERT_TRUE(rig.Put(5, "five").ok());
  ASSERT_TRUE(rig.Ship().ok());
  auto r = rig.RestoreAt(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->second, rig.Live());
  EXPECT_EQ(r->second.size(), 5U);
}

TEST(ChangeLog, ASnapshotOfADatabaseWithoutAWalIsContinuedByTheFirstOne) {
  TempDir dir;
  Rig rig(dir);
  rig.Close();
  rig.WriteWithoutExternalCheckpoints(1, "one");  // closes with the WAL folded in and gone
  rig.OpenDatabase();
  rig.OpenLog();
  ASSERT_TRUE(rig.Snapshot().ok());
  const std::string lineage = rig.log().position().lineage;
  rig.clock.Advance(1s);
  ASSERT_TRUE(rig.Put(2, "two").ok());  // SQLite starts the WAL
  ASSERT_TRUE(rig.Ship().ok());
  EXPECT_FALSE(rig.log().NeedsSnapshot());
  EXPECT_EQ(rig.log().position().lineage, lineage);
  auto r = rig.RestoreAt(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->second, rig.Live());
}

void AppendText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << text;
}

TEST(ChangeLog, TheAuditCheckpointLinesRideWithTheSnapshotsAndTheLog) {
  TempDir dir;
  Rig rig(dir);
  AppendText(rig.CheckpointFile(), "{\"line\":\"a\"}\n");
  ASSERT_TRUE(rig.Snapshot().ok());  // carries a
  rig.clock.Advance(1s);
  ASSERT_TRUE(rig.Put(1, "one").ok());
  const int64_t one_ms = UnixMillis(rig.clock.Now());
  // b, and c still being written (no line end yet): only b is a checkpoint so far.
  AppendText(rig.CheckpointFile(), "{\"line\":\"b\"}\n{\"line\":");
  ASSERT_TRUE(rig.Ship().ok());
  auto r = rig.RestoreAt(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first.checkpoints, "{\"line\":\"a\"}\n{\"line\":\"b\"}\n");

  // c finished while nothing is written: it travels in a segment of its own.
  AppendText(rig.CheckpointFile(), "\"c\"}\n");
  const uint64_t seq = rig.log().position().seq;
  ASSERT_TRUE(rig.Ship().ok());
  EXPECT_EQ(rig.log().position().seq, seq + 1);
  EXPECT_EQ(rig.log().position().time_ms, one_ms) << "no transaction came with it";
  r = rig.RestoreAt(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first.checkpoints, "{\"line\":\"a\"}\n{\"line\":\"b\"}\n{\"line\":\"c\"}\n");
  EXPECT_EQ(r->second, rig.Live());
  ASSERT_TRUE(rig.Ship().ok());
  EXPECT_EQ(rig.log().position().seq, seq + 1) << "nothing new, no segment";

  // Replaced by a shorter file: carried again from its start.
  std::filesystem::remove(rig.CheckpointFile());
  AppendText(rig.CheckpointFile(), "{\"line\":\"d\"}\n");
  ASSERT_TRUE(rig.Ship().ok());
  r = rig.RestoreAt(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->first.checkpoints.ends_with("{\"line\":\"c\"}\n{\"line\":\"d\"}\n"))
      << r->first.checkpoints;

  // A snapshot taken now carries the whole file as it is.
  ASSERT_TRUE(rig.Snapshot().ok());
  r = rig.RestoreAt(std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->first.checkpoints, "{\"line\":\"d\"}\n");
}

// kill -9 of a process while it snapshots and ships: what reached the targets restores,
// and every write it shipped before the kill is there.
TEST(ChangeLog, KilledMidSnapshotAndMidSegmentWhatIsIntactRestores) {
  TempDir dir;
  for (int round = 0; round < 4; ++round) {
    Rig rig(dir, "-kill" + std::to_string(round));
    ASSERT_TRUE(rig.Snapshot().ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(rig.Put(i, std::string(3000, 'a')).ok());
    ASSERT_TRUE(rig.Ship().ok());
    const Contents shipped = rig.Live();
    rig.Close();
    int pipe_fd[2];
    ASSERT_EQ(::pipe(pipe_fd), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(pipe_fd[0]);
      rig.OpenDatabase();
      rig.OpenLog();
      (void)::write(pipe_fd[1], "r", 1);
      for (int i = 50;; ++i) {  // writes, ships and snapshots until killed
        (void)rig.Put(i % 300, std::string(3000, 'b'));
        if (i % 7 == 0) (void)rig.Ship();
        if (i % 97 == 0) (void)rig.Snapshot();
      }
    }
    ::close(pipe_fd[1]);
    char ready = 0;
    ASSERT_EQ(::read(pipe_fd[0], &ready, 1), 1);
    ::close(pipe_fd[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + round * 170));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    // From the targets alone: a consistent database holding at least what was shipped
    // before the child started.
    rig.OpenDatabase();
    rig.OpenLog();
    auto r = rig.RestoreAt(std::nullopt);
    ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.status().ToString();
    EXPECT_TRUE(r->first.check.integrity_ok);
    EXPECT_GE(r->second.size(), shipped.size());
    // And the restarted log goes on (continuing, or with a new lineage after a snapshot).
    if (rig.log().NeedsSnapshot() || !rig.Ship().ok()) {
      ASSERT_TRUE(rig.Snapshot().ok());
    }
    ASSERT_TRUE(rig.Ship().ok());
    auto after = rig.RestoreAt(std::nullopt);
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    EXPECT_EQ(after->second, rig.Live());
  }
}

}  // namespace
}  // namespace pactum::backup
