// BackupService as the server runs it: its jobs on a scheduler driven by a fake clock
// (RunDue), over the real encrypted SQLite store and real local-directory targets. Target
// identity (lost targets) and snapshots by change-log growth.

#include "backup/backup_service.h"

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backup/backup_keys.h"
#include "backup/local_target.h"
#include "backup/restore.h"
#include "backup/target_identity.h"
#include "common/file_system.h"
#include "common/files.h"
#include "crypto/local_key_provider.h"
#include "scheduler/scheduler.h"
#include "store/sqlite_database.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::backup {
namespace {

using namespace std::chrono_literals;
using testing_support::FakeClock;
using testing_support::TempDir;

constexpr const char* kMasterKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

// A data directory with backups to site-a and site-b, and a scheduler for its jobs.
class Service {
 public:
  explicit Service(const TempDir& dir, BackupServiceOptions extra = {})
      : data_(dir.File("data")), backups_(dir.File("backups")) {
    std::filesystem::create_directories(data_);
    kek_ = std::move(crypto::LocalKeyProvider::FromBase64(kMasterKey, "dev")).value();
    store::SqliteOptions o;
    o.path = data_ + "/pactum.db";
    o.key = testing_support::RandomKey();
    o.external_checkpoints = true;
    db_ = std::move(store::OpenSqliteDatabase(o)).value();
    EXPECT_TRUE(
        db_->Write([](store::Session& s) {
             return s.Execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)").status();
           })
            .ok());
    extra.data_dir = data_;
    extra.backup_dir = backups_;
    extra.target_names = {"site-a", "site-b"};
    extra.environment = "dev";
    extra.metrics = &metrics;
    auto opened = BackupService::Open(*db_, *kek_, clock, LocalFileSystem(), extra);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return;
    service_ = std::move(opened).value();
    EXPECT_TRUE(service_->AddJobs(jobs).ok());
  }
  ~Service() {
    jobs.Stop();
    if (service_) service_->Finish();
  }
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // `n` transactions of `bytes` each.
  void Write(int n, size_t bytes = 10) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(db_->Write([&](store::Session& s) {
                       return s
                           .Execute("INSERT INTO t (k, v) VALUES ($1, $2)",
                                    {next_++, std::string(bytes, 'x')})
                           .status();
                     })
                      .ok());
    }
  }

  // A round of every due job one interval later.
  void Tick() {
    clock.Advance(1s);
    jobs.RunDue();
  }

  std::unique_ptr<BackupTarget> Target(const std::string& name) const {
    return std::move(OpenLocalTarget(LocalFileSystem(), name, backups_ + "/" + name,
                                     LocalTargetOpen::kExisting))
        .value();
  }

  std::vector<Manifest> Manifests(const std::string& name) const {
    auto t = Target(name);
    auto keys = TargetKeyLookup(*kek_, {t.get()});
    auto m = ListManifests(*t, keys);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : std::vector<Manifest>{};
  }

  nlohmann::json Status() const {
    return nlohmann::json::parse(*ReadFile(data_ + "/backup-spool/status.json"));
  }
  nlohmann::json TargetStatus(const std::string& name) const {
    const nlohmann::json status = Status();
    for (const auto& t : status["targets"]) {
      if (t["name"] == name) return t;
    }
    return {};
  }
  // The ledger as the data directory holds it now.
  std::optional<TargetRecord> Record(const std::string& name) const {
    auto ledger = TargetLedger::Load(TargetLedgerPath(data_));
    EXPECT_TRUE(ledger.ok()) << ledger.status().ToString();
    const TargetRecord* r = ledger.ok() ? ledger->Find(name) : nullptr;
    if (r == nullptr) return std::nullopt;
    return *r;
  }

  // Restores the latest state from `name` alone; the report.
  Result<RestoreReport> RestoreLatest(const std::string& name) const {
    auto t = Target(name);
    RestoreRequest r;
    r.db_path = data_ + "/../restored-" + std::to_string(++restores_) + ".db";
    r.db_key = crypto::SecretBytes(32);
    crypto::RandomBytes(r.db_key.span());
    r.targets = {t.get()};
    r.keys = TargetKeyLookup(*kek_, {t.get()});
    r.environment = "dev";
    auto report = Restore(r);
    store::RemoveDatabaseFiles(r.db_path);
    return report;
  }

  BackupService& service() { return *service_; }
  const std::string& backups() const { return backups_; }

  FakeClock clock;
  MetricsRegistry metrics;
  scheduler::Scheduler jobs{clock, {.metrics = &metrics}};

 private:
  std::string data_;
  std::string backups_;
  std::unique_ptr<crypto::KeyProvider> kek_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<BackupService> service_;
  int64_t next_ = 0;
  mutable int restores_ = 0;
};

bool Has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

