#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "common/big_endian.h"
#include "crypto/sha256.h"
#include "store/encrypted_vfs.h"
#include "store/sqlite_wal.h"

namespace pactum::store {
namespace {

constexpr int kWalHeader = 32;
constexpr int kFrameHeader = 24;
constexpr int kFrame = kFrameHeader + static_cast<int>(kPageImageBytes);
constexpr uint32_t kWalMagic = 0x377f0682;  // | 1: checksums of big-endian words
constexpr uint32_t kWalVersion = 3007000;
static_assert(kPageImageBytes == static_cast<size_t>(kEncryptedPageSize));
constexpr std::string_view kCursorTag = "sqlite-wal-v1";

// SQLite's WAL checksum (walChecksumBytes): over pairs of 32-bit words, continuing `in`.
WalChecksum Checksum(bool big_endian, const uint8_t* data, size_t n, WalChecksum in) {
  uint32_t s1 = in.s1;
  uint32_t s2 = in.s2;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const uint32_t x0 = big_endian ? LoadU32Be(data + i) : LoadU32Le(data + i);
    const uint32_t x1 = big_endian ? LoadU32Be(data + i + 4) : LoadU32Le(data + i + 4);
    s1 += x0 + s2;
    s2 += x1 + s1;
  }
  return {s1, s2};
}

Status FileError(int rc, const std::string& what) {
  if (rc == SQLITE_IOERR_DATA) return DataLoss(what + ": a page failed authentication");
  return Unavailable(what + ": " + sqlite3_errstr(rc));
}

sqlite3_file* FilePointer(sqlite3* db, int op) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", op, &file) != SQLITE_OK) return nullptr;
  if (file == nullptr || file->pMethods == nullptr) return nullptr;
  return file;
}

class VfsPageWriter final : public EncryptedPageWriter {
 public:
  VfsPageWriter(std::unique_ptr<EncryptedVfs> vfs, std::vector<uint8_t> file)
      : vfs_(std::move(vfs)), storage_(std::move(file)) {}
  ~VfsPageWriter() override {
    if (open_) file()->pMethods->xClose(file());
  }
  VfsPageWriter(const VfsPageWriter&) = delete;
  VfsPageWriter& operator=(const VfsPageWriter&) = delete;

  Status Open(const std::string& path) {
    // Created here, exclusively (SQLite's unix VFS does not refuse an existing file).
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Unavailable("create database file " + path + ": " +
                         std::error_code(errno, std::generic_category()).message());
    }
    ::close(fd);
    sqlite3_vfs* vfs = sqlite3_vfs_find(vfs_->name());
    if (vfs == nullptr) return Internal("encrypted VFS not registered");
    storage_.assign(static_cast<size_t>(vfs->szOsFile), 0);
    path_ = path;
    int out_flags = 0;
    const int rc = vfs->xOpen(vfs, path_.c_str(), file(),
                              SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_READWRITE, &out_flags);
    if (rc != SQLITE_OK) {
      return Unavailable("open database file " + path + ": " + sqlite3_errstr(rc));
    }
    open_ = true;
    return Status::Ok();
  }

  Status Write(uint32_t pgno, std::span<const uint8_t, kPageImageBytes> page) override {
    if (pgno == 0) return InvalidArgument("page number 0");
    const int rc = file()->pMethods->xWrite(file(), page.data(), static_cast<int>(page.size()),
                                            int64_t{pgno - 1} * int64_t{kPageImageBytes});
    if (rc == SQLITE_IOERR_WRITE) {
      return InvalidArgument("page " + std::to_string(pgno) +
                             " does not have the encrypted format's layout, or the write failed");
    }
    if (rc != SQLITE_OK) return FileError(rc, "write " + path_);
    return Status::Ok();
  }

  Status Truncate(uint32_t pages) override {
    const int rc = file()->pMethods->xTruncate(file(), int64_t{pages} * int64_t{kPageImageBytes});
    if (rc != SQLITE_OK) return FileError(rc, "truncate " + path_);
    return Status::Ok();
  }

  Status Finish() override {
    if (!open_) return FailedPrecondition("already finished");
    int rc = file()->pMethods->xSync(file(), SQLITE_SYNC_FULL);
    const int close_rc = file()->pMethods->xClose(file());
    open_ = false;
    if (rc == SQLITE_OK) rc = close_rc;
    if (rc != SQLITE_OK) return FileError(rc, "sync " + path_);
    return Status::Ok();
  }

 private:
  sqlite3_file* file() { return reinterpret_cast<sqlite3_file*>(storage_.data()); }

  std::unique_ptr<EncryptedVfs> vfs_;
  std::vector<uint8_t> storage_;  // the VFS's file object (szOsFile bytes)
  std::string path_;
  bool open_ = false;
};

}  // namespace

