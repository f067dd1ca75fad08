#pragma once

// A database with a change log, a spool and two local targets (site-a behind a fault
// injector), all in one temporary directory, with a fake clock for commit times: the
// real encrypted SQLite store and real local-directory targets, for the backup tests.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "backup/change_log.h"
#include "backup/local_target.h"
#include "backup/restore.h"
#include "backup/snapshot.h"
#include "crypto/random.h"
#include "store/change_capture.h"
#include "store/sqlite_database.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fault_backup_target.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::testing_support {

// The rows of the rig's one table, key -> value.
using RigContents = std::map<int64_t, std::string>;

class BackupRig {
 public:
  explicit BackupRig(const TempDir& dir, const std::string& suffix = "")
      : dir_(dir.path() + "/rig" + suffix) {
    std::filesystem::create_directories(dir_);
    key_.version = 1;
    key_.key = crypto::SecretBytes(32);
    crypto::RandomBytes(key_.key.span());
    db_key_ = RandomKey();
    OpenDatabase();
    spool_ = Target("spool");
    site_a_real_ = Target("site-a");
    site_b_ = Target("site-b");
    site_a_ = std::make_unique<FaultBackupTarget>(*site_a_real_);
    OpenLog();
  }

  std::unique_ptr<backup::BackupTarget> Target(const std::string& name) {
    auto t = backup::OpenLocalTarget(LocalFileSystem(), name, dir_ + "/" + name);
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
    backup::BackupKey copy;
    copy.version = key_.version;
    copy.key = crypto::SecretBytes::CopyOf(key_.key.span());
    auto log = backup::ChangeLog::Open(
        *db_->Changes(), std::move(copy), *spool_, dir_ + "/state.json", both(), clock,
        backup::ChangeLogOptions{.checkpoint_file = CheckpointFile()});
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

  // A write by a connection that checkpoints on its own (as a process without backups
  // configured would): the change log loses continuity with the WAL.
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

  RigContents Live() { return Read(*db_); }

  static RigContents Read(store::Database& db) {
    RigContents out;
    EXPECT_TRUE(db.Read([&](store::Session& s) -> Status {
                    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT k, v FROM rig_t"));
                    for (const store::Row& r : rows) out[r.Int(0)] = r.Text(1);
                    return Status::Ok();
                  }).ok());
    return out;
  }

  Result<backup::SnapshotResult> Snapshot() {
    backup::SnapshotOptions o;
    o.scratch_dir = dir_ + "/scratch";
    o.environment = "dev";
    o.checkpoint_file = CheckpointFile();
    return backup::TakeSnapshot(*log_, *db_->Changes(), key_, *spool_, both(), clock, o);
  }

  Status Ship() {
    RETURN_IF_ERROR(log_->Capture());
    return log_->Upload();
  }

  backup::BackupKeyLookup Keys() const {
    return [this](uint32_t v) -> Result<crypto::SecretBytes> {
      if (v != key_.version) return NotFound("no such backup key version");
      return crypto::SecretBytes::CopyOf(key_.key.span());
    };
  }

  // A point-in-time restore (to the end of the log without `at_ms`) from `targets`
  // (both when empty) into a fresh file, read back.
  Result<std::pair<backup::RestoreReport, RigContents>> RestoreAt(
      std::optional<int64_t> at_ms, std::vector<backup::BackupTarget*> targets = {}) {
    backup::RestoreRequest r;
    r.at_ms = at_ms;
    r.db_path = NextPath();
    r.db_key = crypto::SecretBytes(32);
    crypto::RandomBytes(r.db_key.span());
    r.targets = targets.empty() ? both() : std::move(targets);
    r.keys = Keys();
    r.environment = "dev";
    ASSIGN_OR_RETURN(backup::RestoreReport report, backup::Restore(r));
    ASSIGN_OR_RETURN(RigContents contents, ReadFile(r.db_path, r.db_key.span()));
    return std::make_pair(std::move(report), std::move(contents));
  }

  // Snapshot `id` alone from `target` (no change log), read back.
  Result<RigContents> SnapshotContents(backup::BackupTarget& target, const std::string& id) {
    const std::string path = NextPath();
    crypto::SecretBytes key(32);
    crypto::RandomBytes(key.span());
    ASSIGN_OR_RETURN(auto writer, store::EncryptedPageWriter::Create(path, key.span()));
    RETURN_IF_ERROR(backup::WriteSnapshotFile(target, Keys(), id, *writer).status());
    RETURN_IF_ERROR(writer->Finish());
    return ReadFile(path, key.span());
  }

  const std::string& dir() const { return dir_; }
  // The audit checkpoint file whose lines the log and the snapshots carry (absent until a
  // test writes it).
  std::string CheckpointFile() const { return dir_ + "/audit-checkpoints.jsonl"; }
  backup::ChangeLog& log() { return *log_; }
  store::Database& db() { return *db_; }
  FaultBackupTarget& site_a() { return *site_a_; }
  backup::BackupTarget& site_b() { return *site_b_; }
  backup::BackupTarget& spool() { return *spool_; }
  std::vector<backup::BackupTarget*> both() { return {site_a_.get(), site_b_.get()}; }

  FakeClock clock;

 private:
  std::string NextPath() { return dir_ + "/restored-" + std::to_string(++restores_) + ".db"; }

  // Reads a restored database file, then removes it.
  static Result<RigContents> ReadFile(const std::string& path, std::span<const uint8_t> key) {
    store::SqliteOptions o;
    o.path = path;
    o.key = std::make_shared<crypto::SecretBytes>(crypto::SecretBytes::CopyOf(key));
    ASSIGN_OR_RETURN(auto db, store::OpenSqliteDatabase(o));
    RigContents contents = Read(*db);
    db.reset();
    store::RemoveDatabaseFiles(path);
    return contents;
  }

  std::string dir_;
  backup::BackupKey key_;
  std::shared_ptr<const crypto::SecretBytes> db_key_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<backup::BackupTarget> spool_;
  std::unique_ptr<backup::BackupTarget> site_a_real_;
  std::unique_ptr<FaultBackupTarget> site_a_;
  std::unique_ptr<backup::BackupTarget> site_b_;
  std::unique_ptr<backup::ChangeLog> log_;
  int restores_ = 0;
};

// The names of the objects under `prefix` on `target`.
inline std::vector<std::string> ObjectNames(backup::BackupTarget& target, std::string_view prefix) {
  std::vector<std::string> out;
  auto list = target.List(prefix);
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  if (!list.ok()) return out;
  out.reserve(list->size());
  for (const backup::ObjectInfo& o : *list) out.push_back(o.name);
  return out;
}

}  // namespace pactum::testing_support
