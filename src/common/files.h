#pragma once

// Small, careful file helpers: atomic replacement, explicit permissions, fsync of the file
// and its directory. Each comes in two forms: on a FileSystem (common/file_system.h), for
// code that is handed one and tested under injected faults, and on the local file system,
// for the composition root, the CLI and key files.

#include <sys/types.h>
#include <string>

#include "common/status.h"

namespace pactum {

class FileSystem;

// Writes `data` to `path` atomically: a temporary file in the same directory with exactly
// `mode`, fsync, rename over `path`, fsync of the directory. On an error up to the rename
// `path` is unchanged and the temporary removed; when only the directory's fsync fails,
// `path` may already hold the new bytes, not yet durable. Errors: kInternal.
Status WriteFileAtomic(FileSystem& fs, const std::string& path, std::string_view data, mode_t mode);
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode);

// Like WriteFileAtomic, but never replaces an existing file: kAlreadyExists when `path`
// exists, also when another process creates it at the same moment (link(2) decides). On
// any other error (kInternal) nothing is left under `path`.
Status WriteFileExclusive(FileSystem& fs, const std::string& path, std::string_view data,
                          mode_t mode);
Status WriteFileExclusive(const std::string& path, std::string_view data, mode_t mode);

// fsync(2) of a directory, so the entries created or removed in it are durable.
Status FsyncDirectory(FileSystem& fs, const std::string& dir);
Status FsyncDirectory(const std::string& dir);

// Reads a whole (small) file, following links. kNotFound when it does not exist.
Result<std::string> ReadFile(FileSystem& fs, const std::string& path);
Result<std::string> ReadFile(const std::string& path);

// Creates `path` and missing parents with `mode` (existing directories are left as they are).
Status MakeDirectories(FileSystem& fs, const std::string& path, mode_t mode);
Status MakeDirectories(const std::string& path, mode_t mode);

// An advisory lock (flock) on a file, held until the object is destroyed. Shared locks
// coexist; an exclusive lock excludes every other holder, in this and other processes.
class FileLock {
 public:
  FileLock() = default;
  // Owns `fd`, on which a flock is held (FileSystem implementations build them).
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock();
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Creates `path` (0600) if needed and locks it. Without `wait`, kUnavailable when
  // another holder's lock conflicts; with it, blocks until the lock is free.
  static Result<FileLock> Acquire(const std::string& path, bool exclusive, bool wait = false);

 private:
  int fd_ = -1;
};

}  // namespace pactum
