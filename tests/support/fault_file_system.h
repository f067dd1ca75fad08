#pragma once

// A FileSystem that forwards to a real one (LocalFileSystem() on a TempDir) and fails
// chosen calls the way a disk does, so every writer is tested under EIO, ENOSPC, short
// writes, failing fsync and failing rename everywhere, without the privileges a full
// tmpfs in a mount namespace needs (LevelDB's FaultInjectionTestEnv; the forwarding
// wrapper of STYLE.md).
//
// A Fault names:
//  - op: the call to fail (FsOp below);
//  - path: an fnmatch(3) pattern over the full path, where '*' also matches '/' (for Link
//    and Rename the source or the destination may match; for Sync of a directory, and
//    for List, the directory's own path);
//  - error: the errno the call fails with (EIO, ENOSPC, EDQUOT, EROFS ...);
//  - short_write (kAppend only): the first half of the bytes reach the file before the
//    call fails, as a write(2) that stops part-way on a full disk;
//  - after: how many matching calls succeed before the first failure;
//  - sticky: true (the default) fails every matching call from then on (a dead disk);
//    false fails one call only (a transient error).
// FillUpAfter(n) is a disk with n bytes of room left: appends succeed until they have
// written n more bytes; the one that crosses writes what fits and fails with ENOSPC, as
// does every append after it. Removing files frees nothing.
//
// A failure is reported with FileSystemError, exactly as the real call's would be, and the
// real call is not made (except for the part of a short write). Heal() clears every fault
// and the size limit: the disk works again. Fired(id) says how often a fault fired, so a
// test can check that it reached the call it meant.
//
// Thread-safe (one mutex). It must outlive every handle it gave out.

#include <fnmatch.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/file_system.h"

namespace pactum::testing_support {

enum class FsOp {
  kOpenDirectory,    // FileSystem::OpenDirectory, Directory::OpenDirectory
  kCreateDirectory,  // Directory::CreateDirectory
  kCreateFile,       // Directory::CreateFile, Directory::OpenForAppend
  kOpenFile,         // opening for reading: FileSystem::OpenFile, Directory::OpenFile
  kAppend,           // WritableFile::Append
  kSync,             // WritableFile::Sync (fsync of a file)
  kTruncate,         // WritableFile::Truncate
  kSyncDirectory,    // Directory::Sync
  kLink,
  kRename,
  kRemove,
  kStat,
  kList,
  kLock,  // Directory::TryLock
  kRead,  // ByteSource::Read of a file opened for reading
};

struct Fault {
  FsOp op = FsOp::kAppend;
  std::string path = "*";
  int error = EIO;
  bool short_write = false;
  int after = 0;
  bool sticky = true;
};

class FaultFileSystem final : public FileSystem {
 public:
  explicit FaultFileSystem(FileSystem& inner) : inner_(inner) {}

  // Adds a fault; returns its id for Fired().
  int Inject(Fault fault) {
    std::lock_guard lock(mu_);
    faults_.push_back({.spec = std::move(fault)});
    return static_cast<int>(faults_.size()) - 1;
  }

  // From now on at most `bytes` more bytes can be appended.
  void FillUpAfter(uint64_t bytes) {
    std::lock_guard lock(mu_);
    room_ = bytes;
  }

  void Heal() {
    std::lock_guard lock(mu_);
    for (Entry& e : faults_) e.active = false;
    room_.reset();
  }

  // How many calls fault `id` failed.
  int Fired(int id) const {
    std::lock_guard lock(mu_);
    return faults_.at(static_cast<size_t>(id)).fired;
  }
  // How many calls were failed in all, by faults and by the size limit.
  int fired() const {
    std::lock_guard lock(mu_);
    int n = full_;
    for (const Entry& e : faults_) n += e.fired;
    return n;
  }

  Result<std::unique_ptr<Directory>> OpenDirectory(const std::string& path) override {
    if (auto err = Check(FsOp::kOpenDirectory, path)) {
      return FileSystemError(err->error, "open directory", path);
    }
    ASSIGN_OR_RETURN(auto dir, inner_.OpenDirectory(path));
    return std::unique_ptr<Directory>(std::make_unique<FaultDirectory>(*this, std::move(dir)));
  }

