#include "store/encrypted_vfs.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "crypto/random.h"
#include "store/sqlite_database.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::store {
namespace {

using testing_support::RandomKey;
using testing_support::TempDir;
using Key = std::shared_ptr<const crypto::SecretBytes>;

constexpr int64_t kPage = kEncryptedPageSize;
constexpr int64_t kFrame = 24 + kPage;
constexpr int64_t kWalHeader = 32;

// Creates an encrypted database file the way the server does.
void CreateDatabase(const std::string& path, const Key& key) {
  SqliteOptions o;
  o.path = path;
  o.key = key;
  auto db = OpenSqliteDatabase(o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
}

// A raw SQLite connection through the shim, for what the Database interface does not
// offer (checkpoints, pragmas, extended error codes).
class Raw {
 public:
  Raw(const std::string& path, const Key& key) {
    auto vfs = EncryptedVfs::Register(crypto::SecretBytes::CopyOf(key->span()));
    EXPECT_TRUE(vfs.ok());
    vfs_ = std::move(vfs).value();
    rc_ = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE,
                          vfs_->name());
    sqlite3_extended_result_codes(db_, 1);
    Exec("PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=0;");
  }
  ~Raw() { sqlite3_close_v2(db_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  int open_rc() const { return rc_; }
  const char* vfs_name() const { return vfs_->name(); }
  sqlite3* db() { return db_; }

  int Exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    return rc;
  }

  // Runs a query returning one integer; the SQLite result code on failure.
  int Int(const std::string& sql, int64_t* out) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      *out = sqlite3_column_int64(stmt, 0);
      rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  }

  // The first column of the first row, or "rc=<code>" when the statement fails.
  std::string Text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    std::string out = "rc=" + std::to_string(rc);
    if (rc == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  std::unique_ptr<EncryptedVfs> vfs_;
  sqlite3* db_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

// Contract-like rows, an index and a full-text index, each holding `marker`.
void WriteContracts(sqlite3* db, const std::string& marker, int rows, int first_id = 0) {
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(
                db,
                "CREATE TABLE IF NOT EXISTS sample_contracts (id INTEGER PRIMARY KEY, "
                "title TEXT, counterparty TEXT, notes TEXT);"
                "CREATE INDEX IF NOT EXISTS sample_contracts_cp ON sample_contracts(counterparty);"
                "CREATE VIRTUAL TABLE IF NOT EXISTS sample_contracts_fts USING "
                "fts5(title, notes);"
                "BEGIN;",
                nullptr, nullptr, &err),
            SQLITE_OK)
      << err;
  sqlite3_stmt* ins = nullptr;
  sqlite3_stmt* fts = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "INSERT INTO sample_contracts VALUES (?, ?, ?, ?)", -1, &ins, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "INSERT INTO sample_contracts_fts (rowid, title, notes) VALUES "
                               "(?, ?, ?)",
                               -1, &fts, nullptr),
            SQLITE_OK);
  for (int i = first_id; i < first_id + rows; ++i) {
    const std::string title = "Master services agreement " + marker + " #" + std::to_string(i);
    const std::string cp = "Counterparty " + marker + " GmbH";
    // Every 50th row carries notes longer than a page (overflow pages).
    const std::string notes =
        i % 50 == 0 ? std::string(6000, 'n') + marker : "Renewal notice 90 days " + marker;
    sqlite3_bind_int(ins, 1, i);
    sqlite3_bind_text(ins, 2, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, cp.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 4, notes.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
    sqlite3_bind_int(fts, 1, i);
    sqlite3_bind_text(fts, 2, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(fts, 3, notes.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(fts), SQLITE_DONE);
    sqlite3_reset(fts);
  }
  sqlite3_finalize(ins);
  sqlite3_finalize(fts);
  ASSERT_EQ(sqlite3_exec(db, "COMMIT;", nullptr, nullptr, nullptr), SQLITE_OK);
}

std::string Utf16(const std::string& ascii, bool big_endian) {
  std::string out;
  for (char c : ascii) {
    if (big_endian) out.push_back('\0');
    out.push_back(c);
    if (!big_endian) out.push_back('\0');
  }
  return out;
}

// Every file under `dir` whose bytes contain the marker in UTF-8 or UTF-16.
std::vector<std::string> FilesHolding(const std::string& dir, const std::string& marker) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& needle : {marker, Utf16(marker, false), Utf16(marker, true)}) {
      if (bytes.find(needle) != std::string::npos) {
        found.push_back(entry.path().filename().string());
        break;
      }
    }
  }
  return found;
}

