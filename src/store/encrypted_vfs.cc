#include "store/encrypted_vfs.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <span>
#include <vector>

#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <unistd.h>

#include "common/big_endian.h"
#include "common/log.h"
#include "crypto/random.h"

namespace pactum::store {
namespace {

constexpr int kPage = kEncryptedPageSize;
constexpr int kNonce = 12;
constexpr int kTag = 16;
static_assert(kNonce + kTag == kEncryptedReserveBytes);
constexpr int kBody = kPage - kEncryptedReserveBytes;  // bytes of page content
constexpr int kMagicBytes = 16;
constexpr std::array<uint8_t, kMagicBytes> kFileMagic = {'P', 'a', 'c', 't', 'u', 'm', 'D', 'B',
                                                         '-', 'G', 'C', 'M', '-', 'v', '1', 0};
constexpr std::array<uint8_t, kMagicBytes> kSqliteMagic = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                                           'o', 'r', 'm', 'a', 't', ' ', '3', 0};
constexpr int kWalHeader = 32;
constexpr int kFrameHeader = 24;
constexpr int kFrame = kFrameHeader + kPage;
constexpr int kBoundHeaderBytes = 8;  // a frame header's page number and commit size
constexpr int kSaltBytes = 8;         // the WAL header's salts (offset 16): its generation
constexpr int kWalSaltOffset = 16;

enum class Role : uint8_t { kMain = 'D', kWal = 'W' };

// Associated data binding a page to its place.
struct Aad {
  std::array<uint8_t, 2 + 4 + kSaltBytes + kBoundHeaderBytes> bytes{};
  int size = 0;
};

Aad MainAad(uint32_t pgno) {
  Aad a;
  a.bytes[0] = static_cast<uint8_t>(Role::kMain);
  a.bytes[1] = 1;
  StoreU32Be(&a.bytes[2], pgno);
  a.size = 6;
  return a;
}

Aad WalAad(uint32_t frame, const uint8_t* salts, const uint8_t* frame_header) {
  Aad a;
  a.bytes[0] = static_cast<uint8_t>(Role::kWal);
  a.bytes[1] = 1;
  StoreU32Be(&a.bytes[2], frame);
  std::memcpy(&a.bytes[6], salts, kSaltBytes);
  std::memcpy(&a.bytes[6 + kSaltBytes], frame_header, kBoundHeaderBytes);
  a.size = 6 + kSaltBytes + kBoundHeaderBytes;
  return a;
}

}  // namespace

struct EncryptedVfs::State {
  sqlite3_vfs vfs{};
  sqlite3_vfs* root = nullptr;
  crypto::SecretBytes key;
  crypto::SecretBytes mask_key;  // SHA-256("pactum-wal-mask-v1" | key): frame checksums
  std::string name;
};