  Result<std::unique_ptr<ByteSource>> OpenFile(const std::string& path, uint64_t offset) override {
    if (auto err = Check(FsOp::kOpenFile, path)) return FileSystemError(err->error, "open", path);
    ASSIGN_OR_RETURN(auto file, inner_.OpenFile(path, offset));
    return std::unique_ptr<ByteSource>(std::make_unique<FaultSource>(*this, std::move(file), path));
  }

 private:
  struct Entry {
    Fault spec;
    bool active = true;
    int seen = 0;   // matching calls
    int fired = 0;  // calls failed
  };
  struct Injected {
    int error = 0;
    bool short_write = false;
  };

  static bool Matches(const std::string& pattern, const std::string& path) {
    return !path.empty() && ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0;
  }

  // The failure to inject into call `op` on `path` (and `other`, the destination of a
  // link or rename), if any.
  std::optional<Injected> Check(FsOp op, const std::string& path, const std::string& other = {}) {
    std::lock_guard lock(mu_);
    for (Entry& e : faults_) {
      if (!e.active || e.spec.op != op) continue;
      if (!Matches(e.spec.path, path) && !Matches(e.spec.path, other)) continue;
      if (e.seen++ < e.spec.after) continue;
      if (!e.spec.sticky && e.fired > 0) continue;
      ++e.fired;
      return Injected{.error = e.spec.error, .short_write = e.spec.short_write};
    }
    return std::nullopt;
  }

  // How much of an append of `size` bytes the size limit lets through.
  uint64_t Room(uint64_t size) {
    std::lock_guard lock(mu_);
    if (!room_) return size;
    const uint64_t fits = std::min(*room_, size);
    *room_ -= fits;
    if (fits < size) ++full_;
    return fits;
  }

  class FaultWritableFile final : public WritableFile {
   public:
    FaultWritableFile(FaultFileSystem& fs, std::unique_ptr<WritableFile> inner, std::string path)
        : fs_(fs), inner_(std::move(inner)), path_(std::move(path)) {}

    Status Append(std::span<const uint8_t> data) override {
      if (auto err = fs_.Check(FsOp::kAppend, path_)) {
        if (err->short_write) RETURN_IF_ERROR(inner_->Append(data.first(data.size() / 2)));
        return FileSystemError(err->error, "write", path_);
      }
      const uint64_t fits = fs_.Room(data.size());
      if (fits < data.size()) {
        if (fits > 0) RETURN_IF_ERROR(inner_->Append(data.first(fits)));
        return FileSystemError(ENOSPC, "write", path_);
      }
      return inner_->Append(data);
    }
    Status Sync() override {
      if (auto err = fs_.Check(FsOp::kSync, path_)) {
        return FileSystemError(err->error, "fsync", path_);
      }
      return inner_->Sync();
    }
    Status Truncate(uint64_t size) override {
      if (auto err = fs_.Check(FsOp::kTruncate, path_)) {
        return FileSystemError(err->error, "truncate", path_);
      }
      return inner_->Truncate(size);
    }

   private:
    FaultFileSystem& fs_;
    std::unique_ptr<WritableFile> inner_;
    const std::string path_;
  };

  class FaultSource final : public ByteSource {
   public:
    FaultSource(FaultFileSystem& fs, std::unique_ptr<ByteSource> inner, std::string path)
        : fs_(fs), inner_(std::move(inner)), path_(std::move(path)) {}
    Result<size_t> Read(std::span<uint8_t> out) override {
      if (auto err = fs_.Check(FsOp::kRead, path_)) {
        return FileSystemError(err->error, "read", path_);
      }
      return inner_->Read(out);
    }

   private:
    FaultFileSystem& fs_;
    std::unique_ptr<ByteSource> inner_;
    const std::string path_;
  };

  class FaultDirectory final : public Directory {
   public:
    FaultDirectory(FaultFileSystem& fs, std::unique_ptr<Directory> inner)
        : fs_(fs), inner_(std::move(inner)) {}

    const std::string& path() const override { return inner_->path(); }

    Result<std::unique_ptr<Directory>> OpenDirectory(std::string_view name) override {
      const std::string full = JoinPath(path(), name);
      if (auto err = fs_.Check(FsOp::kOpenDirectory, full)) {
        return FileSystemError(err->error, "open directory", full);
      }
      ASSIGN_OR_RETURN(auto dir, inner_->OpenDirectory(name));
      return std::unique_ptr<Directory>(std::make_unique<FaultDirectory>(fs_, std::move(dir)));
    }

