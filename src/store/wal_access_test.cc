#include "store/wal_access.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "store/sqlite_database.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::store {
namespace {

using testing_support::RandomKey;
using testing_support::TempDir;
using Key = std::shared_ptr<const crypto::SecretBytes>;

std::unique_ptr<Database> Open(const std::string& path, const Key& key, bool external = true) {
  SqliteOptions o;
  o.path = path;
  o.key = key;
  o.external_checkpoints = external;
  auto db = OpenSqliteDatabase(o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

Status Put(Database& db, int64_t k, const std::string& v) {
  return db.Write([&](Session& s) -> Status {
    return s
        .Execute("INSERT INTO wal_t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = $2",
                 {k, v})
        .status();
  });
}

std::map<int64_t, std::string> Contents(Database& db) {
  std::map<int64_t, std::string> out;
  EXPECT_TRUE(db.Read([&](Session& s) -> Status {
                  ASSIGN_OR_RETURN(auto rows, s.Query("SELECT k, v FROM wal_t"));
                  for (const Row& r : rows) out[r.Int(0)] = r.Text(1);
                  return Status::Ok();
                }).ok());
  return out;
}

void CreateTable(Database& db) {
  ASSERT_TRUE(
      db.Write([](Session& s) -> Status {
          return s.Execute("CREATE TABLE wal_t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)").status();
        }).ok());
}

// All page images of the database file, read while writes are paused after a full
// checkpoint: the state at `at`.
struct Base {
  std::vector<PageImage> pages;
  WalPosition at;
};

Base TakeBase(Database& db) {
  Base base;
  WalAccess* wal = db.Wal();
  EXPECT_NE(wal, nullptr);
  EXPECT_TRUE(wal->WithWritesPaused([&](WalReader& r) -> Status {
                   ASSIGN_OR_RETURN(WalPosition gen, r.Generation());
                   ASSIGN_OR_RETURN(WalRead all, r.ReadCommitted(gen, UINT32_MAX));
                   ASSIGN_OR_RETURN(CheckpointResult c, r.Checkpoint(true));
                   EXPECT_TRUE(c.complete());
                   EXPECT_EQ(static_cast<uint32_t>(c.log_frames), all.end.frames);
                   base.at = all.end;
                   return Status::Ok();
                 })
                  .ok());
  auto reader = wal->OpenPageReader();
  EXPECT_TRUE(reader.ok());
  auto count = (*reader)->PageCount();
  EXPECT_TRUE(count.ok());
  for (uint32_t p = 1; p <= *count; ++p) {
    PageImage& page = base.pages.emplace_back();
    page.pgno = p;
    EXPECT_TRUE((*reader)->Read(p, page.bytes).ok());
  }
  return base;
}

// Everything committed after `from`. A position whose generation was fully checkpointed
// continues at the start of the next one (SQLite restarts the log after such a
// checkpoint, with salt-1 one higher).
WalRead ReadAfter(Database& db, const WalPosition& from) {
  WalRead out;
  EXPECT_TRUE(db.Wal()
                  ->WithWritesPaused([&](WalReader& r) -> Status {
                    ASSIGN_OR_RETURN(WalPosition start, r.Generation());
                    if (start.SameGeneration(from)) {
                      start = from;
                    } else {
                      EXPECT_EQ(start.salt1, from.salt1 + 1);
                    }
                    ASSIGN_OR_RETURN(out, r.ReadCommitted(start, UINT32_MAX));
                    return Status::Ok();
                  })
                  .ok());
  return out;
}

// Builds a database file from a base and the first `n` commits, under `key`.
void Rebuild(const std::string& path, const Key& key, const Base& base,
             const std::vector<WalCommit>& commits, size_t n) {
  auto w = EncryptedPageWriter::Create(path, key->span());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (const PageImage& p : base.pages) ASSERT_TRUE((*w)->Write(p.pgno, p.bytes).ok());
  for (size_t i = 0; i < n; ++i) {
    for (const PageImage& p : commits[i].pages) ASSERT_TRUE((*w)->Write(p.pgno, p.bytes).ok());
    ASSERT_TRUE((*w)->Truncate(commits[i].db_pages).ok());
  }
  ASSERT_TRUE((*w)->Finish().ok());
}

TEST(WalAccess, TheCommittedLogRebuildsTheDatabaseAtEveryTransaction) {
  TempDir dir;
  const Key key = RandomKey();
  auto db = Open(dir.File("p.db"), key);
  CreateTable(*db);
  ASSERT_TRUE(Put(*db, 1, "one").ok());
  const Base base = TakeBase(*db);

  std::vector<std::map<int64_t, std::string>> states;
  std::vector<uint32_t> observed;
  db->Wal()->SetCommitObserver([&](uint32_t frames) { observed.push_back(frames); });
  for (int i = 2; i <= 40; ++i) {
    ASSERT_TRUE(Put(*db, i, std::string(static_cast<size_t>(i) * 300, 'x')).ok());
    states.push_back(Contents(*db));
    if (i % 7 == 0) {
      ASSERT_TRUE(Put(*db, 1, "one v" + std::to_string(i)).ok());
      states.push_back(Contents(*db));
    }
  }
  ASSERT_TRUE(db->Write([](Session& s) -> Status {  // shrinks the database
                  return s.Execute("DELETE FROM wal_t WHERE k > 3").status();
                })
                  .ok());
  states.push_back(Contents(*db));

  const WalRead log = ReadAfter(*db, base.at);
  ASSERT_EQ(log.commits.size(), observed.size());
  for (size_t i = 0; i < observed.size(); ++i) EXPECT_EQ(log.commits[i].end_frame, observed[i]);

  // One commit per write; the rebuilt file (under another key) holds exactly the state
  // after each.
  ASSERT_EQ(log.commits.size(), states.size());
  for (size_t n = 1; n <= log.commits.size(); ++n) {
    const std::string path = dir.File("r" + std::to_string(n) + ".db");
    const Key other = RandomKey();
    Rebuild(path, other, base, log.commits, n);
    auto rebuilt = Open(path, other, /*external=*/false);
    ASSERT_NE(rebuilt, nullptr);
    EXPECT_EQ(Contents(*rebuilt), states[n - 1]) << "after commit " << n;
  }
}

TEST(WalAccess, FramesStayInTheLogUntilTheBackupSideCheckpoints) {
  TempDir dir;
  const Key key = RandomKey();
  WalPosition gen;
  {
    auto db = Open(dir.File("p.db"), key);
    CreateTable(*db);
    ASSERT_TRUE(db->Wal()
                    ->WithWritesPaused([&](WalReader& r) -> Status {
                      ASSIGN_OR_RETURN(gen, r.Generation());
                      return Status::Ok();
                    })
                    .ok());
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(Put(*db, i, std::string(2000, 'v')).ok());
  }  // closed: no checkpoint on close
  auto db = Open(dir.File("p.db"), key);
  const WalRead log = ReadAfter(*db, WalPosition{gen.salt1, gen.salt2, gen.checkpoint_seq, 0,
                                                 gen.checksum, gen.big_endian_checksum});
  // Migrations, the table and 300 inserts, all still in the first generation.
  EXPECT_GE(log.commits.size(), 301U);
  EXPECT_GT(log.end.frames, 300U);
}

TEST(WalAccess, ACheckpointThatCopiedEverythingStartsANewGeneration) {
  TempDir dir;
  const Key key = RandomKey();
  auto db = Open(dir.File("p.db"), key);
  CreateTable(*db);
  const Base base = TakeBase(*db);
  ASSERT_TRUE(Put(*db, 1, "after").ok());  // the writer restarts the log
  WalPosition now;
  Status read_old;
  ASSERT_TRUE(db->Wal()
                  ->WithWritesPaused([&](WalReader& r) -> Status {
                    ASSIGN_OR_RETURN(now, r.Generation());
                    read_old = r.ReadCommitted(base.at, UINT32_MAX).status();
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(now.salt1, base.at.salt1 + 1);
  EXPECT_FALSE(now.SameGeneration(base.at));
  EXPECT_EQ(read_old.code(), StatusCode::kFailedPrecondition);
  const WalRead fresh = ReadAfter(*db, now);
  ASSERT_EQ(fresh.commits.size(), 1U);
  EXPECT_EQ(fresh.commits[0].end_frame, fresh.end.frames);
}

TEST(WalAccess, AnAlteredFrameEndsTheLogBeforeItsTransaction) {
  TempDir dir;
  const Key key = RandomKey();
  auto db = Open(dir.File("p.db"), key);
  CreateTable(*db);
  const Base base = TakeBase(*db);
  ASSERT_TRUE(Put(*db, 1, "kept").ok());
  ASSERT_TRUE(Put(*db, 2, "lost").ok());
  const WalRead before = ReadAfter(*db, base.at);
  ASSERT_EQ(before.commits.size(), 2U);
  {  // flip a byte in the page of the last frame (the second transaction's commit)
    std::fstream f(dir.File("p.db-wal"), std::ios::in | std::ios::out | std::ios::binary);
    const int64_t offset = 32 + int64_t{before.end.frames - 1} * (24 + 4096) + 24 + 100;
    f.seekg(offset);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x40);
    f.seekp(offset);
    f.write(&c, 1);
  }
  const WalRead after = ReadAfter(*db, base.at);
  ASSERT_EQ(after.commits.size(), 1U);
  EXPECT_EQ(after.commits[0].end_frame, before.commits[0].end_frame);
}

TEST(WalAccess, WithoutExternalCheckpointsSqliteCheckpointsItself) {
  TempDir dir;
  const Key key = RandomKey();
  auto db = Open(dir.File("p.db"), key, /*external=*/false);
  EXPECT_FALSE(db->Wal()->external_checkpoints());
  CreateTable(*db);
  for (int i = 0; i < 1500; ++i) ASSERT_TRUE(Put(*db, i % 50, std::string(100, 'a')).ok());
  // The automatic checkpoint (at 1000 frames) let the log restart instead of growing.
  EXPECT_LT(std::filesystem::file_size(dir.File("p.db-wal")), 1600U * (24 + 4096));
}

TEST(EncryptedPageWriter, RefusesAnExistingFileAndAPageWithoutRoomForItsSeal) {
  TempDir dir;
  const Key key = RandomKey();
  { std::ofstream(dir.File("there.db")) << "x"; }
  EXPECT_FALSE(EncryptedPageWriter::Create(dir.File("there.db"), key->span()).ok());
  auto w = EncryptedPageWriter::Create(dir.File("new.db"), key->span());
  ASSERT_TRUE(w.ok());
  std::array<uint8_t, kWalPageBytes> page{};
  page[kWalPageBytes - 1] = 1;  // the reserved tail holds the nonce and tag
  EXPECT_EQ((*w)->Write(2, page).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*w)->Write(0, std::array<uint8_t, kWalPageBytes>{}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE((*w)->Finish().ok());
}

}  // namespace
}  // namespace pactum::store