void FlipByte(const std::string& path, int64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekg(offset);
  char c = 0;
  f.read(&c, 1);
  ASSERT_TRUE(f.good()) << "offset " << offset << " lies past the end of " << path;
  c = static_cast<char>(c ^ 0x20);
  f.seekp(offset);
  f.write(&c, 1);
}

std::string ReadBytes(const std::string& path, int64_t offset, int n) {
  std::ifstream f(path, std::ios::binary);
  f.seekg(offset);
  std::string out(static_cast<size_t>(n), '\0');
  f.read(out.data(), n);
  return out;
}

void WriteBytes(const std::string& path, int64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// True when reading shows a page that failed authentication: a query fails with
// SQLITE_IOERR_DATA, or integrity_check (which reports unreadable pages as text) names it.
bool ShowsAuthenticationFailure(Raw& raw) {
  const std::string code = std::to_string(SQLITE_IOERR_DATA);
  const std::string check = raw.Text("PRAGMA integrity_check");
  // integrity_check words an unreadable page as "unable to get the page. error code=N"
  // on tree pages and "failed to get page N" on overflow and freelist pages.
  return check.find("rc=" + code) != std::string::npos ||
         check.find("error code=" + code) != std::string::npos ||
         check.find("failed to get page") != std::string::npos;
}

// Reads everything the workload wrote; the SQLite result code of the first failure.
int ReadEverything(Raw& raw) {
  int64_t n = 0;
  int rc = raw.Int("SELECT sum(length(title) + length(notes)) FROM sample_contracts", &n);
  if (rc != SQLITE_OK) return rc;
  rc = raw.Int(
      "SELECT count(*) FROM sample_contracts_fts WHERE sample_contracts_fts MATCH 'agreement'", &n);
  if (rc != SQLITE_OK) return rc;
  return raw.Int(
      "SELECT count(*) FROM sample_contracts INDEXED BY sample_contracts_cp WHERE counterparty > "
      "''",
      &n);
}

std::string Marker() { return "PCTMARK" + crypto::RandomHex(8); }

// Lines of the operator log at `level` whose text holds `needle`.
size_t LogLines(const std::string& log, const std::string& level, const std::string& needle) {
  size_t n = 0;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    if (line.find("\"level\":\"" + level + "\"") != std::string::npos &&
        line.find(needle) != std::string::npos) {
      ++n;
    }
    start = end + 1;
  }
  return n;
}

TEST(EncryptedVfs, NoContractTextLiesOnDiskInTheDatabaseOrTheWal) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  const std::string marker = Marker();
  Raw raw(path, key);
  ASSERT_EQ(raw.open_rc(), SQLITE_OK);
  WriteContracts(raw.db(), marker, 2000);
  ASSERT_GT(std::filesystem::file_size(path + "-wal"), 100U * kPage) << "the WAL holds the data";
  EXPECT_EQ(FilesHolding(dir.path(), marker), std::vector<std::string>{});
  ASSERT_EQ(raw.Exec("PRAGMA wal_checkpoint(TRUNCATE);"), SQLITE_OK);
  ASSERT_GT(std::filesystem::file_size(path), 100U * kPage) << "the database holds the data";
  EXPECT_EQ(FilesHolding(dir.path(), marker), std::vector<std::string>{});
  // The data is really there, and readable through the key.
  int64_t hits = 0;
  ASSERT_EQ(raw.Int("SELECT count(*) FROM sample_contracts_fts WHERE sample_contracts_fts MATCH '" +
                        marker + "'",
                    &hits),
            SQLITE_OK);
  EXPECT_EQ(hits, 2000);
  EXPECT_EQ(raw.Text("PRAGMA integrity_check"), "ok");
}

TEST(EncryptedVfs, TheScanFindsTheMarkerInAPlainDatabase) {
  // The control for the test above: the same workload without the shim is found.
  TempDir dir;
  const std::string marker = Marker();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.File("plain.db").c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA encoding='UTF-16le';", nullptr, nullptr,
               nullptr);
  WriteContracts(db, marker, 100);
  EXPECT_EQ(FilesHolding(dir.path(), marker).size(), 1U);
  sqlite3_close(db);
}