SqliteWalReader::SqliteWalReader(sqlite3* db) : db_(db), frame_(kFrame) {}

Result<WalPosition> SqliteWalReader::Generation() {
  sqlite3_file* wal = FilePointer(db_, SQLITE_FCNTL_JOURNAL_POINTER);
  if (wal == nullptr) return NotFound("the database has no open WAL");
  uint8_t h[kWalHeader];
  const int rc = wal->pMethods->xRead(wal, h, kWalHeader, 0);
  if (rc == SQLITE_IOERR_SHORT_READ) return NotFound("the WAL is empty");
  if (rc != SQLITE_OK) return FileError(rc, "read the WAL header");
  const uint32_t magic = LoadU32Be(h);
  if ((magic & ~1U) != kWalMagic || LoadU32Be(h + 4) != kWalVersion ||
      LoadU32Be(h + 8) != kPageImageBytes) {
    return DataLoss("the WAL header is not SQLite's (magic, version or page size)");
  }
  WalPosition p;
  p.big_endian_checksum = (magic & 1U) != 0;
  p.checkpoint_seq = LoadU32Be(h + 12);
  p.salt1 = LoadU32Be(h + 16);
  p.salt2 = LoadU32Be(h + 20);
  const WalChecksum sum = Checksum(p.big_endian_checksum, h, 24, {});
  if (sum.s1 != LoadU32Be(h + 24) || sum.s2 != LoadU32Be(h + 28)) {
    return NotFound("the WAL header's checksum does not hold (no log yet)");
  }
  p.checksum = sum;
  return p;
}

Result<WalRead> SqliteWalReader::ReadCommitted(const WalPosition& from, uint32_t max_frames) {
  ASSIGN_OR_RETURN(const WalPosition current, Generation());
  if (!current.SameGeneration(from)) {
    return FailedPrecondition("the WAL is in another generation than the position read from");
  }
  sqlite3_file* wal = FilePointer(db_, SQLITE_FCNTL_JOURNAL_POINTER);
  if (wal == nullptr) return NotFound("the database has no open WAL");
  WalRead out;
  out.end = from;
  WalCommit pending;
  WalChecksum sum = from.checksum;
  uint32_t read_frames = 0;
  for (uint32_t frame = from.frames;; ++frame) {
    if (!out.commits.empty() && read_frames >= max_frames) break;
    // The header first (SQLite's salts end the log before a page of an older generation
    // is decrypted), then the page; a page that does not authenticate ends the log
    // there, as a torn write does in SQLite's recovery.
    const int64_t offset = kWalHeader + int64_t{frame} * kFrame;
    uint8_t* h = frame_.data();
    int rc = wal->pMethods->xRead(wal, h, kFrameHeader, offset);
    if (rc == SQLITE_IOERR_SHORT_READ) break;
    if (rc != SQLITE_OK) return FileError(rc, "read the WAL");
    const uint32_t pgno = LoadU32Be(h);
    const uint32_t commit = LoadU32Be(h + 4);
    if (pgno == 0 || LoadU32Be(h + 8) != from.salt1 || LoadU32Be(h + 12) != from.salt2) break;
    rc = wal->pMethods->xRead(wal, h + kFrameHeader, static_cast<int>(kPageImageBytes),
                              offset + kFrameHeader);
    if (rc == SQLITE_IOERR_SHORT_READ || rc == SQLITE_IOERR_DATA) break;
    if (rc != SQLITE_OK) return FileError(rc, "read the WAL");
    WalChecksum next = Checksum(from.big_endian_checksum, h, 8, sum);
    next = Checksum(from.big_endian_checksum, h + kFrameHeader, kPageImageBytes, next);
    if (next.s1 != LoadU32Be(h + 16) || next.s2 != LoadU32Be(h + 20)) break;
    sum = next;
    ++read_frames;
    PageImage& page = pending.pages.emplace_back();
    page.pgno = pgno;
    std::memcpy(page.bytes.data(), h + kFrameHeader, kPageImageBytes);
    if (commit != 0) {
      pending.end_frame = frame + 1;
      pending.db_pages = commit;
      out.commits.push_back(std::move(pending));
      pending = WalCommit{};
      out.end.frames = frame + 1;
      out.end.checksum = sum;
    }
  }
  return out;
}

