#pragma once

// The SQLite side of store/change_capture.h, for sqlite_database.cc and the store's
// tests: the write-ahead log read over a connection's own (decrypting) file handles, and
// the change reader built on it.
//
// WAL format (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte header
// (magic, version, page size, checkpoint sequence, salt-1, salt-2, checksum) then frames:
// a 24-byte header (page number, database size in pages after the commit for the last
// frame of a transaction else 0, the salts, a running checksum) and the page. A frame
// belongs to the log while its salts match the header's and the running checksum holds;
// a transaction is committed once its commit frame is.
//
// Continuity: SQLite starts a new WAL generation (salt-1 + 1, frames from 0) only after a
// checkpoint that copied every frame. The change reader continues into it only when that
// checkpoint was the capture's own and complete (its cursor says "folded"); salts it does
// not expect mean a checkpoint made elsewhere.

#include <map>
#include <memory>

#include <sqlite3.h>

#include "store/change_capture.h"

namespace pactum::store {

struct WalChecksum {
  uint32_t s1 = 0;
  uint32_t s2 = 0;
  bool operator==(const WalChecksum&) const = default;
};

// Where the WAL stands: its generation (the header's salts and checkpoint sequence) and
// how many frames of it have been read, with the running checksum after them.
struct WalPosition {
  uint32_t salt1 = 0;
  uint32_t salt2 = 0;
  uint32_t checkpoint_seq = 0;
  uint32_t frames = 0;
  WalChecksum checksum;  // after `frames` frames (the header's own when frames == 0)
  bool big_endian_checksum = false;
  bool SameGeneration(const WalPosition& o) const { return salt1 == o.salt1 && salt2 == o.salt2; }
};

// One committed transaction as it sits in the WAL.
struct WalCommit {
  uint32_t end_frame = 0;  // frames in the log up to and including its commit frame
  uint32_t db_pages = 0;
  std::vector<PageImage> pages;
};

struct WalRead {
  WalPosition end;  // after the last committed transaction read
  std::vector<WalCommit> commits;
};

struct CheckpointResult {
  int log_frames = 0;           // frames in the WAL
  int checkpointed_frames = 0;  // of them, now copied into the database file
  bool complete() const { return log_frames == checkpointed_frames; }
};

// Reads the WAL of a connection that is in WAL mode and has read once (SQLite opens the
// WAL with the first read). Uses the connection's own file handles: no other file
// descriptor is ever opened on the database's files (closing one would drop the
// process's POSIX locks on them). Not thread-safe: one thread, with writes paused.
class SqliteWalReader {
 public:
  explicit SqliteWalReader(sqlite3* db);
  // The current generation, frames = 0. kNotFound when there is no WAL or it is empty.
  Result<WalPosition> Generation();
  // The transactions committed after `from` (a position in the current generation), at
  // most `max_frames` frames of them (at least one whole transaction when any).
  // kFailedPrecondition when `from` is not of the current generation. The log ends at
  // the first frame whose salts, checksum or authentication fail, as in SQLite's own
  // recovery (a torn write); only whole committed transactions are returned.
  Result<WalRead> ReadCommitted(const WalPosition& from, uint32_t max_frames);
  // Copies committed frames into the database file. `wait_for_readers`: SQLite's FULL
  // mode (waits, up to the busy timeout, for readers of older snapshots) rather than
  // PASSIVE (copies what no reader needs).
  Result<CheckpointResult> Checkpoint(bool wait_for_readers);

 private:
  sqlite3* const db_;
  std::vector<uint8_t> frame_;
};

// The cursor of the SQLite change reader: a WAL position, and whether every frame of its
// generation is in the database file (the capture's own complete checkpoint).
struct SqliteCursor {
  WalPosition wal;
  bool folded = false;
};
LogCursor EncodeSqliteCursor(const SqliteCursor& c);
// kDataLoss for text that is not a cursor of this engine.
Result<SqliteCursor> DecodeSqliteCursor(const LogCursor& text);

// The ChangeReader over the WAL of `db` (as for SqliteWalReader). Commit marks are the
// commit's end_frame, which is what sqlite3_wal_hook reports.
std::unique_ptr<ChangeReader> NewSqliteChangeReader(sqlite3* db);

// Page count and page reads of the main database file of `db`, decrypted.
Result<uint32_t> DatabaseFilePageCount(sqlite3* db);
Status ReadDatabaseFilePage(sqlite3* db, uint32_t pgno, std::span<uint8_t, kPageImageBytes> out);

// Rows of every table of `db` (sqlite_* internals aside), in its current transaction.
Result<std::map<std::string, int64_t>> CountRowsOn(sqlite3* db);

}  // namespace pactum::store
