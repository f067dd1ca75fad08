#include "backup/local_target.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "common/files.h"
#include "crypto/random.h"

namespace pactum::backup {
namespace {

constexpr size_t kBufferBytes = 1 << 20;
constexpr char kTmpDir[] = ".tmp";

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

 private:
  void Reset() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }
  int fd_ = -1;
};

Fd OpenAt(int dir, const char* path, int flags, mode_t mode = 0) {
  int fd = -1;
  do {
    fd = ::openat(dir, path, flags | O_CLOEXEC | O_NOFOLLOW, mode);
  } while (fd < 0 && errno == EINTR);
  return Fd(fd);
}

Fd OpenDirectoryAt(int dir, const char* path) { return OpenAt(dir, path, O_RDONLY | O_DIRECTORY); }

int Fsync(int fd) {
  int rc = 0;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

// The '/'-separated segments of a valid object name.
std::vector<std::string> Segments(std::string_view name) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) {
      out.emplace_back(name.substr(start));
      return out;
    }
    out.emplace_back(name.substr(start, slash - start));
    start = slash + 1;
  }
}

// The status for a failed system call (errno) on `path` in target `target`:
// kResourceExhausted for a full disk or quota, kUnavailable for anything else. Paths go to
// the detail only.
Status IoError(const std::string& target, const std::string& directory, std::string_view what,
               std::string_view path) {
  const int err = errno;
  std::string detail = std::string(what) + " " + directory + "/" + std::string(path) + ": " +
                       std::error_code(err, std::generic_category()).message();
  if (err == ENOSPC || err == EDQUOT) {
    return Status(StatusCode::kResourceExhausted, "backup target " + target + " is full",
                  std::move(detail));
  }
  return Unavailable("backup target " + target + " is unavailable", std::move(detail));
}

class LocalTarget final : public BackupTarget {
 public:
  LocalTarget(std::string name, std::string directory)
      : name_(std::move(name)), directory_(std::move(directory)) {}

  const std::string& name() const override { return name_; }

  Status PutIfAbsent(std::string_view name, ByteSource& source) override;
  Result<std::unique_ptr<ByteSource>> Get(std::string_view name) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view name) override;

  // Creates the directory and .tmp/, and removes unlocked temporaries.
  Status Init();

  Status IoError(std::string_view what, std::string_view path) const {
    return backup::IoError(name_, directory_, what, path);
  }

 private:
  // The target's directory, opened anew for each call.
  Result<Fd> OpenRoot() const {
    Fd root(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) return IoError("open", "");
    return root;
  }

  // Opens the directories on the way to object `name`: returns them root first, the
  // object's own directory last. With `create`, missing ones are created. kNotFound when
  // one is missing (without `create`) or is not a directory.
  Result<std::vector<Fd>> OpenPath(const std::vector<std::string>& segments, bool create) const;

  Status RemoveStaleTemporaries(int root);

  const std::string name_;
  const std::string directory_;
};

// Reads an object's file descriptor, which it owns. May outlive its target.
class FileSource final : public ByteSource {
 public:
  FileSource(Fd fd, std::string target, std::string directory, std::string name)
      : fd_(std::move(fd)),
        target_(std::move(target)),
        directory_(std::move(directory)),
        name_(std::move(name)) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    for (;;) {
      const ssize_t n = ::read(fd_.get(), out.data(), out.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return IoError(target_, directory_, "read", name_);
    }
  }

 private:
  Fd fd_;
  const std::string target_;
  const std::string directory_;
  const std::string name_;
};

Result<std::vector<Fd>> LocalTarget::OpenPath(const std::vector<std::string>& segments,
                                              bool create) const {
  std::vector<Fd> dirs;
  ASSIGN_OR_RETURN(Fd root, OpenRoot());
  dirs.push_back(std::move(root));
  std::string so_far;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    const char* segment = segments[i].c_str();
    so_far += segments[i] + "/";
    if (create && ::mkdirat(dirs.back().get(), segment, 0700) != 0 && errno != EEXIST) {
      return IoError("mkdir", so_far);
    }
    Fd dir = OpenDirectoryAt(dirs.back().get(), segment);
    if (!dir.valid()) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
        return NotFound(so_far + " is not a directory of objects");
      }
      return IoError("open", so_far);
    }
    dirs.push_back(std::move(dir));
  }
  return dirs;
}

Status LocalTarget::Init() {
  if (name_.empty()) return InvalidArgument("a backup target needs a name");
  struct stat st {};
  if (::stat(directory_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return InvalidArgument("backup target " + name_ + ": " + directory_ + " is not a directory");
    }
  } else if (errno == ENOENT) {
    if (Status made = MakeDirectories(directory_, 0700); !made.ok()) {
      return Unavailable("backup target " + name_ + " cannot be created", made.detail());
    }
    const std::filesystem::path parent = std::filesystem::path(directory_).parent_path();
    if (Status synced = FsyncDirectory(parent.empty() ? "." : parent.string()); !synced.ok()) {
      return Unavailable("backup target " + name_ + " cannot be created", synced.detail());
    }
  } else {
    return IoError("stat", "");
  }
  ASSIGN_OR_RETURN(Fd root, OpenRoot());
  if (::mkdirat(root.get(), kTmpDir, 0700) != 0 && errno != EEXIST) {
    return IoError("mkdir", kTmpDir);
  }
  if (Fsync(root.get()) != 0) return IoError("fsync", "");
  return RemoveStaleTemporaries(root.get());
}