TEST(EncryptedVfs, TheFileIsRecognisedAndItsLayoutFixed) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  EXPECT_EQ(*ClassifyDatabaseFile(path), DatabaseFileKind::kNew);
  CreateDatabase(path, key);
  EXPECT_EQ(*ClassifyDatabaseFile(path), DatabaseFileKind::kEncrypted);
  Raw raw(path, key);
  int64_t page_size = 0;
  ASSERT_EQ(raw.Int("PRAGMA page_size", &page_size), SQLITE_OK);
  EXPECT_EQ(page_size, kPage);
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
  // Changing the page size of an existing file would leave no room for nonce and tag.
  ASSERT_EQ(raw.Exec("PRAGMA page_size=8192; VACUUM;"), SQLITE_OK);
  ASSERT_EQ(raw.Int("PRAGMA page_size", &page_size), SQLITE_OK);
  EXPECT_EQ(page_size, kPage) << "WAL mode keeps the page size";
}

TEST(EncryptedVfs, AFlippedByteAnywhereInAPageIsACorruptionError) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  {
    Raw raw(path, key);
    WriteContracts(raw.db(), Marker(), 400);
    ASSERT_EQ(raw.Exec("PRAGMA wal_checkpoint(TRUNCATE);"), SQLITE_OK);
  }
  const auto pages = static_cast<int64_t>(std::filesystem::file_size(path) / kPage);
  ASSERT_GT(pages, 20);
  const std::string pristine = dir.File("pristine.db");
  std::filesystem::copy_file(path, pristine);
  // Page 1 (magic, header, body), a middle page's content, its nonce, its tag, last page.
  const int64_t middle = (pages / 2) * kPage;
  for (const int64_t offset : {int64_t{3}, int64_t{40}, int64_t{3000}, middle + 7,
                               middle + kPage - 20, middle + kPage - 1, pages * kPage - 1000}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    std::filesystem::copy_file(pristine, path, std::filesystem::copy_options::overwrite_existing);
    FlipByte(path, offset);
    Raw raw(path, key);
    if (raw.open_rc() != SQLITE_OK) {  // page 1 is read while opening
      EXPECT_EQ(raw.open_rc(), SQLITE_IOERR_DATA) << sqlite3_errstr(raw.open_rc());
      continue;
    }
    const int rc = ReadEverything(raw);
    EXPECT_TRUE(rc == SQLITE_IOERR_DATA || rc == SQLITE_OK) << sqlite3_errstr(rc);
    EXPECT_TRUE(ShowsAuthenticationFailure(raw)) << raw.Text("PRAGMA integrity_check");
  }
}

TEST(EncryptedVfs, ThroughTheDatabaseInterfaceCorruptionIsDataLoss) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  SqliteOptions o;
  o.path = path;
  o.key = key;
  {
    auto db = OpenSqliteDatabase(o);
    ASSERT_TRUE(db.ok());
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE((*db)
                      ->Write([&](Session& s) {
                        return s
                            .Execute("INSERT INTO tenants (slug, created_at) VALUES ($1, $2)",
                                     {"tenant-" + std::to_string(i), std::string(900, 't')})
                            .status();
                      })
                      .ok());
    }
  }  // closing folds the WAL into the database
  const auto pages = static_cast<int64_t>(std::filesystem::file_size(path) / kPage);
  ASSERT_GT(pages, 20);
  const std::string pristine = dir.File("pristine.db");
  std::filesystem::copy_file(path, pristine);
  FlipByte(path, (pages - 2) * kPage + 500);  // a leaf of the tenants table
  {
    auto db = OpenSqliteDatabase(o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    Status s = (*db)->Read([](Session& session) {
      return session.Query("SELECT sum(length(created_at)) FROM tenants").status();
    });
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
  }
  std::filesystem::copy_file(pristine, path, std::filesystem::copy_options::overwrite_existing);
  FlipByte(path, 99);  // page 1: the database header
  auto db = OpenSqliteDatabase(o);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kDataLoss) << db.status().ToString();
}