Result<CheckpointResult> SqliteWalReader::Checkpoint(bool wait_for_readers) {
  CheckpointResult r;
  const int mode = wait_for_readers ? SQLITE_CHECKPOINT_FULL : SQLITE_CHECKPOINT_PASSIVE;
  const int rc =
      sqlite3_wal_checkpoint_v2(db_, "main", mode, &r.log_frames, &r.checkpointed_frames);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    return FileError(rc, std::string("checkpoint: ") + sqlite3_errmsg(db_));
  }
  return r;
}

LogCursor EncodeSqliteCursor(const SqliteCursor& c) {
  const WalPosition& w = c.wal;
  return std::string(kCursorTag) + " " + std::to_string(w.salt1) + " " + std::to_string(w.salt2) +
         " " + std::to_string(w.checkpoint_seq) + " " + std::to_string(w.frames) + " " +
         std::to_string(w.checksum.s1) + " " + std::to_string(w.checksum.s2) + " " +
         (w.big_endian_checksum ? "1" : "0") + " " + (c.folded ? "1" : "0");
}

Result<SqliteCursor> DecodeSqliteCursor(const LogCursor& text) {
  std::istringstream in(text);
  std::string tag;
  uint64_t fields[8] = {};
  in >> tag;
  for (uint64_t& f : fields) in >> f;
  std::string rest;
  if (in.fail() || tag != kCursorTag || (in >> rest) || fields[6] > 1 || fields[7] > 1) {
    return DataLoss("not a change-log position of the SQLite store");
  }
  for (int i = 0; i < 6; ++i) {
    if (fields[i] > UINT32_MAX) return DataLoss("not a change-log position of the SQLite store");
  }
  SqliteCursor c;
  c.wal.salt1 = static_cast<uint32_t>(fields[0]);
  c.wal.salt2 = static_cast<uint32_t>(fields[1]);
  c.wal.checkpoint_seq = static_cast<uint32_t>(fields[2]);
  c.wal.frames = static_cast<uint32_t>(fields[3]);
  c.wal.checksum = {static_cast<uint32_t>(fields[4]), static_cast<uint32_t>(fields[5])};
  c.wal.big_endian_checksum = fields[6] == 1;
  c.folded = fields[7] == 1;
  return c;
}

namespace {

class SqliteChangeReader final : public ChangeReader {
 public:
  explicit SqliteChangeReader(sqlite3* db) : wal_(db) {}

