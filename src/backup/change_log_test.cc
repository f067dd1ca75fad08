// The change log, snapshots and point-in-time restore against the real encrypted SQLite
// store and real local-directory targets, with a fake clock for commit times.

#include "backup/change_log.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "backup/local_target.h"
#include "backup/restore.h"
#include "backup/snapshot.h"
#include "crypto/random.h"
#include "store/sqlite_database.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fault_backup_target.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::backup {
namespace {

using namespace std::chrono_literals;
using testing_support::FakeClock;
using testing_support::FaultBackupTarget;
using testing_support::RandomKey;
using testing_support::TempDir;
using Contents = std::map<int64_t, std::string>;

int64_t Ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

BackupKey NewBackupKey() {
  BackupKey k;
  k.version = 1;
  k.key = crypto::SecretBytes(32);
  crypto::RandomBytes(k.key.span());
  return k;
}

// A database with a change log, a spool and two local targets (site-a behind a fault
// injector), all in one temporary directory.
class Rig {
 public:
  explicit Rig(const TempDir& dir, const std::string& suffix = "")
      : dir_(dir.path() + "/rig" + suffix), key_(NewBackupKey()) {
    std::filesystem::create_directories(dir_);
    db_key_ = RandomKey();
    OpenDatabase();
    spool_ = Target("spool");
    site_a_real_ = Target("site-a");
    site_b_ = Target("site-b");
    site_a_ = std::make_unique<FaultBackupTarget>(*site_a_real_);
    OpenLog();
  }

  std::unique_ptr<BackupTarget> Target(const std::string& name) {
    auto t = OpenLocalTarget(name, dir_ + "/" + name);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(t).value();
  }