TEST(BackupService, AFreshInstallGetsASnapshotAtTheFirstRound) {
  TempDir dir;
  Service s(dir);
  EXPECT_EQ(s.jobs.RunDue(), 3) << "the round, the snapshot it asked for, the prune after it";
  for (const char* site : {"site-a", "site-b"}) {
    const auto manifests = s.Manifests(site);
    ASSERT_EQ(manifests.size(), 1U) << site;
    EXPECT_TRUE(manifests[0].verification.ok) << site;
    const auto r = s.Record(site);
    ASSERT_TRUE(r) << site;
    EXPECT_EQ(r->last_snapshot, manifests[0].id);
    EXPECT_EQ(r->lost_ms, 0);
    auto marker = ReadMarker(*s.Target(site));
    ASSERT_TRUE(marker.ok()) << marker.status().ToString();
    EXPECT_EQ(marker->id, r->id);
  }
  // Nothing more is due until the next round, and that round asks for no snapshot.
  EXPECT_EQ(s.jobs.RunDue(), 0);
  s.Tick();
  EXPECT_EQ(s.Manifests("site-a").size(), 1U);
  EXPECT_EQ(s.TargetStatus("site-a")["identity"], "ok");
}

TEST(BackupService, ATargetDeletedUnderTheServiceIsReportedAndGetsANewSnapshot) {
  TempDir dir;
  Service s(dir);
  s.jobs.RunDue();
  s.Write(5);
  s.Tick();
  const std::string old_id = s.Record("site-a")->id;
  const std::string old_snapshot = s.Manifests("site-a")[0].id;

  std::filesystem::remove_all(s.backups() + "/site-a");
  // What a command sees before the service's next round: lost, not healthy.
  {
    auto target = s.Target("site-a");
    const auto record = s.Record("site-a");
    const TargetCheck check = CheckTarget(*target, &*record);
    EXPECT_EQ(check.state, TargetState::kLost);
    EXPECT_TRUE(Has(check.reason, "gone")) << check.reason;
  }
  s.Write(3);
  s.Tick();  // the round finds it lost, makes it anew and asks for a snapshot: taken

  const auto r = s.Record("site-a");
  ASSERT_TRUE(r);
  EXPECT_NE(r->id, old_id) << "a new marker";
  EXPECT_EQ(r->losses, 1);
  EXPECT_EQ(r->last_loss_ms, UnixMillis(s.clock.Now()));
  EXPECT_EQ(r->lost_ms, 0) << "closed by the verified snapshot";
  const auto manifests = s.Manifests("site-a");
  ASSERT_EQ(manifests.size(), 1U);
  EXPECT_NE(manifests[0].id, old_snapshot);
  EXPECT_TRUE(manifests[0].verification.ok);
  EXPECT_EQ(r->last_snapshot, manifests[0].id);
  EXPECT_EQ(s.Manifests("site-b").size(), 2U) << "site-b keeps both";
  const std::string text = s.metrics.Render();
  EXPECT_TRUE(Has(text, "pactum_backup_target_losses_total{target=\"site-a\"} 1\n")) << text;
  EXPECT_TRUE(Has(text, "pactum_backup_target_lost{target=\"site-a\"} 0\n")) << text;
  EXPECT_FALSE(Has(text, "pactum_backup_target_losses_total{target=\"site-b\"}")) << text;
  EXPECT_EQ(s.TargetStatus("site-a")["losses"], 1);
  EXPECT_EQ(s.TargetStatus("site-a")["lost"], false);

  // The change log goes on to it, and site-a alone restores what was written after.
  s.Write(4);
  s.Tick();
  auto restored = s.RestoreLatest("site-a");
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->snapshot_id, manifests[0].id);
  EXPECT_EQ(restored->commits, 4);
}

TEST(BackupService, ATargetWhoseContentWasWipedIsLostToo) {
  TempDir dir;
  Service s(dir);
  s.jobs.RunDue();
  // Its directory stays, everything in it goes (rm -rf site-a/*, and the hidden .tmp).
  for (const auto& e : std::filesystem::directory_iterator(s.backups() + "/site-a")) {
    std::filesystem::remove_all(e.path());
  }
  const auto record = s.Record("site-a");
  EXPECT_EQ(CheckTarget(*s.Target("site-a"), &*record).state, TargetState::kLost);
  s.Tick();
  EXPECT_EQ(s.Record("site-a")->losses, 1);
  EXPECT_EQ(s.Manifests("site-a").size(), 1U);
}

TEST(BackupService, ASnapshotVerifiedThereThatIsGoneMeansTheTargetLostIt) {
  TempDir dir;
  Service s(dir);
  s.jobs.RunDue();
  // The marker stays; the snapshot this data directory verified there does not.
  std::filesystem::remove_all(s.backups() + "/site-b/snapshots");
  const auto before = s.Record("site-b");
  const TargetCheck check = CheckTarget(*s.Target("site-b"), &*before);
  EXPECT_EQ(check.state, TargetState::kLost);
  EXPECT_TRUE(Has(check.reason, "is gone")) << check.reason;
  s.Tick();
  EXPECT_EQ(s.Record("site-b")->losses, 1);
  EXPECT_EQ(s.Manifests("site-b").size(), 1U);
  const auto after = s.Record("site-b");
  EXPECT_EQ(CheckTarget(*s.Target("site-b"), &*after).state, TargetState::kOk);
}