namespace {

using State = EncryptedVfs::State;

// The file object SQLite allocates (szOsFile bytes): this struct, then the root VFS's.
struct EncFile {
  sqlite3_file base;  // first: SQLite sees this
  sqlite3_file* real;
  State* state;
  Role role;
  EVP_CIPHER_CTX* enc;
  EVP_CIPHER_CTX* dec;
  EVP_CIPHER_CTX* mask;  // AES-256-ECB under the mask key
  uint8_t* nonces;       // kNonceBatch random nonces from one CSPRNG call, each used once
  int nonces_used;
  uint8_t* plain;   // kFrame bytes of scratch for plaintext
  uint8_t* sealed;  // kFrame bytes of scratch for what is on disk
  // WAL: the header of the frame this connection wrote last, to bind its page content.
  int64_t cached_frame;
  uint8_t cached_header[kFrameHeader];
  // WAL, during crash recovery: frames up to the last commit frame read so far, and
  // whether the end of the log has been reported (once per recovery).
  int64_t recovery_committed;
  bool recovery_end_reported;
};

// SQLite rebuilds the wal-index from the log (crash recovery) only while it holds the
// wal-index's recover lock exclusively (WAL_RECOVER_LOCK, slot 2, in wal.c), and reads
// the log on the same thread meanwhile: this is how the shim knows that a read of the
// WAL is the recovery's.
constexpr int kWalRecoverLock = 2;
thread_local bool t_wal_recovery = false;

constexpr size_t kEncFileSize = (sizeof(EncFile) + 15) & ~size_t{15};
// One RAND_bytes call costs about as much as sealing half a page; drawing nonces in
// batches keeps them random (not counters) at a fraction of the cost.
constexpr int kNonceBatch = 256;

EncFile* Enc(sqlite3_file* f) { return reinterpret_cast<EncFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Enc(f)->real; }

// --- page sealing ------------------------------------------------------------------

// Encrypts a plaintext page into `out` (kPage bytes). On page 1 of the database file the
// SQLite magic is replaced by Pactum's. False if the page does not have the layout the
// format needs (its reserved bytes in use, or page 1 with another page size or reserve).
bool SealPage(EncFile* f, const Aad& aad, bool page_one, bool main_file_page_one,
              const uint8_t* plain, uint8_t* out) {
  for (int i = kBody; i < kPage; ++i) {
    if (plain[i] != 0) return false;  // SQLite would lose whatever it kept there
  }
  if (page_one) {
    // Page size 4096 (big-endian at 16) and 28 reserved bytes (at 20).
    if (plain[16] != 0x10 || plain[17] != 0x00 || plain[20] != kEncryptedReserveBytes) {
      return false;
    }
    if (main_file_page_one && std::memcmp(plain, kSqliteMagic.data(), kMagicBytes) != 0) {
      return false;
    }
  }
  const int start = main_file_page_one ? kMagicBytes : 0;
  uint8_t* nonce = out + kBody;
  uint8_t* tag = nonce + kNonce;
  if (f->nonces_used == kNonceBatch) {
    crypto::RandomBytes({f->nonces, size_t{kNonce} * kNonceBatch});
    f->nonces_used = 0;
  }
  std::memcpy(nonce, f->nonces + ptrdiff_t{kNonce} * f->nonces_used, kNonce);
  ++f->nonces_used;
  int n = 0;
  if (EVP_EncryptInit_ex(f->enc, nullptr, nullptr, nullptr, nonce) != 1 ||
      EVP_EncryptUpdate(f->enc, nullptr, &n, aad.bytes.data(), aad.size) != 1 ||
      EVP_EncryptUpdate(f->enc, out + start, &n, plain + start, kBody - start) != 1 ||
      EVP_EncryptFinal_ex(f->enc, out + start + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(f->enc, EVP_CTRL_GCM_GET_TAG, kTag, tag) != 1) {
    return false;
  }
  if (main_file_page_one) std::memcpy(out, kFileMagic.data(), kMagicBytes);
  return true;
}

// Decrypts a page read from disk into `out` (kPage bytes, reserved bytes zeroed). False
// when it does not authenticate.
bool OpenPage(EVP_CIPHER_CTX* dec, const Aad& aad, bool main_file_page_one, const uint8_t* sealed,
              uint8_t* out) {
  if (main_file_page_one && std::memcmp(sealed, kFileMagic.data(), kMagicBytes) != 0) {
    return false;
  }
  const int start = main_file_page_one ? kMagicBytes : 0;
  std::array<uint8_t, kTag> tag{};
  std::memcpy(tag.data(), sealed + kBody + kNonce, kTag);
  int n = 0;
  if (EVP_DecryptInit_ex(dec, nullptr, nullptr, nullptr, sealed + kBody) != 1 ||
      EVP_DecryptUpdate(dec, nullptr, &n, aad.bytes.data(), aad.size) != 1 ||
      EVP_DecryptUpdate(dec, out + start, &n, sealed + start, kBody - start) != 1 ||
      EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(dec, out + start + n, &n) != 1) {
    return false;
  }
  if (main_file_page_one) std::memcpy(out, kSqliteMagic.data(), kMagicBytes);
  std::memset(out + kBody, 0, kEncryptedReserveBytes);
  return true;
}

void LogAuthFailure(const EncFile* f, const char* file, int64_t position) {
  log::Error("store", "database page failed authentication (altered file or wrong key)",
             {{"file", file}, {f->role == Role::kMain ? "page" : "wal_frame", position}});
}

// SQLite's running checksum in a frame header (bytes 16-23) is computed over the page's
// plaintext; on disk it is masked with AES(mask key, WAL salts | frame index | state |
// "WH1"), so it cannot confirm a guess of a page's content. `state` tells a header whose
// salts and checksum SQLite has left zero (to be rewritten at commit) from a final one,
// so the two versions of one header never share a mask (their XOR would reveal the
// checksum). Masking and unmasking are the same XOR.
bool MaskChecksum(EncFile* f, int64_t frame, const uint8_t* salts, uint8_t* header) {
  std::array<uint8_t, 16> block{};
  std::memcpy(block.data(), salts, kSaltBytes);
  StoreU32Be(block.data() + 8, static_cast<uint32_t>(frame));
  bool pending = true;
  for (int i = 8; i < 16; ++i) pending = pending && header[i] == 0;
  block[12] = pending ? 1 : 2;
  std::memcpy(block.data() + 13, "WH1", 3);
  std::array<uint8_t, 32> out{};
  int n = 0;
  if (EVP_EncryptUpdate(f->mask, out.data(), &n, block.data(), 16) != 1 || n != 16) return false;
  for (int i = 0; i < 8; ++i) header[16 + i] ^= out[i];
  return true;
}

// The salts of the WAL's current generation, from its header on disk (another connection
// may have started the generation). Frame headers carry copies, but SQLite writes them
// zeroed while a transaction will rewrite checksums, so they cannot be bound.
int ReadWalSalts(EncFile* f, uint8_t* salts) {
  const int rc = f->real->pMethods->xRead(f->real, salts, kSaltBytes, kWalSaltOffset);
  return rc == SQLITE_IOERR_SHORT_READ ? SQLITE_IOERR_DATA : rc;
}

int FileSize(EncFile* f, sqlite3_int64* size) {
  return f->real->pMethods->xFileSize(f->real, size);
}

// --- database file -----------------------------------------------------------------

// Reads and decrypts page `index` (0-based) into `out`. SQLITE_IOERR_SHORT_READ with
// zeros when the page lies past the end of the file.
int LoadMainPage(EncFile* f, int64_t index, uint8_t* out) {
  const sqlite3_int64 offset = index * kPage;
  int rc = f->real->pMethods->xRead(f->real, f->sealed, kPage, offset);
  if (rc == SQLITE_IOERR_SHORT_READ) {
    sqlite3_int64 size = 0;
    if (FileSize(f, &size) != SQLITE_OK) return SQLITE_IOERR_READ;
    if (size <= offset) {
      std::memset(out, 0, kPage);
      return SQLITE_IOERR_SHORT_READ;
    }
    LogAuthFailure(f, "database", index + 1);  // a partial page: truncated file
    return SQLITE_IOERR_DATA;
  }
  if (rc != SQLITE_OK) return rc;
  const auto pgno = static_cast<uint32_t>(index + 1);
  if (!OpenPage(f->dec, MainAad(pgno), pgno == 1, f->sealed, out)) {
    LogAuthFailure(f, "database", pgno);
    return SQLITE_IOERR_DATA;
  }
  return SQLITE_OK;
}

int MainRead(EncFile* f, uint8_t* out, int amount, sqlite3_int64 offset) {
  bool short_read = false;
  while (amount > 0) {
    const int64_t index = offset / kPage;
    const int in_page = static_cast<int>(offset % kPage);
    const int n = std::min(amount, kPage - in_page);
    const bool whole = in_page == 0 && n == kPage;
    uint8_t* page = whole ? out : f->plain;
    const int rc = LoadMainPage(f, index, page);
    if (rc == SQLITE_IOERR_SHORT_READ) {
      short_read = true;
    } else if (rc != SQLITE_OK) {
      return rc;
    }
    if (!whole) std::memcpy(out, page + in_page, static_cast<size_t>(n));
    out += n;
    offset += n;
    amount -= n;
  }
  return short_read ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

int MainWrite(EncFile* f, const uint8_t* in, int amount, sqlite3_int64 offset) {
  while (amount > 0) {
    const int64_t index = offset / kPage;
    const int in_page = static_cast<int>(offset % kPage);
    const int n = std::min(amount, kPage - in_page);
    const uint8_t* page = in;
    if (in_page != 0 || n != kPage) {  // part of a page: read, modify, write
      const int rc = LoadMainPage(f, index, f->plain);
      if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
      std::memcpy(f->plain + in_page, in, static_cast<size_t>(n));
      page = f->plain;
    }
    const auto pgno = static_cast<uint32_t>(index + 1);
    if (!SealPage(f, MainAad(pgno), pgno == 1, pgno == 1, page, f->sealed)) {
      log::Error("store", "refused to write a database page without room for its nonce and tag",
                 {{"page", pgno}});
      return SQLITE_IOERR_WRITE;
    }
    const int rc = f->real->pMethods->xWrite(f->real, f->sealed, kPage, index * kPage);
    if (rc != SQLITE_OK) return rc;
    in += n;
    offset += n;
    amount -= n;
  }
  return SQLITE_OK;
}

// --- WAL -----------------------------------------------------------------------------

int64_t FrameOffset(int64_t frame) { return kWalHeader + frame * kFrame; }

// Reads one whole frame as stored into f->sealed. SQLITE_IOERR_SHORT_READ when it lies
// entirely past the end; SQLITE_IOERR_DATA when only part of it exists.
int LoadSealedFrame(EncFile* f, int64_t frame) {
  const int rc = f->real->pMethods->xRead(f->real, f->sealed, kFrame, FrameOffset(frame));
  if (rc != SQLITE_IOERR_SHORT_READ) return rc;
  sqlite3_int64 size = 0;
  if (FileSize(f, &size) != SQLITE_OK) return SQLITE_IOERR_READ;
  if (size <= FrameOffset(frame)) return SQLITE_IOERR_SHORT_READ;
  LogAuthFailure(f, "wal", frame + 1);
  return SQLITE_IOERR_DATA;
}

bool SameSalts(const uint8_t* frame_header, const uint8_t* salts) {
  return std::memcmp(frame_header + 8, salts, kSaltBytes) == 0;
}

bool ZeroSalts(const uint8_t* frame_header) {
  static constexpr uint8_t kZero[kSaltBytes] = {};
  return std::memcmp(frame_header + 8, kZero, kSaltBytes) == 0;
}

// What follows the frame where crash recovery ends the log: how many frames of the
// current generation's unfinished end lie from `first` on (their salts are the WAL's, or
// zero: written while SQLite still had to rewrite their checksums), up to the first frame
// of an older generation, a partial frame at the end of the file included; and whether
// one of them is a commit frame that authenticates — then a transaction was committed
// after `first` and the log did not end there by a crash.
struct Tail {
  int64_t frames = 0;
  bool committed_after = false;
};

Tail ScanTail(EncFile* f, int64_t first, const uint8_t* salts, bool look_for_commits) {
  Tail tail;
  sqlite3_int64 size = 0;
  if (FileSize(f, &size) != SQLITE_OK) return tail;
  std::vector<uint8_t> sealed(kFrame);
  std::vector<uint8_t> plain(kPage);
  for (int64_t frame = first; FrameOffset(frame) < size; ++frame) {
    if (FrameOffset(frame) + kFrame > size) {  // torn while the file grew
      ++tail.frames;
      break;
    }
    if (f->real->pMethods->xRead(f->real, sealed.data(), kFrame, FrameOffset(frame)) != SQLITE_OK) {
      break;
    }
    if (!SameSalts(sealed.data(), salts) && !ZeroSalts(sealed.data())) break;
    ++tail.frames;
    if (look_for_commits && LoadU32Be(sealed.data() + 4) != 0 && SameSalts(sealed.data(), salts) &&
        OpenPage(f->dec, WalAad(static_cast<uint32_t>(frame), salts, sealed.data()), false,
                 sealed.data() + kFrameHeader, plain.data())) {
      tail.committed_after = true;
      break;
    }
  }
  OPENSSL_cleanse(plain.data(), plain.size());
  return tail;
}

// Crash recovery ends the log at frame `end` (0-based): its salts are not the WAL's, it
// failed authentication (`failed`), or the file ends there. The frames after the last
// commit frame never committed; SQLite drops them. Reported once per recovery, as what it
// is: after a crash, an uncommitted (possibly torn) end is expected and is a warning; a
// frame that fails authentication with a committed transaction after it is not the end
// of a crash but an altered log, and an error.
void ReportLogEnd(EncFile* f, int64_t end, const uint8_t* salts, bool failed) {
  if (f->recovery_end_reported) return;
  f->recovery_end_reported = true;
  const Tail tail = ScanTail(f, end, salts, /*look_for_commits=*/failed);
  if (tail.committed_after) {
    LogAuthFailure(f, "wal", end + 1);
    return;
  }
  const int64_t dropped = end - f->recovery_committed + tail.frames;
  if (dropped <= 0) return;  // the log ended with a commit: nothing was lost
  nlohmann::json fields = {{"file", "wal"},
                           {"committed_frames", f->recovery_committed},
                           {"uncommitted_frames_dropped", dropped}};
  if (failed) fields["unauthenticated_frame"] = end + 1;
  log::Warn("store",
            "crash recovery dropped the uncommitted end of the WAL (a transaction cut short "
            "by the crash; nothing committed was lost)",
            fields);
}

int WalRead(EncFile* f, uint8_t* out, int amount, sqlite3_int64 offset) {
  // Recovery after a crash reads the log one whole frame at a time; so does SQLite when
  // it rewrites the checksums of a large transaction's frames at commit.
  const bool recovery_read =
      amount == kFrame && offset >= kWalHeader && (offset - kWalHeader) % kFrame == 0;
  const bool in_recovery = recovery_read && t_wal_recovery;
  bool short_read = false;
  while (amount > 0) {
    if (offset < kWalHeader) {  // the WAL header is not page content
      const int n = std::min<int>(amount, static_cast<int>(kWalHeader - offset));
      const int rc = f->real->pMethods->xRead(f->real, out, n, offset);
      if (rc == SQLITE_IOERR_SHORT_READ) {
        short_read = true;
      } else if (rc != SQLITE_OK) {
        return rc;
      }
      out += n;
      offset += n;
      amount -= n;
      continue;
    }
    const int64_t frame = (offset - kWalHeader) / kFrame;
    const int in_frame = static_cast<int>((offset - kWalHeader) % kFrame);
    const int n = std::min(amount, kFrame - in_frame);
    if (in_frame + n <= kFrameHeader) {  // frame header only: read it whole to unmask
      uint8_t header[kFrameHeader];
      const int rc = f->real->pMethods->xRead(f->real, header, kFrameHeader, FrameOffset(frame));
      if (rc == SQLITE_IOERR_SHORT_READ) {
        std::memset(out, 0, static_cast<size_t>(n));
        short_read = true;
      } else if (rc != SQLITE_OK) {
        return rc;
      } else {
        uint8_t salts[kSaltBytes];
        const int src = ReadWalSalts(f, salts);
        if (src != SQLITE_OK) return src;
        if (!MaskChecksum(f, frame, salts, header)) return SQLITE_IOERR_READ;
        std::memcpy(out, header + in_frame, static_cast<size_t>(n));
      }
    } else {
      const int rc = LoadSealedFrame(f, frame);
      if (rc == SQLITE_IOERR_SHORT_READ) {
        std::memset(out, 0, static_cast<size_t>(n));
        short_read = true;
      } else if (rc != SQLITE_OK) {
        return rc;
      } else {
        uint8_t salts[kSaltBytes];
        const int src = ReadWalSalts(f, salts);
        if (src != SQLITE_OK) return src;
        if (in_recovery && frame == 0) {
          f->recovery_committed = 0;
          f->recovery_end_reported = false;
        }
        std::memcpy(f->plain, f->sealed, kFrameHeader);
        if (!MaskChecksum(f, frame, salts, f->plain)) return SQLITE_IOERR_READ;
        if (in_recovery && !SameSalts(f->sealed, salts)) {
          // Not a frame of this generation: SQLite's salt check ends the log here, before
          // any use of the page, so it is not opened.
          std::memset(f->plain + kFrameHeader, 0, kPage);
          ReportLogEnd(f, frame, salts, /*failed=*/false);
        } else if (!OpenPage(f->dec, WalAad(static_cast<uint32_t>(frame), salts, f->sealed), false,
                             f->sealed + kFrameHeader, f->plain + kFrameHeader)) {
          if (!recovery_read) {
            LogAuthFailure(f, "wal", frame + 1);
            return SQLITE_IOERR_DATA;
          }
          // SQLite's checksum over these zeros fails and the log ends at this frame.
          std::memset(f->plain + kFrameHeader, 0, kPage);
          if (in_recovery) {
            ReportLogEnd(f, frame, salts, /*failed=*/true);
          } else {
            LogAuthFailure(f, "wal", frame + 1);
          }
        } else if (in_recovery) {
          if (LoadU32Be(f->sealed + 4) != 0) f->recovery_committed = frame + 1;
          sqlite3_int64 size = 0;
          if (FileSize(f, &size) == SQLITE_OK && FrameOffset(frame + 2) > size) {
            ReportLogEnd(f, frame + 1, salts, /*failed=*/false);  // the last whole frame
          }
        }
        std::memcpy(out, f->plain + in_frame, static_cast<size_t>(n));
      }
    }
    out += n;
    offset += n;
    amount -= n;
  }
  return short_read ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

int WalWrite(EncFile* f, const uint8_t* in, int amount, sqlite3_int64 offset) {
  auto* real = f->real;
  if (offset < kWalHeader) {
    if (offset + amount > kWalHeader) return SQLITE_IOERR_WRITE;
    // A new WAL header starts a new generation of frames.
    f->cached_frame = -1;
    return real->pMethods->xWrite(real, in, amount, offset);
  }
  const int64_t frame = (offset - kWalHeader) / kFrame;
  const int in_frame = static_cast<int>((offset - kWalHeader) % kFrame);
  uint8_t salts[kSaltBytes];
  if (const int rc = ReadWalSalts(f, salts); rc != SQLITE_OK) return SQLITE_IOERR_WRITE;
  if (in_frame + amount <= kFrameHeader) {  // a frame header, or part of one
    uint8_t header[kFrameHeader];
    if (in_frame != 0 || amount != kFrameHeader) {  // part of one: read, modify, write
      const int rc = real->pMethods->xRead(real, header, kFrameHeader, FrameOffset(frame));
      if (rc != SQLITE_OK || !MaskChecksum(f, frame, salts, header)) return SQLITE_IOERR_WRITE;
    }
    std::memcpy(header + in_frame, in, static_cast<size_t>(amount));
    std::memcpy(f->cached_header, header, kFrameHeader);
    f->cached_frame = frame;
    if (!MaskChecksum(f, frame, salts, header)) return SQLITE_IOERR_WRITE;
    return real->pMethods->xWrite(real, header, kFrameHeader, FrameOffset(frame));
  }
  const uint8_t* header = nullptr;
  const uint8_t* page = nullptr;
  if (in_frame == 0 && amount == kFrame) {  // header and page in one write
    header = in;
    page = in + kFrameHeader;
  } else if (in_frame == kFrameHeader && amount == kPage) {  // the page after its header
    if (f->cached_frame != frame) {
      const int rc =
          real->pMethods->xRead(real, f->cached_header, kFrameHeader, FrameOffset(frame));
      if (rc != SQLITE_OK) {
        f->cached_frame = -1;
        return rc == SQLITE_IOERR_SHORT_READ ? SQLITE_IOERR_WRITE : rc;
      }
      f->cached_frame = frame;
    }
    header = f->cached_header;
    page = in;
  } else {
    log::Error("store", "refused a WAL write that does not cover a whole page",
               {{"offset", offset}, {"bytes", amount}});
    return SQLITE_IOERR_WRITE;
  }
  const uint32_t pgno = LoadU32Be(header);
  std::memcpy(f->sealed, header, kFrameHeader);
  if (!SealPage(f, WalAad(static_cast<uint32_t>(frame), salts, header), pgno == 1, false, page,
                f->sealed + kFrameHeader)) {
    log::Error("store", "refused to write a WAL page without room for its nonce and tag",
               {{"page", pgno}});
    return SQLITE_IOERR_WRITE;
  }
  if (in_frame == 0) {
    if (!MaskChecksum(f, frame, salts, f->sealed)) return SQLITE_IOERR_WRITE;
    return real->pMethods->xWrite(real, f->sealed, kFrame, FrameOffset(frame));
  }
  return real->pMethods->xWrite(real, f->sealed + kFrameHeader, kPage, offset);
}

// --- io methods ------------------------------------------------------------------------

int XClose(sqlite3_file* file) {
  EncFile* f = Enc(file);
  const int rc = f->real->pMethods != nullptr ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  EVP_CIPHER_CTX_free(f->enc);
  EVP_CIPHER_CTX_free(f->dec);
  EVP_CIPHER_CTX_free(f->mask);
  if (f->plain != nullptr) OPENSSL_cleanse(f->plain, kFrame);
  if (f->nonces != nullptr) OPENSSL_cleanse(f->nonces, size_t{kNonce} * kNonceBatch);
  sqlite3_free(f->plain);
  sqlite3_free(f->nonces);
  sqlite3_free(f->sealed);
  f->enc = f->dec = f->mask = nullptr;
  f->plain = f->sealed = f->nonces = nullptr;
  return rc;
}

int XRead(sqlite3_file* file, void* buf, int amount, sqlite3_int64 offset) {
  EncFile* f = Enc(file);
  auto* out = static_cast<uint8_t*>(buf);
  return f->role == Role::kMain ? MainRead(f, out, amount, offset)
                                : WalRead(f, out, amount, offset);
}

int XWrite(sqlite3_file* file, const void* buf, int amount, sqlite3_int64 offset) {
  EncFile* f = Enc(file);
  const auto* in = static_cast<const uint8_t*>(buf);
  return f->role == Role::kMain ? MainWrite(f, in, amount, offset)
                                : WalWrite(f, in, amount, offset);
}

int XTruncate(sqlite3_file* file, sqlite3_int64 size) {
  EncFile* f = Enc(file);
  if (f->role == Role::kMain && size % kPage != 0) return SQLITE_IOERR_TRUNCATE;
  if (f->role == Role::kWal) f->cached_frame = -1;
  return Real(file)->pMethods->xTruncate(Real(file), size);
}

int XSync(sqlite3_file* file, int flags) { return Real(file)->pMethods->xSync(Real(file), flags); }
int XFileSize(sqlite3_file* file, sqlite3_int64* size) {
  return Real(file)->pMethods->xFileSize(Real(file), size);
}
int XLock(sqlite3_file* file, int lock) { return Real(file)->pMethods->xLock(Real(file), lock); }
int XUnlock(sqlite3_file* file, int lock) {
  return Real(file)->pMethods->xUnlock(Real(file), lock);
}
int XCheckReservedLock(sqlite3_file* file, int* out) {
  return Real(file)->pMethods->xCheckReservedLock(Real(file), out);
}
int XFileControl(sqlite3_file* file, int op, void* arg) {
  return Real(file)->pMethods->xFileControl(Real(file), op, arg);
}
int XSectorSize(sqlite3_file* file) { return Real(file)->pMethods->xSectorSize(Real(file)); }
// Powersafe overwrite is the unix VFS's default; stating it keeps SQLite from padding
// commits to a sector boundary, which splits page writes (the shim refuses partial WAL
// page writes rather than guess).
int XDeviceCharacteristics(sqlite3_file* file) {
  return Real(file)->pMethods->xDeviceCharacteristics(Real(file)) |
         SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}
int XShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return Real(file)->pMethods->xShmMap(Real(file), region, size, extend, out);
}
int XShmLock(sqlite3_file* file, int offset, int n, int flags) {
  const int rc = Real(file)->pMethods->xShmLock(Real(file), offset, n, flags);
  if (offset <= kWalRecoverLock && kWalRecoverLock < offset + n) {
    if ((flags & SQLITE_SHM_UNLOCK) != 0) {
      t_wal_recovery = false;
    } else if ((flags & SQLITE_SHM_EXCLUSIVE) != 0 && rc == SQLITE_OK) {
      t_wal_recovery = true;
    }
  }
  return rc;
}
void XShmBarrier(sqlite3_file* file) { Real(file)->pMethods->xShmBarrier(Real(file)); }
int XShmUnmap(sqlite3_file* file, int delete_flag) {
  return Real(file)->pMethods->xShmUnmap(Real(file), delete_flag);
}
// Memory-mapped reads would bypass decryption: never offered.
int XFetch(sqlite3_file* /*file*/, sqlite3_int64 /*offset*/, int /*amount*/, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int XUnfetch(sqlite3_file* /*file*/, sqlite3_int64 /*offset*/, void* /*p*/) { return SQLITE_OK; }

constexpr sqlite3_io_methods kIoMethods = {3,
                                           XClose,
                                           XRead,
                                           XWrite,
                                           XTruncate,
                                           XSync,
                                           XFileSize,
                                           XLock,
                                           XUnlock,
                                           XCheckReservedLock,
                                           XFileControl,
                                           XSectorSize,
                                           XDeviceCharacteristics,
                                           XShmMap,
                                           XShmLock,
                                           XShmBarrier,
                                           XShmUnmap,
                                           XFetch,
                                           XUnfetch};

// --- vfs methods -----------------------------------------------------------------------

State* St(sqlite3_vfs* vfs) { return static_cast<State*>(vfs->pAppData); }
sqlite3_vfs* Root(sqlite3_vfs* vfs) { return St(vfs)->root; }

int XOpen(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  EncFile* f = Enc(file);
  std::memset(f, 0, sizeof(EncFile));
  f->base.pMethods = nullptr;
  if ((flags & SQLITE_OPEN_MAIN_DB) != 0) {
    f->role = Role::kMain;
  } else if ((flags & SQLITE_OPEN_WAL) != 0) {
    f->role = Role::kWal;
  } else {
    log::Error("store", "refused to open a SQLite file that would hold data in clear",
               {{"flags", flags}});
    return SQLITE_CANTOPEN;
  }
  State* st = St(vfs);
  f->state = st;
  f->cached_frame = -1;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kEncFileSize);
  std::memset(f->real, 0, static_cast<size_t>(st->root->szOsFile));
  int rc = st->root->xOpen(st->root, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  f->enc = EVP_CIPHER_CTX_new();
  f->dec = EVP_CIPHER_CTX_new();
  f->mask = EVP_CIPHER_CTX_new();
  f->plain = static_cast<uint8_t*>(sqlite3_malloc(kFrame));
  f->sealed = static_cast<uint8_t*>(sqlite3_malloc(kFrame));
  f->nonces = static_cast<uint8_t*>(sqlite3_malloc(kNonce * kNonceBatch));
  f->nonces_used = kNonceBatch;  // drawn on first use
  if (f->enc == nullptr || f->dec == nullptr || f->mask == nullptr || f->plain == nullptr ||
      f->sealed == nullptr || f->nonces == nullptr ||
      EVP_EncryptInit_ex(f->enc, EVP_aes_256_gcm(), nullptr, st->key.data(), nullptr) != 1 ||
      EVP_DecryptInit_ex(f->dec, EVP_aes_256_gcm(), nullptr, st->key.data(), nullptr) != 1 ||
      EVP_EncryptInit_ex(f->mask, EVP_aes_256_ecb(), nullptr, st->mask_key.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(f->mask, 0) != 1) {
    XClose(file);
    return SQLITE_NOMEM;
  }
  f->base.pMethods = &kIoMethods;
  return SQLITE_OK;
}

int XDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Root(vfs)->xDelete(Root(vfs), name, sync_dir);
}
int XAccess(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Root(vfs)->xAccess(Root(vfs), name, flags, out);
}
int XFullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Root(vfs)->xFullPathname(Root(vfs), name, n, out);
}
void* XDlOpen(sqlite3_vfs* vfs, const char* name) { return Root(vfs)->xDlOpen(Root(vfs), name); }
void XDlError(sqlite3_vfs* vfs, int n, char* out) { Root(vfs)->xDlError(Root(vfs), n, out); }
void (*XDlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))() {
  return Root(vfs)->xDlSym(Root(vfs), handle, symbol);
}
void XDlClose(sqlite3_vfs* vfs, void* handle) { Root(vfs)->xDlClose(Root(vfs), handle); }
int XRandomness(sqlite3_vfs* vfs, int n, char* out) {
  return Root(vfs)->xRandomness(Root(vfs), n, out);
}
int XSleep(sqlite3_vfs* vfs, int micros) { return Root(vfs)->xSleep(Root(vfs), micros); }
int XCurrentTime(sqlite3_vfs* vfs, double* out) { return Root(vfs)->xCurrentTime(Root(vfs), out); }
int XGetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Root(vfs)->xGetLastError(Root(vfs), n, out);
}
int XCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Root(vfs)->xCurrentTimeInt64(Root(vfs), out);
}