TEST(EncryptedVfs, SwappedOrReplayedPagesAreDetected) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  {
    Raw raw(path, key);
    WriteContracts(raw.db(), Marker(), 400);
    ASSERT_EQ(raw.Exec("PRAGMA wal_checkpoint(TRUNCATE);"), SQLITE_OK);
  }
  const std::string pristine = dir.File("pristine.db");
  std::filesystem::copy_file(path, pristine);
  // Swap pages 4 and 5: each is intact, but in the other's place.
  const std::string p4 = ReadBytes(path, 3 * kPage, kPage);
  const std::string p5 = ReadBytes(path, 4 * kPage, kPage);
  WriteBytes(path, 3 * kPage, p5);
  WriteBytes(path, 4 * kPage, p4);
  {
    Raw raw(path, key);
    EXPECT_TRUE(ShowsAuthenticationFailure(raw)) << raw.Text("PRAGMA integrity_check");
  }
  // A copy of page 6 placed over page 7.
  std::filesystem::copy_file(pristine, path, std::filesystem::copy_options::overwrite_existing);
  WriteBytes(path, 6 * kPage, ReadBytes(path, 5 * kPage, kPage));
  Raw raw(path, key);
  EXPECT_TRUE(ShowsAuthenticationFailure(raw)) << raw.Text("PRAGMA integrity_check");
}

TEST(EncryptedVfs, AWrongKeyIsACorruptionErrorNotWrongData) {
  TempDir dir;
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, RandomKey());
  SqliteOptions o;
  o.path = path;
  o.key = RandomKey();
  auto db = OpenSqliteDatabase(o);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(db.status().message().find("key"), std::string::npos) << db.status().message();
}

TEST(EncryptedVfs, AWrongKeyNeverReachesCrashRecoveryOrTheWal) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  // A crash image: committed rows only in the WAL.
  const std::string image = dir.File("image");
  {
    Raw writer(path, key);
    WriteContracts(writer.db(), Marker(), 300);
    std::filesystem::create_directory(image);
    std::filesystem::copy_file(path, image + "/pactum.db");
    std::filesystem::copy_file(path + "-wal", image + "/pactum.db-wal");
  }
  const auto wal_size = std::filesystem::file_size(image + "/pactum.db-wal");
  SqliteOptions o;
  o.path = image + "/pactum.db";
  o.key = RandomKey();  // e.g. a key file restored from another backup
  EXPECT_EQ(OpenSqliteDatabase(o).status().code(), StatusCode::kDataLoss);
  ASSERT_TRUE(std::filesystem::exists(image + "/pactum.db-wal"));
  EXPECT_EQ(std::filesystem::file_size(image + "/pactum.db-wal"), wal_size) << "WAL untouched";
  Raw right(image + "/pactum.db", key);
  int64_t rows = 0;
  ASSERT_EQ(right.Int("SELECT count(*) FROM sample_contracts", &rows), SQLITE_OK);
  EXPECT_EQ(rows, 300);
}

TEST(EncryptedVfs, AFlippedByteInAWalPageIsACorruptionErrorOnRead) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  Raw writer(path, key);  // stays open: the WAL is live, as in a running server
  WriteContracts(writer.db(), Marker(), 400);
  const auto frames =
      static_cast<int64_t>((std::filesystem::file_size(path + "-wal") - kWalHeader) / kFrame);
  ASSERT_GT(frames, 10);
  // One transaction on a fresh WAL: each page appears in exactly one frame.
  FlipByte(path + "-wal", kWalHeader + (frames / 2) * kFrame + 24 + 1000);
  Raw reader(path, key);
  ASSERT_EQ(reader.open_rc(), SQLITE_OK);
  EXPECT_TRUE(ShowsAuthenticationFailure(reader)) << reader.Text("PRAGMA integrity_check");
}

