#pragma once

// What database backups (backup/) need from a database engine, offered by the engine
// itself (Database::Changes()): every committed transaction in commit order, as the
// images of the pages it wrote; a consistent read of the whole database; and the say over
// when the engine may fold its log into the database and forget it. An engine that keeps
// no such log, or is not configured to keep it, offers none (nullptr): a PostgreSQL
// engine would offer its own capture, or none and leave backups to its WAL archive.
//
// A place in the engine's log is a LogCursor: text the engine writes and reads back,
// which the caller keeps (the change log's state file, across restarts) without looking
// inside. Whether the log still continues from a cursor is the engine's judgement: when
// changes reached the database without passing through the capture (another process
// folded the log, the log was deleted), reading from it fails and a full copy has to
// start over.
//
// The embedded SQLite engine captures from its write-ahead log, as Litestream does: with
// SqliteOptions::external_checkpoints no connection checkpoints by itself or on close, so
// committed frames stay in the WAL until the capture has read them and releases them.
// Pages are handed out in plaintext, in memory only: the store decrypts them through its
// own file handles (store/encrypted_vfs.h).
//
// The restore side (EncryptedPageWriter, CheckDatabaseFile) builds and checks a database
// file of the embedded engine from page images, with no page ever on disk in clear.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace pactum::store {

inline constexpr size_t kPageImageBytes = 4096;

struct PageImage {
  uint32_t pgno = 0;
  std::array<uint8_t, kPageImageBytes> bytes{};
};

// An engine-defined place in its log; empty: none yet.
using LogCursor = std::string;

// One committed transaction: the pages it wrote in log order (a page written twice
// appears twice; the later wins) and the database size after it.
struct CapturedCommit {
  uint64_t mark = 0;  // what the commit observer was told for this commit
  uint32_t db_pages = 0;
  std::vector<PageImage> pages;
};

struct CapturedChanges {
  LogCursor end;  // after the last commit returned (`from` itself when there is none)
  std::vector<CapturedCommit> commits;
};

// Reads and folds the log. Used only inside ChangeCapture::WithWritesPaused, on that
// thread.
class ChangeReader {
 public:
  virtual ~ChangeReader() = default;
  // The transactions committed after `from`, with at most `max_pages` page images (at
  // least one whole transaction when there is any). The log ends where the engine's own
  // crash recovery would end it (a torn or altered tail); only whole committed
  // transactions are returned. kFailedPrecondition when the log does not continue from
  // `from`, or `from` is empty: a full copy is needed to start again.
  virtual Result<CapturedChanges> ReadSince(const LogCursor& from, uint32_t max_pages) = 0;
  // Once the log holds at least `min_pages` pages, folds it into the database file
  // without waiting for readers. `upto` is where the caller has read to. Returns the
  // cursor to keep: `upto` marked folded when everything in the log went in (the engine
  // may then restart its log), else `upto` as it was.
  virtual Result<LogCursor> Release(const LogCursor& upto, uint32_t min_pages) = 0;
  // For a full copy: folds every committed transaction into the database file, waiting
  // for readers (up to the busy timeout), and returns the cursor the log continues from
  // after the copy: `from` (read to its end by the caller), or when `from` is empty the
  // end of what the log holds now. kUnavailable when readers kept the fold from
  // completing.
  virtual Result<LogCursor> FoldAll(const LogCursor& from) = 0;
};

// Pages of the database file as they are on disk, decrypted. Valid while nothing folds
// the log: the caller makes sure of that (only the capture side folds). Holds a read
// transaction from when it was opened, so CountRows sees the same state as the pages
// when it was opened with writes paused right after FoldAll.
class PageReader {
 public:
  virtual ~PageReader() = default;
  // Rows of every table (engine internals aside), in the reader's transaction.
  virtual Result<std::map<std::string, int64_t>> CountRows() = 0;
  // The database size in pages.
  virtual Result<uint32_t> PageCount() = 0;
  // Reads page `pgno` (1-based) into `out`; kDataLoss when it does not authenticate.
  virtual Status Read(uint32_t pgno, std::span<uint8_t, kPageImageBytes> out) = 0;
};

// Thread-safe; owned by the Database that offers it.
class ChangeCapture {
 public:
  virtual ~ChangeCapture() = default;
  // Whether the engine keeps its log until Release or FoldAll (for SQLite:
  // external_checkpoints). Otherwise it folds the log by itself and changes slip by.
  virtual bool retains_log() const = 0;
  // Runs `fn` while no transaction of this process writes (it holds the writer's lock).
  virtual Status WithWritesPaused(const std::function<Status(ChangeReader&)>& fn) = 0;
  // Called on the writer's thread after each commit with the mark ReadSince will give
  // that commit. Set once, before writes start; must not block.
  virtual void SetCommitObserver(std::function<void(uint64_t mark)> observer) = 0;
  // A reader of the database file on its own connection (a snapshot reads it on its own
  // thread while the capture goes on).
  virtual Result<std::unique_ptr<PageReader>> OpenPageReader() = 0;
};

// Writes a database file of the embedded engine from plaintext page images, without
// SQLite and without a plaintext copy on disk: restore builds a database this way. The
// file must not exist.
class EncryptedPageWriter {
 public:
  static Result<std::unique_ptr<EncryptedPageWriter>> Create(const std::string& path,
                                                             std::span<const uint8_t> key);
  virtual ~EncryptedPageWriter() = default;
  // `page` is a page image as read from a database or its log (page 1 with SQLite's
  // header). kInvalidArgument for a page without the encrypted format's layout.
  virtual Status Write(uint32_t pgno, std::span<const uint8_t, kPageImageBytes> page) = 0;
  // Cuts the file to `pages` pages.
  virtual Status Truncate(uint32_t pages) = 0;
  // Flushes to disk and closes.
  virtual Status Finish() = 0;
};

// What a backup restore is checked with: SQLite's integrity check, the rows of every
// table, and (when asked) the SHA-256 of all pages in order (plaintext).
struct DatabaseFileCheck {
  bool integrity_ok = false;
  std::string integrity;  // "ok", or SQLite's first complaint
  std::map<std::string, int64_t> row_counts;
  uint32_t pages = 0;
  std::array<uint8_t, 32> content_sha256{};
};
// Opens the encrypted database file at `path` under `key` (no migrations, nothing
// written) and checks it. kDataLoss when it does not open with the key.
Result<DatabaseFileCheck> CheckDatabaseFile(const std::string& path, std::span<const uint8_t> key,
                                            bool hash_pages = false);

// Removes the database file at `path` with its -wal and -shm files, ignoring any that are
// absent (scratch copies and partial restores).
void RemoveDatabaseFiles(const std::string& path);

}  // namespace pactum::store