std::atomic<uint64_t> next_instance{1};

}  // namespace

EncryptedVfs::EncryptedVfs(std::unique_ptr<State> state) : state_(std::move(state)) {}

EncryptedVfs::~EncryptedVfs() { sqlite3_vfs_unregister(&state_->vfs); }

const char* EncryptedVfs::name() const { return state_->name.c_str(); }

Result<std::unique_ptr<EncryptedVfs>> EncryptedVfs::Register(crypto::SecretBytes key) {
  if (key.size() != 32) return InvalidArgument("the database key must be 32 bytes");
  if (sqlite3_initialize() != SQLITE_OK) return Internal("sqlite3_initialize failed");
  sqlite3_vfs* root = sqlite3_vfs_find(nullptr);
  if (root == nullptr || root->iVersion < 3) return Internal("no usable default SQLite VFS");
  auto state = std::make_unique<State>();
  state->root = root;
  state->mask_key = crypto::SecretBytes(32);
  {
    constexpr std::string_view kLabel = "pactum-wal-mask-v1";
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    unsigned int len = 0;
    const bool ok = md != nullptr && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1 &&
                    EVP_DigestUpdate(md, kLabel.data(), kLabel.size()) == 1 &&
                    EVP_DigestUpdate(md, key.data(), key.size()) == 1 &&
                    EVP_DigestFinal_ex(md, state->mask_key.data(), &len) == 1 && len == 32;
    EVP_MD_CTX_free(md);
    if (!ok) return Internal("deriving the WAL mask key failed");
  }
  state->key = std::move(key);
  state->name = "pactum-gcm-" + std::to_string(next_instance.fetch_add(1));
  sqlite3_vfs& v = state->vfs;
  v.iVersion = 3;
  v.szOsFile = static_cast<int>(kEncFileSize) + root->szOsFile;
  v.mxPathname = root->mxPathname;
  v.zName = state->name.c_str();
  v.pAppData = state.get();
  v.xOpen = XOpen;
  v.xDelete = XDelete;
  v.xAccess = XAccess;
  v.xFullPathname = XFullPathname;
  v.xDlOpen = XDlOpen;
  v.xDlError = XDlError;
  v.xDlSym = XDlSym;
  v.xDlClose = XDlClose;
  v.xRandomness = XRandomness;
  v.xSleep = XSleep;
  v.xCurrentTime = XCurrentTime;
  v.xGetLastError = XGetLastError;
  v.xCurrentTimeInt64 = XCurrentTimeInt64;
  // xSetSystemCall and friends stay null: the shim does not let callers swap syscalls.
  if (sqlite3_vfs_register(&v, 0) != SQLITE_OK) return Internal("sqlite3_vfs_register failed");
  return std::unique_ptr<EncryptedVfs>(new EncryptedVfs(std::move(state)));
}