TEST(EncryptedVfs, AWalAlteredBeforeCrashRecoveryEndsTheLogAtTheAlteredFrame) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  Raw writer(path, key);
  WriteContracts(writer.db(), Marker(), 200, 0);  // transaction 1
  const auto t1_frames =
      static_cast<int64_t>((std::filesystem::file_size(path + "-wal") - kWalHeader) / kFrame);
  WriteContracts(writer.db(), Marker(), 200, 1000);  // transaction 2
  // Two crash images (database and WAL as a kill -9 leaves them, no wal-index).
  for (const bool alter : {false, true}) {
    SCOPED_TRACE(alter ? "altered" : "intact");
    const std::string image = dir.File(alter ? "altered" : "intact");
    std::filesystem::create_directory(image);
    std::filesystem::copy_file(path, image + "/pactum.db");
    std::filesystem::copy_file(path + "-wal", image + "/pactum.db-wal");
    if (alter) FlipByte(image + "/pactum.db-wal", kWalHeader + t1_frames * kFrame + 24 + 9);
    testing::internal::CaptureStderr();
    {
      Raw raw(image + "/pactum.db", key);
      ASSERT_EQ(raw.open_rc(), SQLITE_OK);
      int64_t rows = 0;
      ASSERT_EQ(raw.Int("SELECT count(*) FROM sample_contracts", &rows), SQLITE_OK);
      EXPECT_EQ(rows, alter ? 200 : 400) << "recovery keeps every transaction before the frame";
      EXPECT_EQ(raw.Text("PRAGMA integrity_check"), "ok");
    }
    const std::string log = testing::internal::GetCapturedStderr();
    // A frame altered with a committed transaction after it is no crash: an error, naming
    // the frame. Intact, the log ends with its last commit and nothing is said.
    EXPECT_EQ(LogLines(log, "error", "failed authentication"), alter ? 1U : 0U) << log;
    if (alter) {
      EXPECT_NE(log.find("\"wal_frame\":" + std::to_string(t1_frames + 1)), std::string::npos)
          << log;
    }
    EXPECT_EQ(LogLines(log, "warning", ""), 0U) << log;
  }
}

// A crash image whose WAL ends in a transaction that never committed: `committed` frames
// of committed transactions, then the frames a large transaction spilled before the
// crash (each authenticates: written whole before it).
struct UncommittedTail {
  std::string image;
  int64_t committed = 0;
  int64_t frames = 0;  // whole frames in the WAL
};

UncommittedTail CrashDuringALargeTransaction(const TempDir& dir, const Key& key,
                                             const std::string& name) {
  UncommittedTail out;
  const std::string path = dir.File(name + ".db");
  CreateDatabase(path, key);
  Raw writer(path, key);
  WriteContracts(writer.db(), Marker(), 200);
  out.committed =
      static_cast<int64_t>((std::filesystem::file_size(path + "-wal") - kWalHeader) / kFrame);
  // A page cache of 20 pages: the transaction spills its pages to the WAL long before it
  // would commit.
  EXPECT_EQ(writer.Exec("PRAGMA cache_size=20; BEGIN; UPDATE sample_contracts SET notes = "
                        "notes || randomblob(300);"),
            SQLITE_OK);
  out.frames =
      static_cast<int64_t>((std::filesystem::file_size(path + "-wal") - kWalHeader) / kFrame);
  EXPECT_GT(out.frames, out.committed + 5) << "the open transaction spilled frames";
  out.image = dir.File(name + "-image");
  std::filesystem::create_directory(out.image);
  std::filesystem::copy_file(path, out.image + "/pactum.db");
  std::filesystem::copy_file(path + "-wal", out.image + "/pactum.db-wal");
  writer.Exec("ROLLBACK;");
  return out;
}

// Opens a crash image (recovery runs), counts the committed rows; the operator log.
std::string RecoverAndCount(const std::string& image, const Key& key, int64_t* rows) {
  testing::internal::CaptureStderr();
  {
    Raw raw(image + "/pactum.db", key);
    EXPECT_EQ(raw.open_rc(), SQLITE_OK);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM sample_contracts", rows), SQLITE_OK);
    EXPECT_EQ(raw.Text("PRAGMA integrity_check"), "ok");
  }
  return testing::internal::GetCapturedStderr();
}

std::string DroppedField(int64_t n) {
  return "\"uncommitted_frames_dropped\":" + std::to_string(n);
}