Status LocalTarget::RemoveStaleTemporaries(int root) {
  Fd tmp = OpenDirectoryAt(root, kTmpDir);
  if (!tmp.valid()) return IoError("open", kTmpDir);
  // fdopendir takes its own descriptor: closedir closes it.
  const int listing_fd = ::dup(tmp.get());
  if (listing_fd < 0) return IoError("dup", kTmpDir);
  DIR* dir = ::fdopendir(listing_fd);
  if (dir == nullptr) {
    ::close(listing_fd);
    return IoError("list", kTmpDir);
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe): own DIR
    const std::string_view n = entry->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  const int list_errno = errno;
  ::closedir(dir);
  if (list_errno != 0) {
    errno = list_errno;
    return IoError("list", kTmpDir);
  }
  bool removed = false;
  for (const std::string& n : names) {
    // A writer holds an exclusive flock on its temporary until it is linked or removed;
    // the lock dies with its process, so a temporary we can lock is a crash's leftover.
    Fd file = OpenAt(tmp.get(), n.c_str(), O_RDONLY);
    if (!file.valid()) continue;  // gone meanwhile, or not a plain file: not ours
    if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) continue;
    if (::unlinkat(tmp.get(), n.c_str(), 0) == 0) removed = true;
  }
  if (removed && Fsync(tmp.get()) != 0) return IoError("fsync", kTmpDir);
  return Status::Ok();
}