TEST(BackupService, AGrowingChangeLogTakesASnapshotAtTheTransactionCount) {
  TempDir dir;
  Service s(dir, {.snapshot_after_transactions = 50});
  s.jobs.RunDue();
  ASSERT_EQ(s.Manifests("site-a").size(), 1U);
  s.Write(49);
  s.Tick();
  EXPECT_EQ(s.Manifests("site-a").size(), 1U) << "49 transactions: not yet";
  EXPECT_EQ(s.Status()["change_log"]["since_snapshot"]["transactions"], 49);
  s.Write(1);
  s.Tick();
  const auto manifests = s.Manifests("site-a");
  ASSERT_EQ(manifests.size(), 2U) << "the 50th asks for one";
  EXPECT_EQ(s.Status()["change_log"]["since_snapshot"]["transactions"], 0);
  // A restore of the latest state replays from it: nothing, not the 50 transactions.
  s.Write(3);
  s.Tick();
  auto restored = s.RestoreLatest("site-b");
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->snapshot_id, manifests[1].id);
  EXPECT_EQ(restored->commits, 3);
  EXPECT_TRUE(Has(s.metrics.Render(), "pactum_backup_change_log_since_snapshot_transactions 3\n"));
}

TEST(BackupService, AGrowingChangeLogTakesASnapshotAtTheSize) {
  TempDir dir;
  // 64 pages' worth; each transaction below writes at least two pages (20 KB of text).
  Service s(dir, {.snapshot_after_bytes = int64_t{64} * 4096});
  s.jobs.RunDue();
  int rounds = 0;
  while (s.Manifests("site-a").size() == 1 && rounds < 64) {
    s.Write(1, 20'000);
    s.Tick();
    ++rounds;
  }
  EXPECT_EQ(s.Manifests("site-a").size(), 2U);
  EXPECT_GT(rounds, 1) << "not at the first transaction";
  EXPECT_LE(rounds, 32) << "by the time 64 pages were written";
  EXPECT_LT(s.Status()["change_log"]["since_snapshot"]["page_bytes"].get<int64_t>(),
            int64_t{64} * 4096);
}

TEST(BackupService, WithoutThresholdsTheChangeLogGrowsUntilTheDailySnapshot) {
  TempDir dir;
  Service s(dir);  // both thresholds 0: off
  s.jobs.RunDue();
  for (int i = 0; i < 5; ++i) {
    s.Write(100);
    s.Tick();
  }
  EXPECT_EQ(s.Manifests("site-a").size(), 1U);
  // The clock starts at midnight UTC: 02:00 is the daily snapshot.
  s.clock.Advance(2h);
  s.jobs.RunDue();
  EXPECT_EQ(s.Manifests("site-a").size(), 2U);
  auto job = s.jobs.Job(kSnapshotJob);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->next_run_ms, UnixMillis(s.clock.Now()) + int64_t{24} * 3'600'000 - 5'000)
      << "tomorrow 02:00";
}

TEST(BackupService, RequestSnapshotWaitsForOneThatStartsAfterIt) {
  TempDir dir;
  Service s(dir);
  s.jobs.RunDue();
  const std::string first = s.Manifests("site-a")[0].id;
  s.jobs.Start();
  s.clock.Advance(1s);  // a later id than the first snapshot's
  auto result = s.service().RequestSnapshot(std::stop_token());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_NE(result->manifest.id, first);
  ASSERT_EQ(result->outcomes.size(), 2U);
  for (const TargetOutcome& o : result->outcomes) EXPECT_TRUE(o.verification.ok) << o.target;
}

TEST(BackupService, FinishAnswersAWaitingRequest) {
  TempDir dir;
  Service s(dir);
  s.jobs.RunDue();
  s.jobs.Stop();  // nothing will run the snapshot asked for
  Result<SnapshotResult> result = Internal("not yet");
  std::thread waiter([&] { result = s.service().RequestSnapshot(std::stop_token()); });
  s.service().Finish();
  waiter.join();
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
}

TEST(BackupService, ASecondOwnerIsRefused) {
  TempDir dir;
  Service s(dir);
  auto kek = std::move(crypto::LocalKeyProvider::FromBase64(kMasterKey, "dev")).value();
  store::SqliteOptions o;
  o.path = dir.File("other.db");
  o.key = testing_support::RandomKey();
  o.external_checkpoints = true;
  auto db = std::move(store::OpenSqliteDatabase(o)).value();
  FakeClock clock;
  auto second = BackupService::Open(*db, *kek, clock, LocalFileSystem(),
                                    {.data_dir = dir.File("data"),
                                     .backup_dir = dir.File("backups"),
                                     .target_names = {"site-a"}});
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace pactum::backup
