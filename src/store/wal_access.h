#pragma once

// What database backups (backup/) need from the embedded SQLite store: the committed
// transactions in its write-ahead log as page images, control over checkpoints, and the
// pages of the database file — all in plaintext in memory, never on disk (the store
// decrypts them through its own file handles, store/encrypted_vfs.h).
//
// The change log works the way Litestream does: with SqliteOptions::external_checkpoints
// no connection checkpoints by itself (wal_autocheckpoint=0) or when it closes
// (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE), so every committed frame stays in the WAL until the
// backup side has copied it and checkpoints. SQLite starts a new WAL generation (new
// salts, frames from 0) only after a checkpoint that copied every frame; one the backup
// side did not make shows as salts it does not expect.
//
// WAL format (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte header
// (magic, version, page size, checkpoint sequence, salt-1, salt-2, checksum) then frames:
// a 24-byte header (page number, database size in pages after the commit for the last
// frame of a transaction else 0, the salts, a running checksum) and the page. A frame
// belongs to the log while its salts match the header's and the running checksum holds;
// a transaction is committed once its commit frame is.

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

inline constexpr size_t kWalPageBytes = 4096;

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

struct PageImage {
  uint32_t pgno = 0;
  std::array<uint8_t, kWalPageBytes> bytes{};
};

// One committed transaction: its frames in log order (a page written twice appears twice;
// the later wins) and the database size after it.
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

// Used only while writes are paused (WalAccess::WithWritesPaused), on one thread.
class WalReader {
 public:
  virtual ~WalReader() = default;
  // The current generation, frames = 0. kNotFound when there is no WAL or it is empty.
  virtual Result<WalPosition> Generation() = 0;
  // The transactions committed after `from` (a position in the current generation),
  // at most `max_frames` frames of them (at least one whole transaction when any).
  // kFailedPrecondition when `from` is not of the current generation. The log ends at
  // the first frame whose salts, checksum or authentication fail, as in SQLite's own
  // recovery (a torn write); only whole committed transactions are returned.
  virtual Result<WalRead> ReadCommitted(const WalPosition& from, uint32_t max_frames) = 0;
  // Copies committed frames into the database file. `wait_for_readers`: SQLite's FULL
  // mode (waits, up to the busy timeout, for readers of older snapshots) rather than
  // PASSIVE (copies what no reader needs).
  virtual Result<CheckpointResult> Checkpoint(bool wait_for_readers) = 0;
};

// Pages of the database file as they are on disk, decrypted. Valid while no checkpoint
// runs: the caller makes sure of that (only the backup side checkpoints). Holds a read
// transaction from when it was opened, so CountRows sees the same state as the pages
// when it was opened with writes paused right after a complete checkpoint.
class PageReader {
 public:
  virtual ~PageReader() = default;
  // Rows of every table (sqlite_* internals aside), in the reader's transaction.
  virtual Result<std::map<std::string, int64_t>> CountRows() = 0;
  // The database size in pages (from page 1's header).
  virtual Result<uint32_t> PageCount() = 0;
  // Reads page `pgno` (1-based) into `out`; kDataLoss when it does not authenticate.
  virtual Status Read(uint32_t pgno, std::span<uint8_t, kWalPageBytes> out) = 0;
};

class WalAccess {
 public:
  virtual ~WalAccess() = default;
  // Whether this database runs with external checkpoints (else SQLite checkpoints itself
  // and a change log cannot be kept).
  virtual bool external_checkpoints() const = 0;
  // Runs `fn` while no transaction of this process writes (it holds the writer's lock),
  // with a reader of the WAL on a connection kept for backups.
  virtual Status WithWritesPaused(const std::function<Status(WalReader&)>& fn) = 0;
  // Called on the writer's thread after each commit, with the number of frames then in
  // the WAL (the commit's end_frame). Set once, before writes start; must not block.
  virtual void SetCommitObserver(std::function<void(uint32_t wal_frames)> observer) = 0;
  // A reader of the database file on its own connection (a snapshot reads it on its own
  // thread while the change log keeps shipping).
  virtual Result<std::unique_ptr<PageReader>> OpenPageReader() = 0;
};

// Writes a Pactum database file from plaintext page images, without SQLite and without
// a plaintext copy on disk: restore builds a database this way. The file must not exist.
class EncryptedPageWriter {
 public:
  static Result<std::unique_ptr<EncryptedPageWriter>> Create(const std::string& path,
                                                             std::span<const uint8_t> key);
  virtual ~EncryptedPageWriter() = default;
  // `page` is a page image as read from a database or WAL (page 1 with SQLite's header).
  // kInvalidArgument for a page without the encrypted format's layout.
  virtual Status Write(uint32_t pgno, std::span<const uint8_t, kWalPageBytes> page) = 0;
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