Status LocalTarget::PutIfAbsent(std::string_view name, ByteSource& source) {
  RETURN_IF_ERROR(ValidObjectName(name));
  const std::string object(name);
  ASSIGN_OR_RETURN(Fd root, OpenRoot());
  Fd tmp_dir = OpenDirectoryAt(root.get(), kTmpDir);
  if (!tmp_dir.valid()) return IoError("open (is the target mounted?)", kTmpDir);
  // Not needed for correctness (linkat decides), but spares streaming a whole artefact
  // only to find its name taken.
  struct stat st {};
  if (::fstatat(root.get(), object.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
    return AlreadyExists("backup object " + object + " exists already on " + name_);
  }

  const std::string tmp_name = crypto::RandomHex(16);
  const std::string tmp_path = std::string(kTmpDir) + "/" + tmp_name;
  Fd file = OpenAt(tmp_dir.get(), tmp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!file.valid()) return IoError("create", tmp_path);
  auto fail = [&](Status s) {
    file = Fd();
    ::unlinkat(tmp_dir.get(), tmp_name.c_str(), 0);
    return s;
  };
  // Held until the temporary is linked and removed, so OpenLocalTarget in another process
  // leaves it alone. (An Open that locks it in the instant between create and flock
  // removes it, and this put fails with kUnavailable: harmless.)
  if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) return fail(IoError("lock", tmp_path));

  const auto buffer = std::make_unique_for_overwrite<uint8_t[]>(kBufferBytes);
  uint64_t offset = 0;
  for (;;) {
    auto got = ReadFull(source, std::span<uint8_t>(buffer.get(), kBufferBytes));
    if (!got.ok()) return fail(got.status());
    const uint8_t* p = buffer.get();
    size_t left = *got;
    while (left > 0) {
      const ssize_t n = ::write(file.get(), p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(IoError("write", tmp_path));
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    // Start writing back at once: the disk works while the rest arrives, and the fsync at
    // the end finds little left to do.
    ::sync_file_range(file.get(), static_cast<off_t>(offset), static_cast<off_t>(*got),
                      SYNC_FILE_RANGE_WRITE);
    offset += *got;
    if (*got < kBufferBytes) break;
  }
  if (Fsync(file.get()) != 0) return fail(IoError("fsync", tmp_path));

  const std::vector<std::string> segments = Segments(name);
  auto dirs = OpenPath(segments, /*create=*/true);
  if (!dirs.ok()) {
    if (dirs.status().code() == StatusCode::kNotFound) {
      return fail(InvalidArgument("backup object " + object + " would be inside another object"));
    }
    return fail(dirs.status());
  }
  const int rc =
      ::linkat(tmp_dir.get(), tmp_name.c_str(), dirs->back().get(), segments.back().c_str(), 0);
  const int link_errno = errno;
  ::unlinkat(tmp_dir.get(), tmp_name.c_str(), 0);
  file = Fd();  // closing cannot fail for want of space any more: the fsync wrote it all
  if (rc != 0) {
    if (link_errno == EEXIST) {
      if (::fstatat(root.get(), object.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISDIR(st.st_mode)) {
        return InvalidArgument("backup object " + object + " is a directory of other objects");
      }
      return AlreadyExists("backup object " + object + " exists already on " + name_);
    }
    errno = link_errno;
    return IoError("link", object);
  }
  // Every directory on the path, so directories this or a concurrent call created are
  // durable too. On failure the object may exist without being durable.
  for (auto it = dirs->rbegin(); it != dirs->rend(); ++it) {
    if (Fsync(it->get()) != 0) return IoError("fsync directory of", object);
  }
  return Status::Ok();
}

Result<std::unique_ptr<ByteSource>> LocalTarget::Get(std::string_view name) {
  RETURN_IF_ERROR(ValidObjectName(name));
  const std::string object(name);
  const std::vector<std::string> segments = Segments(name);
  auto dirs = OpenPath(segments, /*create=*/false);
  if (!dirs.ok()) {
    if (dirs.status().code() == StatusCode::kNotFound)
      return NotFound("no backup object " + object);
    return dirs.status();
  }
  Fd file = OpenAt(dirs->back().get(), segments.back().c_str(), O_RDONLY);
  if (!file.valid()) {
    if (errno == ENOENT || errno == ELOOP) return NotFound("no backup object " + object);
    return IoError("open", object);
  }
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) return IoError("stat", object);
  if (!S_ISREG(st.st_mode)) return NotFound("no backup object " + object);
  ::posix_fadvise(file.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ByteSource>(
      std::make_unique<FileSource>(std::move(file), name_, directory_, object));
}

// Appends the objects under directory `dir` (whose names start with `relative`) that
// match `prefix`.
Status Walk(const LocalTarget& target, int dir, const std::string& relative,
            std::string_view prefix, std::vector<ObjectInfo>& out) {
  const int listing_fd = ::dup(dir);
  if (listing_fd < 0) return target.IoError("dup", relative);
  DIR* listing = ::fdopendir(listing_fd);
  if (listing == nullptr) {
    ::close(listing_fd);
    return target.IoError("list", relative);
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(listing)) {  // NOLINT(concurrency-mt-unsafe): own DIR
    // No object's segment starts with '.': skips ".", "..", ".tmp" and hidden files.
    if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);
  }
  const int list_errno = errno;
  ::closedir(listing);
  if (list_errno != 0) {
    errno = list_errno;
    return target.IoError("list", relative);
  }
  for (const std::string& n : names) {
    const std::string path = relative + n;
    struct stat st {};
    if (::fstatat(dir, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      return target.IoError("stat", path);
    }
    if (S_ISREG(st.st_mode)) {
      if (path.starts_with(prefix) && ValidObjectName(path).ok()) {
        out.push_back({.name = path, .size = static_cast<uint64_t>(st.st_size)});
      }
      continue;
    }
    if (!S_ISDIR(st.st_mode)) continue;  // symlinks and the like are not objects
    const std::string sub = path + "/";
    // Descend only where a match can be: the prefix runs on into this directory, or the
    // directory lies inside the prefix.
    if (!sub.starts_with(prefix) && !prefix.starts_with(sub)) continue;
    Fd child = OpenDirectoryAt(dir, n.c_str());
    if (!child.valid()) {
      if (errno == ENOENT) continue;
      return target.IoError("open", sub);
    }
    RETURN_IF_ERROR(Walk(target, child.get(), sub, prefix, out));
  }
  return Status::Ok();
}

Result<std::vector<ObjectInfo>> LocalTarget::List(std::string_view prefix) {
  ASSIGN_OR_RETURN(Fd root, OpenRoot());
  std::vector<ObjectInfo> out;
  RETURN_IF_ERROR(Walk(*this, root.get(), "", prefix, out));
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.name < b.name; });
  return out;
}

Status LocalTarget::Delete(std::string_view name) {
  RETURN_IF_ERROR(ValidObjectName(name));
  const std::string object(name);
  const std::vector<std::string> segments = Segments(name);
  auto dirs = OpenPath(segments, /*create=*/false);
  if (!dirs.ok()) {
    if (dirs.status().code() == StatusCode::kNotFound)
      return NotFound("no backup object " + object);
    return dirs.status();
  }
  if (::unlinkat(dirs->back().get(), segments.back().c_str(), 0) != 0) {
    if (errno == ENOENT || errno == EISDIR) return NotFound("no backup object " + object);
    return IoError("unlink", object);
  }
  if (Fsync(dirs->back().get()) != 0) return IoError("fsync directory of", object);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<BackupTarget>> OpenLocalTarget(std::string name, std::string directory) {
  auto target = std::make_unique<LocalTarget>(std::move(name), std::move(directory));
  RETURN_IF_ERROR(target->Init());
  return std::unique_ptr<BackupTarget>(std::move(target));
}

}  // namespace pactum::backup
