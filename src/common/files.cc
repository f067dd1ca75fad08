#include "common/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <system_error>

#include "common/file_system.h"

namespace pactum {
namespace {

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " +
         std::error_code(errno, std::generic_category()).message();
}

// These helpers promise kInternal (and kNotFound / kAlreadyExists where stated) whatever
// the port's code: their callers report them as failures of the server, not the client.
Status AsInternal(const Status& s) { return Internal(s.detail()); }

// A name for a temporary beside `name` that no other writer picks: random, not secret.
std::string TemporaryName(const std::string& name) {
  uint8_t bytes[8];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    // Only where getrandom is blocked (seccomp): unique within the process, and the
    // exclusive create refuses a name another process took.
    static std::atomic<uint64_t> counter{0};
    const uint64_t n = counter.fetch_add(1) + (static_cast<uint64_t>(::getpid()) << 32);
    std::memcpy(bytes, &n, sizeof bytes);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = name + ".tmp-";
  for (const uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// Writes `data` to a new temporary file in `dir` beside `name` (exactly `mode`, fsync);
// returns its name. On error nothing is left.
Result<std::string> WriteTemporary(Directory& dir, const std::string& name, std::string_view data,
                                   mode_t mode) {
  const std::string tmp = TemporaryName(name);
  auto file = dir.CreateFile(tmp, mode);
  if (!file.ok()) return AsInternal(file.status());
  Status s = (*file)->Append(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  if (s.ok()) s = (*file)->Sync();
  if (!s.ok()) {
    file->reset();
    (void)dir.Remove(tmp);
    return AsInternal(s);
  }
  return tmp;
}

Result<std::unique_ptr<Directory>> OpenDirectoryOf(FileSystem& fs, const SplitPath& split) {
  auto dir = fs.OpenDirectory(split.directory);
  if (!dir.ok()) return AsInternal(dir.status());
  return dir;
}

}  // namespace

Status FsyncDirectory(FileSystem& fs, const std::string& dir) {
  auto opened = fs.OpenDirectory(dir);
  if (!opened.ok()) return AsInternal(opened.status());
  if (Status s = (*opened)->Sync(); !s.ok()) return AsInternal(s);
  return Status::Ok();
}

Status WriteFileAtomic(FileSystem& fs, const std::string& path, std::string_view data,
                       mode_t mode) {
  const SplitPath split = SplitLast(path);
  ASSIGN_OR_RETURN(auto dir, OpenDirectoryOf(fs, split));
  ASSIGN_OR_RETURN(const std::string tmp, WriteTemporary(*dir, split.name, data, mode));
  if (Status s = dir->Rename(tmp, *dir, split.name); !s.ok()) {
    (void)dir->Remove(tmp);
    return AsInternal(s);
  }
  if (Status s = dir->Sync(); !s.ok()) return AsInternal(s);
  return Status::Ok();
}

Status WriteFileExclusive(FileSystem& fs, const std::string& path, std::string_view data,
                          mode_t mode) {
  const SplitPath split = SplitLast(path);
  ASSIGN_OR_RETURN(auto dir, OpenDirectoryOf(fs, split));
  ASSIGN_OR_RETURN(const std::string tmp, WriteTemporary(*dir, split.name, data, mode));
  const Status linked = dir->Link(tmp, *dir, split.name);
  (void)dir->Remove(tmp);
  if (!linked.ok()) {
    if (linked.code() == StatusCode::kAlreadyExists) return AlreadyExists(path + " exists");
    return AsInternal(linked);
  }
  if (Status s = dir->Sync(); !s.ok()) {
    // Not durable: take the name back, so the caller's retry writes it anew instead of
    // finding a file that a power cut may still take away.
    (void)dir->Remove(split.name);
    return AsInternal(s);
  }
  return Status::Ok();
}

Result<std::string> ReadFile(FileSystem& fs, const std::string& path) {
  auto source = fs.OpenFile(path, 0);
  if (!source.ok()) {
    if (source.status().code() == StatusCode::kNotFound) return NotFound("file not found: " + path);
    return AsInternal(source.status());
  }
  std::string out;
  uint8_t buf[8192];
  for (;;) {
    auto n = (*source)->Read(buf);
    if (!n.ok()) return AsInternal(n.status());
    if (*n == 0) break;
    out.append(reinterpret_cast<const char*>(buf), *n);
  }
  return out;
}

Status MakeDirectories(FileSystem& fs, const std::string& path, mode_t mode) {
  if (fs.OpenDirectory(path).ok()) return Status::Ok();
  const SplitPath split = SplitLast(path);
  if (split.directory != path && split.directory != ".") {
    RETURN_IF_ERROR(MakeDirectories(fs, split.directory, mode));
  }
  ASSIGN_OR_RETURN(auto parent, OpenDirectoryOf(fs, split));
  const Status made = parent->CreateDirectory(split.name, mode);
  if (!made.ok() && made.code() != StatusCode::kAlreadyExists) return AsInternal(made);
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  return WriteFileAtomic(LocalFileSystem(), path, data, mode);
}

Status WriteFileExclusive(const std::string& path, std::string_view data, mode_t mode) {
  return WriteFileExclusive(LocalFileSystem(), path, data, mode);
}

Status FsyncDirectory(const std::string& dir) { return FsyncDirectory(LocalFileSystem(), dir); }

Result<std::string> ReadFile(const std::string& path) { return ReadFile(LocalFileSystem(), path); }

Status MakeDirectories(const std::string& path, mode_t mode) {
  return MakeDirectories(LocalFileSystem(), path, mode);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

Result<FileLock> FileLock::Acquire(const std::string& path, bool exclusive, bool wait) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Internal(Errno("open lock file", path));
  FileLock lock(fd);
  int rc = 0;
  do {
    rc = ::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno == EWOULDBLOCK) return Unavailable("lock " + path + " is held by another process");
    return Internal(Errno("lock", path));
  }
  return lock;
}

}  // namespace pactum