Status CheckDatabaseKey(const std::string& path, std::span<const uint8_t> key) {
  if (key.size() != 32) return InvalidArgument("the database key must be 32 bytes");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable("cannot read database file " + path);
  std::vector<uint8_t> sealed(kPage);
  const ssize_t n = ::pread(fd, sealed.data(), sealed.size(), 0);
  ::close(fd);
  if (n != kPage) return DataLoss("database file " + path + " is truncated");
  std::vector<uint8_t> plain(kPage);
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  const bool ok = dec != nullptr &&
                  EVP_DecryptInit_ex(dec, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) == 1 &&
                  OpenPage(dec, MainAad(1), true, sealed.data(), plain.data());
  EVP_CIPHER_CTX_free(dec);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!ok) {
    return DataLoss("database file " + path +
                    " does not open with its key: the file was altered or the key is wrong");
  }
  return Status::Ok();
}

Result<DatabaseFileKind> ClassifyDatabaseFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return DatabaseFileKind::kNew;
    return Unavailable("cannot read database file " + path);
  }
  std::array<uint8_t, kMagicBytes> head{};
  const ssize_t n = ::pread(fd, head.data(), head.size(), 0);
  ::close(fd);
  if (n < 0) return Unavailable("cannot read database file " + path);
  if (n == 0) return DatabaseFileKind::kNew;
  if (n == kMagicBytes && head == kFileMagic) return DatabaseFileKind::kEncrypted;
  if (n == kMagicBytes && head == kSqliteMagic) return DatabaseFileKind::kPlainSqlite;
  return DatabaseFileKind::kOther;
}

}  // namespace pactum::store