TEST(EncryptedVfs, ATornUncommittedEndOfTheWalIsAWarningWithTheFramesDropped) {
  TempDir dir;
  const Key key = RandomKey();
  {
    SCOPED_TRACE("the last frame's page torn (half old, half new)");
    const UncommittedTail crash = CrashDuringALargeTransaction(dir, key, "garbled");
    const std::string wal = crash.image + "/pactum.db-wal";
    WriteBytes(wal, kWalHeader + (crash.frames - 1) * kFrame + 24 + 2048, std::string(2048, 'x'));
    int64_t rows = 0;
    const std::string log = RecoverAndCount(crash.image, key, &rows);
    EXPECT_EQ(rows, 200);
    EXPECT_EQ(LogLines(log, "error", ""), 0U) << log;
    EXPECT_EQ(LogLines(log, "warning", "uncommitted end of the WAL"), 1U) << log;
    EXPECT_NE(log.find(DroppedField(crash.frames - crash.committed)), std::string::npos) << log;
    EXPECT_NE(log.find("\"unauthenticated_frame\":" + std::to_string(crash.frames)),
              std::string::npos)
        << log;
  }
  {
    SCOPED_TRACE("the file cut in the middle of its last frame");
    const UncommittedTail crash = CrashDuringALargeTransaction(dir, key, "cut");
    const std::string wal = crash.image + "/pactum.db-wal";
    std::filesystem::resize_file(wal, kWalHeader + (crash.frames - 1) * kFrame + 24 + 1000);
    int64_t rows = 0;
    const std::string log = RecoverAndCount(crash.image, key, &rows);
    EXPECT_EQ(rows, 200);
    EXPECT_EQ(LogLines(log, "error", ""), 0U) << log;
    EXPECT_EQ(LogLines(log, "warning", "uncommitted end of the WAL"), 1U) << log;
    EXPECT_NE(log.find(DroppedField(crash.frames - crash.committed)), std::string::npos) << log;
  }
}

TEST(EncryptedVfs, AnAlteredCommittedFrameBeforeATornEndIsAnError) {
  TempDir dir;
  const Key key = RandomKey();
  const UncommittedTail crash = CrashDuringALargeTransaction(dir, key, "altered");
  // A byte of the page of a committed transaction's first frame.
  FlipByte(crash.image + "/pactum.db-wal", kWalHeader + 24 + 100);
  int64_t rows = -1;
  testing::internal::CaptureStderr();
  {
    Raw raw(crash.image + "/pactum.db", key);
    ASSERT_EQ(raw.open_rc(), SQLITE_OK);
    (void)raw.Int("SELECT count(*) FROM sample_contracts", &rows);
  }
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(LogLines(log, "error", "failed authentication"), 1U) << log;
  EXPECT_NE(log.find("\"wal_frame\":1"), std::string::npos) << log;
  EXPECT_EQ(LogLines(log, "warning", ""), 0U) << log;
}

TEST(EncryptedVfs, ARestartedLogLongerThanItsGenerationRecoversSilently) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  Raw writer(path, key);
  WriteContracts(writer.db(), Marker(), 300);
  // Everything checkpointed: the next write starts the WAL over from its first frame,
  // leaving the older generation's frames after it in the file.
  ASSERT_EQ(writer.Exec("PRAGMA wal_checkpoint(PASSIVE);"), SQLITE_OK);
  WriteContracts(writer.db(), Marker(), 1, 5000);
  const std::string image = dir.File("image");
  std::filesystem::create_directory(image);
  std::filesystem::copy_file(path, image + "/pactum.db");
  std::filesystem::copy_file(path + "-wal", image + "/pactum.db-wal");
  int64_t rows = 0;
  const std::string log = RecoverAndCount(image, key, &rows);
  EXPECT_EQ(rows, 301);
  EXPECT_EQ(log, "") << "nothing was lost and nothing failed";
}

TEST(EncryptedVfs, NoFileThatWouldHoldPagesInClearIsEverOpened) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  Raw raw(path, key);
  WriteContracts(raw.db(), Marker(), 100);
  // Big sorts and temp tables stay in memory with temp_store=MEMORY.
  int64_t n = 0;
  // 10 MB: far beyond the page cache, so a file-backed temp database would spill.
  ASSERT_EQ(
      raw.Exec("CREATE TEMP TABLE scratch AS SELECT randomblob(1000) AS b FROM sample_contracts a, "
               "sample_contracts b;"),
      SQLITE_OK);
  ASSERT_EQ(
      raw.Int("SELECT count(*) FROM (SELECT a.notes FROM sample_contracts a, sample_contracts b "
              "ORDER BY random())",
              &n),
      SQLITE_OK);
  EXPECT_EQ(n, 100 * 100);
  // A temp file on disk, or a rollback journal, is refused rather than written in clear.
  ASSERT_EQ(raw.Exec("PRAGMA temp_store=FILE;"), SQLITE_OK);
  EXPECT_NE(
      raw.Exec("CREATE TEMP TABLE t2 AS SELECT randomblob(1000) AS b FROM sample_contracts a, "
               "sample_contracts b;"),
      SQLITE_OK);
  raw.Exec("PRAGMA temp_store=MEMORY;");
  const int rc =
      raw.Exec("PRAGMA journal_mode=DELETE; INSERT INTO sample_contracts (title) VALUES ('x');");
  EXPECT_TRUE(rc != SQLITE_OK || raw.Text("PRAGMA journal_mode") == "wal")
      << raw.Text("PRAGMA journal_mode");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "pactum.db" || name == "pactum.db-wal" || name == "pactum.db-shm") << name;
  }
}