  void OpenDatabase() {
    store::SqliteOptions o;
    o.path = dir_ + "/pactum.db";
    o.key = db_key_;
    o.external_checkpoints = true;
    auto db = store::OpenSqliteDatabase(o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(db_->Write([](store::Session& s) -> Status {
                     return s
                         .Execute(
                             "CREATE TABLE IF NOT EXISTS rig_t (k INTEGER PRIMARY KEY, "
                             "v TEXT NOT NULL)")
                         .status();
                   })
                    .ok());
  }

  void OpenLog() {
    BackupKey copy;
    copy.version = key_.version;
    copy.key = crypto::SecretBytes::CopyOf(key_.key.span());
    auto log = ChangeLog::Open(*db_->Wal(), std::move(copy), *spool_, dir_ + "/state.json",
                               {site_a_.get(), site_b_.get()}, clock, ChangeLogOptions{});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }

  void Close() {
    log_.reset();
    db_.reset();
  }

  Status Put(int64_t k, const std::string& v) {
    return db_->Write([&](store::Session& s) -> Status {
      return s
          .Execute("INSERT INTO rig_t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = $2",
                   {k, v})
          .status();
    });
  }

  Contents Live() { return Read(*db_); }

  static Contents Read(store::Database& db) {
    Contents out;
    EXPECT_TRUE(db.Read([&](store::Session& s) -> Status {
                    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT k, v FROM rig_t"));
                    for (const store::Row& r : rows) out[r.Int(0)] = r.Text(1);
                    return Status::Ok();
                  }).ok());
    return out;
  }

  Result<SnapshotResult> Snapshot() {
    SnapshotOptions o;
    o.scratch_dir = dir_ + "/scratch";
    o.environment = "dev";
    return TakeSnapshot(*log_, *db_->Wal(), key_, *spool_, {site_a_.get(), site_b_.get()}, clock,
                        o);
  }

  Status Ship() {
    RETURN_IF_ERROR(log_->Capture());
    return log_->Upload();
  }

  BackupKeyLookup Keys() const {
    return [this](uint32_t v) -> Result<crypto::SecretBytes> {
      if (v != key_.version) return NotFound("no such backup key version");
      return crypto::SecretBytes::CopyOf(key_.key.span());
    };
  }

  // Restores into a fresh file and reads it back.
  Result<std::pair<RestoreReport, Contents>> RestoreAt(std::optional<int64_t> at_ms,
                                                       std::vector<BackupTarget*> targets = {}) {
    RestoreRequest r;
    r.at_ms = at_ms;
    r.db_path = dir_ + "/restored-" + std::to_string(++restores_) + ".db";
    r.db_key.resize(32);
    crypto::RandomBytes(r.db_key);
    r.targets =
        targets.empty() ? std::vector<BackupTarget*>{site_a_.get(), site_b_.get()} : targets;
    r.keys = Keys();
    r.environment = "dev";
    ASSIGN_OR_RETURN(RestoreReport report, Restore(r));
    store::SqliteOptions o;
    o.path = r.db_path;
    o.key = std::make_shared<crypto::SecretBytes>(crypto::SecretBytes::CopyOf(r.db_key));
    ASSIGN_OR_RETURN(auto db, store::OpenSqliteDatabase(o));
    return std::make_pair(report, Read(*db));
  }

  void WriteWithoutExternalCheckpoints(int64_t k, const std::string& v) {
    store::SqliteOptions o;
    o.path = dir_ + "/pactum.db";
    o.key = db_key_;
    auto db = store::OpenSqliteDatabase(o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(Put(k, v).ok());
    db_.reset();
  }

  const std::string& dir() const { return dir_; }
  ChangeLog& log() { return *log_; }
  store::Database& db() { return *db_; }
  FaultBackupTarget& site_a() { return *site_a_; }
  BackupTarget& site_b() { return *site_b_; }
  BackupTarget& spool() { return *spool_; }

  FakeClock clock;

 private:
  std::string dir_;
  BackupKey key_;
  std::shared_ptr<const crypto::SecretBytes> db_key_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<BackupTarget> spool_;
  std::unique_ptr<BackupTarget> site_a_real_;
  std::unique_ptr<FaultBackupTarget> site_a_;
  std::unique_ptr<BackupTarget> site_b_;
  std::unique_ptr<ChangeLog> log_;
  int restores_ = 0;
};

std::vector<std::string> Names(BackupTarget& t, std::string_view prefix) {
  std::vector<std::string> out;
  auto list = t.List(prefix);
  EXPECT_TRUE(list.ok());
  for (const ObjectInfo& o : *list) out.push_back(o.name);
  return out;
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
  EXPECT_EQ(Names(rig.spool(), kSnapshotPrefix).size(), 0U) << "the spool copy is gone";
  EXPECT_EQ(Names(rig.site_b(), kSnapshotPrefix).size(), 2U);  // data and manifest
}

TEST(ChangeLog, RestoresExactlyTheCommittedStateOfEveryInstant) {
  TempDir dir;
  Rig rig(dir);
  ASSERT_TRUE(rig.Put(0, "before the snapshot").ok());
  ASSERT_TRUE(rig.Snapshot().ok());
  const int64_t snapshot_ms = Ms(rig.clock.Now());
  std::vector<std::pair<int64_t, Contents>> history;  // (commit time, state after it)
  for (int i = 1; i <= 12; ++i) {
    rig.clock.Advance(10s);
    ASSERT_TRUE(rig.Put(i, "value " + std::to_string(i)).ok());
    if (i % 4 == 0) ASSERT_TRUE(rig.Put(0, "changed at " + std::to_string(i)).ok());
    history.emplace_back(Ms(rig.clock.Now()), rig.Live());
    if (i % 3 == 0) ASSERT_TRUE(rig.Ship().ok());  // several transactions per segment
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
  auto before = rig.RestoreAt(Ms(rig.clock.Now()) - 3500);
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
  EXPECT_TRUE(Names(rig.spool(), kChangeLogPrefix).empty());
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
  EXPECT_TRUE(Names(rig.site_a(), kChangeLogPrefix).empty()) << "nothing partial";
  EXPECT_EQ(Names(rig.site_b(), kChangeLogPrefix).size(), 1U);
  // Writes failing while reads work (a read-only disk): the same, and it catches up.
  rig.site_a().Heal();
  rig.site_a().fail_writes = true;
  rig.clock.Advance(1s);
  ASSERT_TRUE(rig.Put(2, "two").ok());
  EXPECT_EQ(rig.Ship().code(), StatusCode::kUnavailable);
  EXPECT_EQ(rig.log().health()[0].pending, 2);
  EXPECT_EQ(Names(rig.site_b(), kChangeLogPrefix).size(), 2U);
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
    if (rig.log().NeedsSnapshot() || !rig.Ship().ok()) ASSERT_TRUE(rig.Snapshot().ok());
    ASSERT_TRUE(rig.Ship().ok());
    auto after = rig.RestoreAt(std::nullopt);
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    EXPECT_EQ(after->second, rig.Live());
  }
}

}  // namespace
}  // namespace pactum::backup
