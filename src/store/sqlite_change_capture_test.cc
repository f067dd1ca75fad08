#include "store/change_capture.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "store/sqlite_database.h"
#include "store/sqlite_wal.h"
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

// All page images of the database file, read while writes are paused after folding the
// whole log into it: the state at `at`.
struct Base {
  std::vector<PageImage> pages;
  LogCursor at;
};

Base TakeBase(Database& db) {
  Base base;
  ChangeCapture* capture = db.Changes();
  EXPECT_NE(capture, nullptr);
  EXPECT_TRUE(capture
                  ->WithWritesPaused([&](ChangeReader& r) -> Status {
                    ASSIGN_OR_RETURN(base.at, r.FoldAll(""));
                    return Status::Ok();
                  })
                  .ok());
  auto reader = capture->OpenPageReader();
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

// Everything committed after `from`; the status when the log does not continue from it.
Result<CapturedChanges> ReadAfter(Database& db, const LogCursor& from) {
  CapturedChanges out;
  RETURN_IF_ERROR(db.Changes()->WithWritesPaused([&](ChangeReader& r) -> Status {
    ASSIGN_OR_RETURN(out, r.ReadSince(from, UINT32_MAX));
    return Status::Ok();
  }));
  return out;
}

uint32_t FramesAt(const LogCursor& cursor) {
  auto c = DecodeSqliteCursor(cursor);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? c->wal.frames : 0;
}

// Builds a database file from a base and the first `n` commits, under `key`.
void Rebuild(const std::string& path, const Key& key, const Base& base,
             const std::vector<CapturedCommit>& commits, size_t n) {
  auto w = EncryptedPageWriter::Create(path, key->span());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (const PageImage& p : base.pages) ASSERT_TRUE((*w)->Write(p.pgno, p.bytes).ok());
  for (size_t i = 0; i < n; ++i) {
    for (const PageImage& p : commits[i].pages) ASSERT_TRUE((*w)->Write(p.pgno, p.bytes).ok());
    ASSERT_TRUE((*w)->Truncate(commits[i].db_pages).ok());
  }
  ASSERT_TRUE((*w)->Finish().ok());
}

TEST(ChangeCapture, TheCommittedLogRebuildsTheDatabaseAtEveryTransaction) {
  TempDir dir;
  const Key key = RandomKey();
  auto db = Open(dir.File("p.db"), key);
  CreateTable(*db);
  ASSERT_TRUE(Put(*db, 1, "one").ok());
  const Base base = TakeBase(*db);

  std::vector<std::map<int64_t, std::string>> states;
  std::vector<uint64_t> observed;
  db->Changes()->SetCommitObserver([&](uint64_t mark) { observed.push_back(mark); });
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

  auto log = ReadAfter(*db, base.at);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ(log->commits.size(), observed.size());
  for (size_t i = 0; i < observed.size(); ++i) EXPECT_EQ(log->commits[i].mark, observed[i]);

  // One commit per write; the rebuilt file (under another key) holds exactly the state
  // after each.
  ASSERT_EQ(log->commits.size(), states.size());
  for (size_t n = 1; n <= log->commits.size(); ++n) {
    const std::string path = dir.File("r" + std::to_string(n) + ".db");
    const Key other = RandomKey();
    Rebuild(path, other, base, log->commits, n);
    auto rebuilt = Open(path, other, /*external=*/false);
    ASSERT_NE(rebuilt, nullptr);
    EXPECT_EQ(Contents(*rebuilt), states[n - 1]) << "after commit " << n;
  }
  // Read to its end, the log has nothing more.
  auto again = ReadAfter(*db, log->end);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->commits.empty());
  EXPECT_EQ(again->end, log->end);
}