// A transaction larger than the page cache spills pages to the WAL before it commits,
// rewrites spilled frames in place, and then rewrites their checksums (SQLite writes
// those frame headers zeroed first): every one of those paths must round-trip.
TEST(EncryptedVfs, ATransactionLargerThanThePageCacheRoundTrips) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  Raw writer(path, key);
  ASSERT_EQ(writer.Exec("PRAGMA cache_size=20;"), SQLITE_OK);  // pages
  WriteContracts(writer.db(), Marker(), 3000);
  ASSERT_EQ(
      writer.Exec("BEGIN; UPDATE sample_contracts SET notes = notes || ' amended', title = "
                  "upper(title); UPDATE sample_contracts SET counterparty = lower(counterparty); "
                  "COMMIT;"),
      SQLITE_OK)
      << sqlite3_errmsg(writer.db());
  {
    Raw reader(path, key);  // a second connection reads the WAL as committed
    int64_t amended = 0;
    ASSERT_EQ(
        reader.Int("SELECT count(*) FROM sample_contracts WHERE notes LIKE '% amended'", &amended),
        SQLITE_OK);
    EXPECT_EQ(amended, 3000);
    EXPECT_EQ(reader.Text("PRAGMA integrity_check"), "ok");
  }
  // The same WAL replayed by crash recovery.
  const std::string image = dir.File("image");
  std::filesystem::create_directory(image);
  std::filesystem::copy_file(path, image + "/pactum.db");
  std::filesystem::copy_file(path + "-wal", image + "/pactum.db-wal");
  Raw recovered(image + "/pactum.db", key);
  int64_t amended = 0;
  ASSERT_EQ(
      recovered.Int("SELECT count(*) FROM sample_contracts WHERE notes LIKE '% amended'", &amended),
      SQLITE_OK);
  EXPECT_EQ(amended, 3000);
  EXPECT_EQ(recovered.Text("PRAGMA integrity_check"), "ok");
  // And folded into the database by a checkpoint.
  ASSERT_EQ(writer.Exec("PRAGMA wal_checkpoint(TRUNCATE);"), SQLITE_OK);
  EXPECT_EQ(writer.Text("PRAGMA integrity_check"), "ok");
}

// SQLite's WAL checksum (wal.c, walChecksumBytes), continued from (s1, s2).
void WalChecksum(bool native, const uint8_t* p, size_t n, uint32_t& s1, uint32_t& s2) {
  for (size_t i = 0; i < n; i += 8) {
    uint32_t a = 0;
    uint32_t b = 0;
    std::memcpy(&a, p + i, 4);
    std::memcpy(&b, p + i + 4, 4);
    if (!native) {
      a = __builtin_bswap32(a);
      b = __builtin_bswap32(b);
    }
    s1 += a + s2;
    s2 += b + s1;
  }
}

