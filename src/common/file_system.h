#pragma once

// The file-system port (LevelDB's Env idea): the writers of durable state — the blob
// store, the local backup target, the audit checkpoint file and the atomic file writes of
// common/files.h — reach the disk only through FileSystem, so a test can hand them a
// forwarding wrapper that fails one call the way a disk does (EIO, ENOSPC, a short write,
// a failing fsync or rename: tests/support/fault_file_system.h), with no privileges.
//
// `pactum serve` passes LocalFileSystem() to the composition root (app/); what it builds
// takes a FileSystem& (common/files.h's path-only overloads and commands excepted).
//
// Two ways of naming files: FileSystem's methods take paths and resolve them as the OS
// does, following symbolic links (an operator's data directory may be a link).
// Directory's methods take names relative to an open directory and never follow a link
// in the last component, so a link planted in a directory of ours is never written or
// read through; the directory stays the same one even when its path is renamed.
//
// Errors are Status values built by FileSystemError from the errno of the failed call:
//   kNotFound           ENOENT
//   kAlreadyExists      EEXIST
//   kResourceExhausted  ENOSPC, EDQUOT (the disk or quota is full)
//   kFailedPrecondition ENOTDIR, EISDIR, ELOOP, ENOTEMPTY (not the kind of file the call
//                       needs, or a symbolic link where none is followed)
//   kUnavailable        anything else (EIO, EACCES, EROFS, ...)
// The message names the call and the error ("fsync: Input/output error"); the detail adds
// the path. Callers map these codes to their own contract: none should reach a client as
// it is (kResourceExhausted would be HTTP 429).
//
// Thread-safety: FileSystem and Directory are thread-safe; a WritableFile or a ByteSource
// is used by one thread at a time.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.h"
#include "common/files.h"
#include "common/status.h"

namespace pactum {

enum class FileType { kRegular, kDirectory, kOther };  // kOther: links, sockets, devices

struct FileInfo {
  FileType type = FileType::kOther;
  uint64_t size = 0;
  uint64_t device = 0;  // st_dev: a mount point's differs from its parent's
  std::chrono::system_clock::time_point modified;
};

// A file open for writing; closed when destroyed. Nothing written is durable before Sync
// returns OK.
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  // Appends all of `data` (a short write of the OS is continued) and starts writing it
  // back to the disk at once (sync_file_range), so Sync finds little left to do. On
  // error a prefix of `data` may have reached the file.
  virtual Status Append(std::span<const uint8_t> data) = 0;

  // fsync(2): the bytes and the size are durable. After an error nothing written since
  // the last successful Sync may be assumed durable, not even after a later Sync
  // succeeds (Linux drops the failed pages).
  virtual Status Sync() = 0;

  // Cuts the file to `size` bytes (to take back an append that failed).
  virtual Status Truncate(uint64_t size) = 0;
};

// An open directory. Names are relative to it and may have several '/'-separated
// segments; a symbolic link in the last segment is never followed.
class Directory {
 public:
  virtual ~Directory() = default;

  // The path it was opened by, joined with the names on the way (for messages).
  virtual const std::string& path() const = 0;

  // The subdirectory `name`; kFailedPrecondition when it is a link or not a directory.
  virtual Result<std::unique_ptr<Directory>> OpenDirectory(std::string_view name) = 0;

  // mkdir(2) with `mode` (narrowed by the umask); kAlreadyExists when `name` exists.
  virtual Status CreateDirectory(std::string_view name, mode_t mode) = 0;

  // Creates the regular file `name` with exactly `mode` (not narrowed by the umask);
  // kAlreadyExists when the name exists, as anything.
  virtual Result<std::unique_ptr<WritableFile>> CreateFile(std::string_view name, mode_t mode) = 0;

  // Opens `name` for appending, creating it with `mode` when missing.
  virtual Result<std::unique_ptr<WritableFile>> OpenForAppend(std::string_view name,
                                                              mode_t mode) = 0;

  // Reads the regular file `name` from byte `offset` on; kFailedPrecondition when it is
  // not a regular file (a directory, a link, a pipe).
  virtual Result<std::unique_ptr<ByteSource>> OpenFile(std::string_view name, uint64_t offset) = 0;

  // An exclusive advisory lock (flock) on the existing file `name`, held while the
  // returned FileLock lives; kUnavailable at once when another open file holds one.
  virtual Result<FileLock> TryLock(std::string_view name) = 0;

  // link(2) `name` to `to`/`to_name`, which must not exist (kAlreadyExists): the way to
  // publish a finished file without ever replacing one. `to` must come from the same
  // FileSystem (kInternal otherwise).
  virtual Status Link(std::string_view name, Directory& to, std::string_view to_name) = 0;

  // rename(2) `name` to `to`/`to_name`, replacing a file there. `to` as for Link.
  virtual Status Rename(std::string_view name, Directory& to, std::string_view to_name) = 0;

  // Removes the file (not directory) `name`; kFailedPrecondition for a directory.
  virtual Status Remove(std::string_view name) = 0;

  // lstat(2) of `name`.
  virtual Result<FileInfo> Stat(std::string_view name) = 0;

  // The names in the directory, "." and ".." left out, in no particular order.
  virtual Result<std::vector<std::string>> List() = 0;

  // fsync(2) of the directory: the names created, linked, renamed or removed in it are
  // durable.
  virtual Status Sync() = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The directory at `path` (links followed); kFailedPrecondition when it is not one.
  virtual Result<std::unique_ptr<Directory>> OpenDirectory(const std::string& path) = 0;

  // Reads the file at `path` (links followed) from byte `offset` on.
  virtual Result<std::unique_ptr<ByteSource>> OpenFile(const std::string& path,
                                                       uint64_t offset) = 0;
};

// The real file system (POSIX calls). Stateless; lives for the whole process.
FileSystem& LocalFileSystem();

// The Status for `err` (an errno value) from call `what` on `path`, as described above.
Status FileSystemError(int err, std::string_view what, std::string_view path);

// "dir/name", or "name" when dir is empty.
std::string JoinPath(std::string_view dir, std::string_view name);

// Splits a path into its directory ("." when it has none) and its last segment.
struct SplitPath {
  std::string directory;
  std::string name;
};
SplitPath SplitLast(std::string_view path);

}  // namespace pactum