    Status CreateDirectory(std::string_view name, mode_t mode) override {
      const std::string full = JoinPath(path(), name);
      if (auto err = fs_.Check(FsOp::kCreateDirectory, full)) {
        return FileSystemError(err->error, "mkdir", full);
      }
      return inner_->CreateDirectory(name, mode);
    }

    Result<std::unique_ptr<WritableFile>> CreateFile(std::string_view name, mode_t mode) override {
      const std::string full = JoinPath(path(), name);
      if (auto err = fs_.Check(FsOp::kCreateFile, full)) {
        return FileSystemError(err->error, "create", full);
      }
      ASSIGN_OR_RETURN(auto file, inner_->CreateFile(name, mode));
      return Wrap(std::move(file), full);
    }

    Result<std::unique_ptr<WritableFile>> OpenForAppend(std::string_view name,
                                                        mode_t mode) override {
      const std::string full = JoinPath(path(), name);
      if (auto err = fs_.Check(FsOp::kCreateFile, full)) {
        return FileSystemError(err->error, "open", full);
      }
      ASSIGN_OR_RETURN(auto file, inner_->OpenForAppend(name, mode));
      return Wrap(std::move(file), full);
    }

    Result<std::unique_ptr<ByteSource>> OpenFile(std::string_view name, uint64_t offset) override {
      const std::string full = JoinPath(path(), name);
      if (auto err = fs_.Check(FsOp::kOpenFile, full)) {
        return FileSystemError(err->error, "open", full);
      }
      ASSIGN_OR_RETURN(auto file, inner_->OpenFile(name, offset));
      return std::unique_ptr<ByteSource>(std::make_unique<FaultSource>(fs_, std::move(file), full));
    }

    Result<FileLock> TryLock(std::string_view name) override {
      const std::string full = JoinPath(path(), name);
      if (auto err = fs_.Check(FsOp::kLock, full)) return FileSystemError(err->error, "lock", full);
      return inner_->TryLock(name);
    }

    Status Link(std::string_view name, Directory& to, std::string_view to_name) override {
      return Move(FsOp::kLink, "link", name, to, to_name);
    }

    Status Rename(std::string_view name, Directory& to, std::string_view to_name) override {
      return Move(FsOp::kRename, "rename", name, to, to_name);
    }

    Status Remove(std::string_view name) override {
      const std::string full = JoinPath(path(), name);
      if (auto err = fs_.Check(FsOp::kRemove, full)) {
        return FileSystemError(err->error, "unlink", full);
      }
      return inner_->Remove(name);
    }

    Result<FileInfo> Stat(std::string_view name) override {
      const std::string full = JoinPath(path(), name);
      if (auto err = fs_.Check(FsOp::kStat, full)) return FileSystemError(err->error, "stat", full);
      return inner_->Stat(name);
    }

    Result<std::vector<std::string>> List() override {
      if (auto err = fs_.Check(FsOp::kList, path())) {
        return FileSystemError(err->error, "list", path());
      }
      return inner_->List();
    }

    Status Sync() override {
      if (auto err = fs_.Check(FsOp::kSyncDirectory, path())) {
        return FileSystemError(err->error, "fsync directory", path());
      }
      return inner_->Sync();
    }

   private:
    Result<std::unique_ptr<WritableFile>> Wrap(std::unique_ptr<WritableFile> file,
                                               std::string full) {
      return std::unique_ptr<WritableFile>(
          std::make_unique<FaultWritableFile>(fs_, std::move(file), std::move(full)));
    }

    Status Move(FsOp op, const char* what, std::string_view name, Directory& to,
                std::string_view to_name) {
      auto* dest = dynamic_cast<FaultDirectory*>(&to);
      if (dest == nullptr) return Internal("a directory of another file system");
      const std::string from = JoinPath(path(), name);
      const std::string target = JoinPath(dest->path(), to_name);
      if (auto err = fs_.Check(op, from, target)) return FileSystemError(err->error, what, target);
      return op == FsOp::kLink ? inner_->Link(name, *dest->inner_, to_name)
                               : inner_->Rename(name, *dest->inner_, to_name);
    }

    FaultFileSystem& fs_;
    std::unique_ptr<Directory> inner_;
  };

  FileSystem& inner_;
  mutable std::mutex mu_;
  std::vector<Entry> faults_;     // guarded by mu_
  std::optional<uint64_t> room_;  // guarded by mu_
  int full_ = 0;                  // appends the size limit failed; guarded by mu_
};

}  // namespace pactum::testing_support