TEST(ChangeCapture, FramesStayInTheLogUntilTheCaptureReleasesThem) {
  TempDir dir;
  const Key key = RandomKey();
  LogCursor start;
  {
    auto db = Open(dir.File("p.db"), key);
    start = TakeBase(*db).at;
    CreateTable(*db);
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(Put(*db, i, std::string(2000, 'v')).ok());
  }  // closed: no checkpoint on close
  auto db = Open(dir.File("p.db"), key);
  auto log = ReadAfter(*db, start);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  // The table and 300 inserts, all still in the log.
  EXPECT_EQ(log->commits.size(), 301U);
  const uint32_t frames = FramesAt(log->end);
  EXPECT_GT(frames, 300U);

  // Released below the threshold: nothing folds; at it, everything.
  LogCursor kept;
  LogCursor released;
  ASSERT_TRUE(db->Changes()
                  ->WithWritesPaused([&](ChangeReader& r) -> Status {
                    ASSIGN_OR_RETURN(kept, r.Release(log->end, frames + 1));
                    ASSIGN_OR_RETURN(released, r.Release(log->end, frames));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(kept, log->end);
  EXPECT_NE(released, log->end);
  auto decoded = DecodeSqliteCursor(released);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->folded);
  // The log then restarts, and the capture continues into the new one.
  ASSERT_TRUE(Put(*db, 1000, "after the release").ok());
  auto next = ReadAfter(*db, released);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->commits.size(), 1U);
  EXPECT_EQ(FramesAt(next->end), next->commits[0].mark);
}

TEST(ChangeCapture, ALogRestartedWithoutTheCaptureDoesNotContinue) {
  TempDir dir;
  const Key key = RandomKey();
  auto db = Open(dir.File("p.db"), key);
  CreateTable(*db);
  const Base base = TakeBase(*db);
  ASSERT_TRUE(Put(*db, 1, "after").ok());  // the writer restarts the log
  auto fresh = ReadAfter(*db, base.at);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  ASSERT_EQ(fresh->commits.size(), 1U);
  // The same position, not folded by the capture: the restart was someone else's.
  auto cursor = DecodeSqliteCursor(base.at);
  ASSERT_TRUE(cursor.ok());
  cursor->folded = false;
  EXPECT_EQ(ReadAfter(*db, EncodeSqliteCursor(*cursor)).status().code(),
            StatusCode::kFailedPrecondition);
  // No position, or one that is not this engine's.
  EXPECT_EQ(ReadAfter(*db, "").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAfter(*db, "sqlite-wal-v1 1 2 3").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ReadAfter(*db, base.at + " 7").status().code(), StatusCode::kDataLoss);
}

TEST(ChangeCapture, AnAlteredFrameEndsTheLogBeforeItsTransaction) {
  TempDir dir;
  const Key key = RandomKey();
  auto db = Open(dir.File("p.db"), key);
  CreateTable(*db);
  const Base base = TakeBase(*db);
  ASSERT_TRUE(Put(*db, 1, "kept").ok());
  ASSERT_TRUE(Put(*db, 2, "lost").ok());
  auto before = ReadAfter(*db, base.at);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->commits.size(), 2U);
  {  // flip a byte in the page of the last frame (the second transaction's commit)
    std::fstream f(dir.File("p.db-wal"), std::ios::in | std::ios::out | std::ios::binary);
    const int64_t offset = 32 + int64_t{FramesAt(before->end) - 1} * (24 + 4096) + 24 + 100;
    f.seekg(offset);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x40);
    f.seekp(offset);
    f.write(&c, 1);
  }
  auto after = ReadAfter(*db, base.at);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->commits.size(), 1U);
  EXPECT_EQ(after->commits[0].mark, before->commits[0].mark);
}

TEST(ChangeCapture, WithoutExternalCheckpointsSqliteCheckpointsItself) {
  TempDir dir;
  const Key key = RandomKey();
  auto db = Open(dir.File("p.db"), key, /*external=*/false);
  EXPECT_FALSE(db->Changes()->retains_log());
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
  std::array<uint8_t, kPageImageBytes> page{};
  page[kPageImageBytes - 1] = 1;  // the reserved tail holds the nonce and tag
  EXPECT_EQ((*w)->Write(2, page).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*w)->Write(0, std::array<uint8_t, kPageImageBytes>{}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE((*w)->Finish().ok());
}

}  // namespace
}  // namespace pactum::store