  Result<CapturedChanges> ReadSince(const LogCursor& from, uint32_t max_pages) override {
    if (from.empty()) return FailedPrecondition("no position in the log to continue from");
    ASSIGN_OR_RETURN(const SqliteCursor at, DecodeSqliteCursor(from));
    auto generation = wal_.Generation();
    if (!generation.ok() && generation.status().code() != StatusCode::kNotFound) {
      return generation.status();
    }
    CapturedChanges out;
    out.end = from;
    WalPosition start;
    if (!generation.ok()) {
      // No WAL: nothing was written since, unless frames we had not folded are gone.
      if (at.wal.frames == 0 || at.folded) return out;
      return FailedPrecondition("the WAL was removed before the change log had it all");
    }
    if (generation->SameGeneration(at.wal)) {
      start = at.wal;
    } else if (at.folded && (generation->salt1 == at.wal.salt1 + 1 ||
                             (at.wal.salt1 == 0 && at.wal.salt2 == 0))) {
      // SQLite restarted the log after our complete checkpoint, or started the first one
      // after a full copy of a database that had none.
      start = *generation;
    } else {
      return FailedPrecondition("the WAL was checkpointed elsewhere (its generation is not next)");
    }
    ASSIGN_OR_RETURN(WalRead read, wal_.ReadCommitted(start, max_pages));
    if (read.commits.empty()) return out;
    out.end = EncodeSqliteCursor({read.end, false});
    out.commits.reserve(read.commits.size());
    for (WalCommit& c : read.commits) {
      out.commits.push_back(CapturedCommit{c.end_frame, c.db_pages, std::move(c.pages)});
    }
    return out;
  }

  Result<LogCursor> Release(const LogCursor& upto, uint32_t min_pages) override {
    ASSIGN_OR_RETURN(SqliteCursor at, DecodeSqliteCursor(upto));
    if (at.folded || at.wal.frames < min_pages) return upto;
    ASSIGN_OR_RETURN(const CheckpointResult cp, wal_.Checkpoint(/*wait_for_readers=*/false));
    // Folded only when the WAL held nothing beyond what the caller has read.
    if (!cp.complete() || static_cast<uint32_t>(cp.log_frames) != at.wal.frames) return upto;
    at.folded = true;
    return EncodeSqliteCursor(at);
  }

  Result<LogCursor> FoldAll(const LogCursor& from) override {
    ASSIGN_OR_RETURN(const CheckpointResult cp, wal_.Checkpoint(/*wait_for_readers=*/true));
    if (!cp.complete()) {
      return Unavailable("readers kept the checkpoint before the snapshot from completing");
    }
    SqliteCursor end;
    if (!from.empty()) {
      ASSIGN_OR_RETURN(end, DecodeSqliteCursor(from));
    } else {
      // Everything in the WAL is now in the database file: a new log starts after it.
      auto generation = wal_.Generation();
      if (generation.ok()) {
        ASSIGN_OR_RETURN(const WalRead rest, wal_.ReadCommitted(*generation, UINT32_MAX));
        end.wal = rest.end;
      } else if (generation.status().code() != StatusCode::kNotFound) {
        return generation.status();
      }
    }
    end.folded = true;
    return EncodeSqliteCursor(end);
  }

 private:
  SqliteWalReader wal_;
};

}  // namespace

std::unique_ptr<ChangeReader> NewSqliteChangeReader(sqlite3* db) {
  return std::make_unique<SqliteChangeReader>(db);
}

Result<uint32_t> DatabaseFilePageCount(sqlite3* db) {
  sqlite3_file* main = FilePointer(db, SQLITE_FCNTL_FILE_POINTER);
  if (main == nullptr) return Internal("the database file is not open");
  sqlite3_int64 size = 0;
  if (const int rc = main->pMethods->xFileSize(main, &size); rc != SQLITE_OK) {
    return FileError(rc, "size of the database file");
  }
  if (size == 0) return uint32_t{0};
  std::array<uint8_t, kPageImageBytes> page{};
  RETURN_IF_ERROR(ReadDatabaseFilePage(db, 1, page));
  // The in-header size holds when its "valid for" counter matches the change counter.
  const uint32_t in_header = LoadU32Be(page.data() + 28);
  if (in_header != 0 && LoadU32Be(page.data() + 92) == LoadU32Be(page.data() + 24))
    return in_header;
  return static_cast<uint32_t>(size / static_cast<sqlite3_int64>(kPageImageBytes));
}

