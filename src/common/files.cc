#include "common/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <filesystem>
#include <system_error>

namespace pactum {
namespace {

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " +
         std::error_code(errno, std::generic_category()).message();
}

}  // namespace

Status FsyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Internal(Errno("open directory", dir));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Internal(Errno("fsync directory", dir));
  return Status::Ok();
}

namespace {

Status FsyncDirectoryOf(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return FsyncDirectory(parent.empty() ? std::string(".") : parent.string());
}

}  // namespace

namespace {

// Writes `data` to a new temporary file beside `path` (mode, fsync); returns its name.
Result<std::string> WriteTemporary(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return Internal(Errno("create temporary file for", path));
  auto fail = [&](const std::string& why) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Internal(why);
  };
  if (::fchmod(fd, mode) != 0) return fail(Errno("chmod", tmp));
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errno("write", tmp));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail(Errno("fsync", tmp));
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Internal(Errno("close", tmp));
  }
  return tmp;
}

}  // namespace

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  ASSIGN_OR_RETURN(const std::string tmp, WriteTemporary(path, data, mode));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Internal(Errno("rename to", path));
  }
  return FsyncDirectoryOf(path);
}

Status WriteFileExclusive(const std::string& path, std::string_view data, mode_t mode) {
  ASSIGN_OR_RETURN(const std::string tmp, WriteTemporary(path, data, mode));
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (err == EEXIST) return AlreadyExists(path + " exists");
    errno = err;
    return Internal(Errno("link", path));
  }
  return FsyncDirectoryOf(path);
}

Result<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("file not found: " + path);
    return Internal(Errno("open", path));
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return Internal(Errno("read", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status MakeDirectories(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::path p(path);
  std::filesystem::path so_far;
  for (const auto& part : p) {
    so_far /= part;
    if (so_far.string().empty() || std::filesystem::exists(so_far, ec)) continue;
    if (::mkdir(so_far.c_str(), mode) != 0 && errno != EEXIST) {
      return Internal(Errno("mkdir", so_far.string()));
    }
  }
  return Status::Ok();
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