uint32_t BigEndian(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

TEST(EncryptedVfs, FrameChecksumsOverPlaintextAreMaskedOnDisk) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  Raw writer(path, key);
  WriteContracts(writer.db(), Marker(), 50);
  // The first frame as SQLite sees it, through the shim (the crash-recovery read).
  sqlite3_vfs* vfs = sqlite3_vfs_find(writer.vfs_name());
  ASSERT_NE(vfs, nullptr);
  std::vector<char> file_mem(static_cast<size_t>(vfs->szOsFile));
  auto* file = reinterpret_cast<sqlite3_file*>(file_mem.data());
  std::string wal = path + "-wal";
  wal.append(4, '\0');  // a filename as SQLite passes it: no URI parameters follow
  int out_flags = 0;
  ASSERT_EQ(vfs->xOpen(vfs, wal.c_str(), file, SQLITE_OPEN_READONLY | SQLITE_OPEN_WAL, &out_flags),
            SQLITE_OK);
  std::vector<uint8_t> seen(kFrame);
  std::vector<uint8_t> header(kWalHeader);
  ASSERT_EQ(file->pMethods->xRead(file, header.data(), kWalHeader, 0), SQLITE_OK);
  ASSERT_EQ(file->pMethods->xRead(file, seen.data(), kFrame, kWalHeader), SQLITE_OK);
  file->pMethods->xClose(file);
  // SQLite's chain: WAL header checksum, then the frame's first 8 header bytes and page.
  const bool native = (BigEndian(header.data()) & 1) == 0;  // little-endian machine
  uint32_t s1 = BigEndian(&header[24]);
  uint32_t s2 = BigEndian(&header[28]);
  WalChecksum(native, seen.data(), 8, s1, s2);
  WalChecksum(native, seen.data() + 24, kPage, s1, s2);
  EXPECT_EQ(BigEndian(&seen[16]), s1) << "the shim returns SQLite's own checksum";
  EXPECT_EQ(BigEndian(&seen[20]), s2);
  const std::string disk = ReadBytes(path + "-wal", kWalHeader, 24);
  EXPECT_NE(disk.substr(16, 8), std::string(reinterpret_cast<char*>(&seen[16]), 8))
      << "on disk the checksum is masked";
  EXPECT_EQ(disk.substr(0, 16), std::string(reinterpret_cast<char*>(seen.data()), 16));
}

// kill -9 in the middle of a write loop, again and again: every committed row survives
// and the file stays consistent.
TEST(EncryptedVfs, KillDuringWritesLosesNoCommittedRow) {
  TempDir dir;
  const Key key = RandomKey();
  const std::string path = dir.File("pactum.db");
  CreateDatabase(path, key);
  int64_t next = 0;
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      SqliteOptions o;
      o.path = path;
      o.key = key;
      auto db = OpenSqliteDatabase(o);
      if (!db.ok()) ::_exit(3);
      if (!(*db)
               ->Write([](Session& s) {
                 return s
                     .Execute("CREATE TABLE IF NOT EXISTS loop (id INTEGER PRIMARY KEY, body TEXT)")
                     .status();
               })
               .ok()) {
        ::_exit(4);
      }
      for (int64_t id = next;; ++id) {
        Status st = (*db)->Write([&](Session& s) {
          return s
              .Execute("INSERT INTO loop (id, body) VALUES ($1, $2)",
                       {id, std::string(static_cast<size_t>(100 + id % 3000), 'b')})
              .status();
        });
        if (!st.ok()) ::_exit(5);
        // Reported only after the commit returned.
        if (::write(fds[1], &id, sizeof id) != sizeof id) ::_exit(6);
      }
    }
    ::close(fds[1]);
    int64_t last = -1;
    int64_t id = 0;
    int reported = 0;
    while (reported < 200 + round * 150 && ::read(fds[0], &id, sizeof id) == sizeof id) {
      last = id;
      ++reported;
    }
    ::kill(child, SIGKILL);
    while (::read(fds[0], &id, sizeof id) == sizeof id) last = id;  // commits before the kill
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer failed on its own: " << status;
    ASSERT_GE(last, next);
    // Reopen after the crash: recovery, then every reported row is there.
    SqliteOptions o;
    o.path = path;
    o.key = key;
    auto db = OpenSqliteDatabase(o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    int64_t count = 0;
    std::string check;
    ASSERT_TRUE((*db)
                    ->Read([&](Session& s) -> Status {
                      ASSIGN_OR_RETURN(auto r,
                                       s.Query("SELECT count(*) FROM loop WHERE id <= $1", {last}));
                      count = r[0].Int(0);
                      ASSIGN_OR_RETURN(auto c, s.Query("PRAGMA integrity_check"));
                      check = c[0].Text(0);
                      return Status::Ok();
                    })
                    .ok());
    EXPECT_EQ(count, last + 1);
    EXPECT_EQ(check, "ok");
    next = last + 1;
    ASSERT_TRUE((*db)
                    ->Write([&](Session& s) {
                      return s.Execute("DELETE FROM loop WHERE id > $1", {last}).status();
                    })
                    .ok());
  }
}

}  // namespace
}  // namespace pactum::store