Status ReadDatabaseFilePage(sqlite3* db, uint32_t pgno, std::span<uint8_t, kPageImageBytes> out) {
  sqlite3_file* main = FilePointer(db, SQLITE_FCNTL_FILE_POINTER);
  if (main == nullptr) return Internal("the database file is not open");
  if (pgno == 0) return InvalidArgument("page number 0");
  const int rc = main->pMethods->xRead(main, out.data(), static_cast<int>(out.size()),
                                       int64_t{pgno - 1} * int64_t{kPageImageBytes});
  if (rc == SQLITE_IOERR_SHORT_READ) {
    return DataLoss("page " + std::to_string(pgno) + " lies past the end of the database file");
  }
  if (rc != SQLITE_OK) return FileError(rc, "read page " + std::to_string(pgno));
  return Status::Ok();
}

Result<std::map<std::string, int64_t>> CountRowsOn(sqlite3* db) {
  std::vector<std::string> tables;
  {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(
        db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", -1,
        &stmt, nullptr);
    if (rc == SQLITE_OK) {
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
      }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) return FileError(rc, std::string("list tables: ") + sqlite3_errmsg(db));
  }
  std::map<std::string, int64_t> counts;
  for (const std::string& table : tables) {
    // The name comes from the schema, quoted as an identifier ("" doubles a quote).
    std::string quoted = "\"";
    for (const char c : table) {
      quoted.push_back(c);
      if (c == '"') quoted.push_back('"');
    }
    quoted.push_back('"');
    const std::string sql = "SELECT count(*) FROM " + quoted;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) counts[table] = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) {
      return FileError(rc, "count rows of " + table + ": " + sqlite3_errmsg(db));
    }
  }
  return counts;
}

void RemoveDatabaseFiles(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
}

Result<DatabaseFileCheck> CheckDatabaseFile(const std::string& path, std::span<const uint8_t> key,
                                            bool hash_pages) {
  RETURN_IF_ERROR(CheckDatabaseKey(path, key));
  ASSIGN_OR_RETURN(auto vfs, EncryptedVfs::Register(crypto::SecretBytes::CopyOf(key)));
  sqlite3* db = nullptr;
  const int open_rc = sqlite3_open_v2(path.c_str(), &db,
                                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE, vfs->name());
  struct Closer {
    sqlite3* db;
    ~Closer() { sqlite3_close_v2(db); }
  } closer{db};
  if (open_rc != SQLITE_OK) return FileError(open_rc, "open " + path);
  DatabaseFileCheck check;
  {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &stmt, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      check.integrity = text != nullptr ? text : "";
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      check.integrity = std::string("integrity check failed: ") + sqlite3_errstr(rc);
    }
    check.integrity_ok = check.integrity == "ok";
  }
  if (!check.integrity_ok) return check;
  if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Unavailable("begin a read of " + path);
  }
  auto counts = CountRowsOn(db);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  if (!counts.ok()) return counts.status();
  check.row_counts = std::move(counts).value();
  ASSIGN_OR_RETURN(check.pages, DatabaseFilePageCount(db));
  if (!hash_pages) return check;
  crypto::Sha256Stream hash;
  std::array<uint8_t, kPageImageBytes> page{};
  for (uint32_t p = 1; p <= check.pages; ++p) {
    RETURN_IF_ERROR(ReadDatabaseFilePage(db, p, page));
    hash.Update(page);
  }
  check.content_sha256 = hash.Finish();
  return check;
}

Result<std::unique_ptr<EncryptedPageWriter>> EncryptedPageWriter::Create(
    const std::string& path, std::span<const uint8_t> key) {
  ASSIGN_OR_RETURN(auto vfs, EncryptedVfs::Register(crypto::SecretBytes::CopyOf(key)));
  auto writer = std::make_unique<VfsPageWriter>(std::move(vfs), std::vector<uint8_t>{});
  RETURN_IF_ERROR(writer->Open(path));
  return std::unique_ptr<EncryptedPageWriter>(std::move(writer));
}

}  // namespace pactum::store
