// The FileSystem of common/file_system.h on POSIX calls. Directory handles are open
// descriptors and their methods are the *at(2) calls on them, with O_NOFOLLOW /
// AT_SYMLINK_NOFOLLOW for the last segment.

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "common/file_system.h"

namespace pactum {
namespace {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }

 private:
  void Reset() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }
  int fd_ = -1;
};

Fd OpenAt(int dir, const std::string& name, int flags, mode_t mode = 0) {
  int fd = -1;
  do {
    fd = ::openat(dir, name.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return Fd(fd);
}

Status Error(std::string_view what, std::string_view path) {
  return FileSystemError(errno, what, path);
}

Status NotRegular(std::string_view path) {
  return {StatusCode::kFailedPrecondition, "open: not a regular file",
          "open " + std::string(path) + ": not a regular file"};
}

// Clears the O_NONBLOCK that kept the open of a planted pipe from hanging.
Status Blocking(const Fd& fd, std::string_view path) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return Error("fcntl", path);
  }
  return Status::Ok();
}

FileInfo InfoOf(const struct stat& st) {
  FileInfo info;
  info.type = S_ISREG(st.st_mode)   ? FileType::kRegular
              : S_ISDIR(st.st_mode) ? FileType::kDirectory
                                    : FileType::kOther;
  info.size = static_cast<uint64_t>(st.st_size);
  info.device = static_cast<uint64_t>(st.st_dev);
  info.modified = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  return info;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(Fd fd, std::string path, uint64_t size)
      : fd_(std::move(fd)), path_(std::move(path)), size_(size) {}

  Status Append(std::span<const uint8_t> data) override {
    const uint8_t* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_.get(), p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error("write", path_);
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    // A hint only: its failure changes nothing about durability, which is Sync's job.
    ::sync_file_range(fd_.get(), static_cast<off_t>(size_), static_cast<off_t>(data.size()),
                      SYNC_FILE_RANGE_WRITE);
    size_ += data.size();
    return Status::Ok();
  }

  Status Sync() override {
    int rc = 0;
    do {
      rc = ::fsync(fd_.get());
    } while (rc != 0 && errno == EINTR);
    return rc == 0 ? Status::Ok() : Error("fsync", path_);
  }

  Status Truncate(uint64_t size) override {
    int rc = 0;
    do {
      rc = ::ftruncate(fd_.get(), static_cast<off_t>(size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return Error("truncate", path_);
    size_ = size;
    return Status::Ok();
  }

 private:
  Fd fd_;
  const std::string path_;
  uint64_t size_;  // where the next append lands
};

class PosixFileSource final : public ByteSource {
 public:
  PosixFileSource(Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    for (;;) {
      const ssize_t n = ::read(fd_.get(), out.data(), out.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Error("read", path_);
    }
  }

 private:
  Fd fd_;
  const std::string path_;
};

// Seeks to `offset` and hints sequential reading: every reader here streams.
Result<std::unique_ptr<ByteSource>> SourceFrom(Fd fd, std::string path, uint64_t offset) {
  if (offset > 0 && ::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) {
    return Error("seek", path);
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ByteSource>(
      std::make_unique<PosixFileSource>(std::move(fd), std::move(path)));
}

class PosixDirectory final : public Directory {
 public:
  PosixDirectory(Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  const std::string& path() const override { return path_; }

  Result<std::unique_ptr<Directory>> OpenDirectory(std::string_view name) override {
    const std::string n(name);
    Fd dir = OpenAt(fd_.get(), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dir.valid()) return Error("open directory", JoinPath(path_, n));
    return std::unique_ptr<Directory>(
        std::make_unique<PosixDirectory>(std::move(dir), JoinPath(path_, n)));
  }

  Status CreateDirectory(std::string_view name, mode_t mode) override {
    const std::string n(name);
    if (::mkdirat(fd_.get(), n.c_str(), mode) != 0) return Error("mkdir", JoinPath(path_, n));
    return Status::Ok();
  }

  Result<std::unique_ptr<WritableFile>> CreateFile(std::string_view name, mode_t mode) override {
    const std::string n(name);
    const std::string path = JoinPath(path_, n);
    Fd file = OpenAt(fd_.get(), n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    if (!file.valid()) return Error("create", path);
    // Exactly `mode`: a certificate meant to be 0644 stays readable whatever the umask.
    if (::fchmod(file.get(), mode) != 0) {
      Status s = Error("chmod", path);
      ::unlinkat(fd_.get(), n.c_str(), 0);
      return s;
    }
    return std::unique_ptr<WritableFile>(
        std::make_unique<PosixWritableFile>(std::move(file), path, 0));
  }

  Result<std::unique_ptr<WritableFile>> OpenForAppend(std::string_view name, mode_t mode) override {
    const std::string n(name);
    const std::string path = JoinPath(path_, n);
    Fd file = OpenAt(fd_.get(), n, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK, mode);
    if (!file.valid()) return Error("open", path);
    struct stat st {};
    if (::fstat(file.get(), &st) != 0) return Error("stat", path);
    if (!S_ISREG(st.st_mode)) return NotRegular(path);
    RETURN_IF_ERROR(Blocking(file, path));
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(
        std::move(file), path, static_cast<uint64_t>(st.st_size)));
  }

  Result<std::unique_ptr<ByteSource>> OpenFile(std::string_view name, uint64_t offset) override {
    const std::string n(name);
    const std::string path = JoinPath(path_, n);
    // O_NONBLOCK: opening a pipe planted under the name must not hang the caller.
    Fd file = OpenAt(fd_.get(), n, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (!file.valid()) return Error("open", path);
    struct stat st {};
    if (::fstat(file.get(), &st) != 0) return Error("stat", path);
    if (!S_ISREG(st.st_mode)) return NotRegular(path);
    RETURN_IF_ERROR(Blocking(file, path));
    return SourceFrom(std::move(file), path, offset);
  }

  Result<FileLock> TryLock(std::string_view name) override {
    const std::string n(name);
    const std::string path = JoinPath(path_, n);
    Fd file = OpenAt(fd_.get(), n, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (!file.valid()) return Error("open", path);
    int rc = 0;
    do {
      rc = ::flock(file.get(), LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      if (errno == EWOULDBLOCK) return Unavailable("the file is locked", "lock " + path);
      return Error("lock", path);
    }
    return FileLock(file.release());
  }

  Status Link(std::string_view name, Directory& to, std::string_view to_name) override {
    auto* dest = dynamic_cast<PosixDirectory*>(&to);
    if (dest == nullptr) return Internal("link across file systems: " + JoinPath(path_, name));
    const std::string from(name);
    const std::string target(to_name);
    if (::linkat(fd_.get(), from.c_str(), dest->fd_.get(), target.c_str(), 0) != 0) {
      return Error("link", JoinPath(dest->path_, target));
    }
    return Status::Ok();
  }

  Status Rename(std::string_view name, Directory& to, std::string_view to_name) override {
    auto* dest = dynamic_cast<PosixDirectory*>(&to);
    if (dest == nullptr) return Internal("rename across file systems: " + JoinPath(path_, name));
    const std::string from(name);
    const std::string target(to_name);
    if (::renameat(fd_.get(), from.c_str(), dest->fd_.get(), target.c_str()) != 0) {
      return Error("rename", JoinPath(dest->path_, target));
    }
    return Status::Ok();
  }

  Status Remove(std::string_view name) override {
    const std::string n(name);
    if (::unlinkat(fd_.get(), n.c_str(), 0) != 0) return Error("unlink", JoinPath(path_, n));
    return Status::Ok();
  }

  Result<FileInfo> Stat(std::string_view name) override {
    const std::string n(name);
    struct stat st {};
    if (::fstatat(fd_.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return Error("stat", JoinPath(path_, n));
    }
    return InfoOf(st);
  }

  Result<std::vector<std::string>> List() override {
    // A descriptor of its own (not dup(2), which would share the read position with
    // other threads listing the same handle); closedir closes it.
    Fd listing = OpenAt(fd_.get(), ".", O_RDONLY | O_DIRECTORY);
    if (!listing.valid()) return Error("list", path_);
    DIR* dir = ::fdopendir(listing.get());
    if (dir == nullptr) return Error("list", path_);
    listing.release();
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe): own DIR
      const std::string_view n = entry->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    const int err = errno;
    ::closedir(dir);
    if (err != 0) return FileSystemError(err, "list", path_);
    return names;
  }

  Status Sync() override {
    int rc = 0;
    do {
      rc = ::fsync(fd_.get());
    } while (rc != 0 && errno == EINTR);
    return rc == 0 ? Status::Ok() : Error("fsync directory", path_);
  }

 private:
  Fd fd_;
  const std::string path_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<Directory>> OpenDirectory(const std::string& path) override {
    Fd dir = OpenAt(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
    if (!dir.valid()) return Error("open directory", path);
    return std::unique_ptr<Directory>(std::make_unique<PosixDirectory>(std::move(dir), path));
  }

  Result<std::unique_ptr<ByteSource>> OpenFile(const std::string& path, uint64_t offset) override {
    Fd file = OpenAt(AT_FDCWD, path, O_RDONLY);
    if (!file.valid()) return Error("open", path);
    return SourceFrom(std::move(file), path, offset);
  }
};

}  // namespace

FileSystem& LocalFileSystem() {
  static PosixFileSystem fs;  // no state: nothing to go wrong in its destructor at exit
  return fs;
}

Status FileSystemError(int err, std::string_view what, std::string_view path) {
  const std::string reason = std::error_code(err, std::generic_category()).message();
  std::string message = std::string(what) + ": " + reason;
  std::string detail = std::string(what) + " " + std::string(path) + ": " + reason;
  switch (err) {
    case ENOENT:
      return {StatusCode::kNotFound, std::move(message), std::move(detail)};
    case EEXIST:
      return {StatusCode::kAlreadyExists, std::move(message), std::move(detail)};
    case ENOSPC:
    case EDQUOT:
      return {StatusCode::kResourceExhausted, std::move(message), std::move(detail)};
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case ENOTEMPTY:
      return {StatusCode::kFailedPrecondition, std::move(message), std::move(detail)};
    default:
      return {StatusCode::kUnavailable, std::move(message), std::move(detail)};
  }
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  if (out.back() != '/') out += '/';
  out += name;
  return out;
}

SplitPath SplitLast(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {".", std::string(path)};
  if (slash == 0) return {"/", std::string(path.substr(1))};
  return {std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

}  // namespace pactum
