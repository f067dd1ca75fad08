#pragma once

// Pactum's on-disk SQLite format: a VFS shim over the default unix VFS that encrypts
// every page of the main database file and of its WAL with AES-256-GCM (OpenSSL).
//
// Pages are 4096 bytes; SQLite is told to leave the last 28 bytes of each page unused
// (SQLITE_FCNTL_RESERVE_BYTES), and the shim keeps a fresh random 96-bit nonce and the
// 16-byte tag there. The associated data binds each page to its place:
//   database file:  'D' 1 | page number
//   WAL frame:      'W' 1 | frame index | the WAL header's salts (its generation) |
//                   the frame's page number and commit size
// so a page moved to another position, another file, or another WAL generation fails
// authentication, as does a flipped byte or a wrong key. Page-level authentication does
// not give freshness: an older version of the same page from an old copy of the same
// file still authenticates (docs/security.md states this limit). On page 1 of the database file
// the 16 bytes of SQLite's constant magic are replaced by Pactum's own file magic and
// the rest of the page is encrypted. The WAL header and the frame headers' page number,
// commit size and salts stay as SQLite writes them (no page content); SQLite's running
// checksum in each frame header, computed over the plaintext, is masked on disk with an
// AES block of a key derived from the database key, the salts and the frame index, so
// it cannot confirm a guess of a page's content. (Frame salts cannot be bound: SQLite
// writes them zeroed while a transaction's checksums are still to be rewritten.)
//
// Failures: a page that does not authenticate reads as SQLITE_IOERR_DATA (the caller
// maps it to a corruption error) and is logged at error level, except while SQLite
// recovers a WAL after a crash: a whole-frame read that does not authenticate then
// returns the frame with zeroed page content, so SQLite's checksum ends the log there,
// exactly as for a torn write. Recovery is told apart by the wal-index recover lock it
// holds; where its log ends, the operator log says what was lost: nothing (the log ended
// with a commit, or older frames of a restarted log follow, which are not opened), the
// uncommitted end of a transaction cut short by the crash (a warning with the number of
// frames dropped, torn ones included), or — when a frame fails authentication and a
// commit frame that authenticates follows it — an altered log (an error naming the
// frame). Any other file SQLite asks for (rollback or statement
// journals, temp files) is refused: Pactum runs SQLite in WAL mode with
// temp_store=MEMORY, so nothing holding page content is ever written in clear.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/status.h"
#include "crypto/secret.h"

namespace pactum::store {

inline constexpr int kEncryptedPageSize = 4096;
inline constexpr int kEncryptedReserveBytes = 28;  // 12-byte nonce + 16-byte tag

// One registered instance of the shim, bound to one 256-bit database key. SQLite finds
// it by name(). Destroy it only after every connection that uses it is closed.
class EncryptedVfs {
 public:
  // kInvalidArgument for a key that is not 32 bytes.
  static Result<std::unique_ptr<EncryptedVfs>> Register(crypto::SecretBytes key);
  ~EncryptedVfs();
  EncryptedVfs(const EncryptedVfs&) = delete;
  EncryptedVfs& operator=(const EncryptedVfs&) = delete;

  const char* name() const;

  struct State;  // the sqlite3_vfs and its key; defined in the .cc

 private:
  explicit EncryptedVfs(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

enum class DatabaseFileKind {
  kNew,          // missing or empty
  kEncrypted,    // starts with Pactum's file magic
  kPlainSqlite,  // an unencrypted SQLite database
  kOther,        // anything else
};

// Decrypts page 1 of an existing encrypted database file with `key`, without SQLite:
// done before SQLite opens the file, because SQLite's crash recovery treats frames that
// do not authenticate as a torn log tail, so a wrong key must never reach it (it would
// end the log at the first frame and discard the WAL on close).
// kDataLoss when the key does not open it (or page 1 was altered).
Status CheckDatabaseKey(const std::string& path, std::span<const uint8_t> key);

// Classifies a database file by its first bytes, without a key.
// kUnavailable when the file exists but cannot be read.
Result<DatabaseFileKind> ClassifyDatabaseFile(const std::string& path);

}  // namespace pactum::store
