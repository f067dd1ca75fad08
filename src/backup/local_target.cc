#include "backup/local_target.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "common/files.h"
#include "crypto/random.h"

namespace pactum::backup {
namespace {

constexpr size_t kBufferBytes = 1 << 20;
constexpr char kTmpDir[] = ".tmp";

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

// The target's status for a failed file operation `s` (common/file_system.h) in target
// `target`: kResourceExhausted for a full disk or quota, kUnavailable for anything else.
// Paths go to the detail only.
Status IoError(const std::string& target, const Status& s, std::string_view note = {}) {
  std::string detail = s.detail();
  if (!note.empty()) detail += std::string(" (") + std::string(note) + ")";
  if (s.code() == StatusCode::kResourceExhausted) {
    return Status(StatusCode::kResourceExhausted, "backup target " + target + " is full",
                  std::move(detail));
  }
  return Unavailable("backup target " + target + " is unavailable", std::move(detail));
}

// A missing name, or one that is not what the call needs (a directory, a link): both mean
// "no such object" to a caller.
bool Absent(const Status& s) {
  return s.code() == StatusCode::kNotFound || s.code() == StatusCode::kFailedPrecondition;
}

using DirectoryPtr = std::unique_ptr<Directory>;

class LocalTarget final : public BackupTarget {
 public:
  LocalTarget(FileSystem& fs, std::string name, std::string directory)
      : fs_(fs), name_(std::move(name)), directory_(std::move(directory)) {}

  const std::string& name() const override { return name_; }

  Status PutIfAbsent(std::string_view name, ByteSource& source) override;
  Result<std::unique_ptr<ByteSource>> Get(std::string_view name) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view name) override;
  Result<bool> Probe() override;
  Status Prepare() override { return Init(); }

  // Creates the directory and .tmp/, and removes unlocked temporaries.
  Status Init();
  // Notes whether the directory is a mount point now (OpenLocalTarget, once).
  void NoteMountPoint() { mount_point_ = IsMountPoint().value_or(false); }

  Status IoError(const Status& s, std::string_view note = {}) const {
    return backup::IoError(name_, s, note);
  }

 private:
  // The target's directory, opened anew for each call.
  Result<DirectoryPtr> OpenRoot() const {
    auto root = fs_.OpenDirectory(directory_);
    if (!root.ok()) return IoError(root.status());
    RETURN_IF_ERROR(CheckMounted(**root));
    return root;
  }

  // Whether the directory lies on another device than its parent; nullopt when it cannot
  // be told (it is missing).
  std::optional<bool> IsMountPoint() const {
    auto root = fs_.OpenDirectory(directory_);
    if (!root.ok()) return std::nullopt;
    auto self = (*root)->Stat(".");
    auto parent = (*root)->Stat("..");
    if (!self.ok() || !parent.ok()) return std::nullopt;
    return self->device != parent->device;
  }

  // kUnavailable when the directory was a mount point at open and is none now.
  Status CheckMounted(Directory& root) const {
    if (!mount_point_) return Status::Ok();
    auto self = root.Stat(".");
    auto parent = root.Stat("..");
    if (!self.ok()) return IoError(self.status());
    if (!parent.ok()) return IoError(parent.status());
    if (self->device == parent->device) {
      return Unavailable("backup target " + name_ + " is not mounted",
                         directory_ + " was a mount point when opened and is none now");
    }
    return Status::Ok();
  }

  // Opens the directories on the way to object `name`: returns them root first, the
  // object's own directory last. With `create`, missing ones are created. kNotFound when
  // one is missing (without `create`) or is not a directory.
  Result<std::vector<DirectoryPtr>> OpenPath(const std::vector<std::string>& segments,
                                             bool create) const;

  Status RemoveStaleTemporaries(Directory& root);

  FileSystem& fs_;
  const std::string name_;
  const std::string directory_;
  bool mount_point_ = false;  // set once, before the target is shared
};

// Reads an object, with the target's errors. May outlive its target.
class ObjectSource final : public ByteSource {
 public:
  ObjectSource(std::unique_ptr<ByteSource> file, std::string target)
      : file_(std::move(file)), target_(std::move(target)) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    auto n = file_->Read(out);
    if (!n.ok()) return IoError(target_, n.status());
    return n;
  }

 private:
  std::unique_ptr<ByteSource> file_;
  const std::string target_;
};

Result<std::vector<DirectoryPtr>> LocalTarget::OpenPath(const std::vector<std::string>& segments,
                                                        bool create) const {
  std::vector<DirectoryPtr> dirs;
  ASSIGN_OR_RETURN(DirectoryPtr root, OpenRoot());
  dirs.push_back(std::move(root));
  std::string so_far;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    const std::string& segment = segments[i];
    so_far += segment + "/";
    if (create) {
      const Status made = dirs.back()->CreateDirectory(segment, 0700);
      if (!made.ok() && made.code() != StatusCode::kAlreadyExists) return IoError(made);
    }
    auto dir = dirs.back()->OpenDirectory(segment);
    if (!dir.ok()) {
      if (Absent(dir.status())) return NotFound(so_far + " is not a directory of objects");
      return IoError(dir.status());
    }
    dirs.push_back(std::move(dir).value());
  }
  return dirs;
}

Result<bool> LocalTarget::Probe() {
  auto root = fs_.OpenDirectory(directory_);
  if (!root.ok()) {
    if (Absent(root.status())) return false;
    return IoError(root.status());
  }
  RETURN_IF_ERROR(CheckMounted(**root));
  auto tmp = (*root)->Stat(kTmpDir);
  if (!tmp.ok()) {
    if (Absent(tmp.status())) return false;
    return IoError(tmp.status());
  }
  return tmp->type == FileType::kDirectory;
}

Status LocalTarget::Init() {
  if (name_.empty()) return InvalidArgument("a backup target needs a name");
  auto root = fs_.OpenDirectory(directory_);
  if (root.ok()) RETURN_IF_ERROR(CheckMounted(**root));
  if (!root.ok() && root.status().code() == StatusCode::kNotFound) {
    if (Status made = MakeDirectories(fs_, directory_, 0700); !made.ok()) {
      return Unavailable("backup target " + name_ + " cannot be created", made.detail());
    }
    if (Status synced = FsyncDirectory(fs_, SplitLast(directory_).directory); !synced.ok()) {
      return Unavailable("backup target " + name_ + " cannot be created", synced.detail());
    }
    root = fs_.OpenDirectory(directory_);
  }
  if (!root.ok()) {
    if (root.status().code() == StatusCode::kFailedPrecondition) {
      return InvalidArgument("backup target " + name_ + ": " + directory_ + " is not a directory");
    }
    return IoError(root.status());
  }
  const Status made = (*root)->CreateDirectory(kTmpDir, 0700);
  if (!made.ok() && made.code() != StatusCode::kAlreadyExists) return IoError(made);
  if (Status synced = (*root)->Sync(); !synced.ok()) return IoError(synced);
  return RemoveStaleTemporaries(**root);
}

Status LocalTarget::RemoveStaleTemporaries(Directory& root) {
  auto tmp = root.OpenDirectory(kTmpDir);
  if (!tmp.ok()) return IoError(tmp.status());
  auto names = (*tmp)->List();
  if (!names.ok()) return IoError(names.status());
  bool removed = false;
  for (const std::string& n : *names) {
    // A writer holds an exclusive flock on its temporary until it is linked or removed;
    // the lock dies with its process, so a temporary we can lock is a crash's leftover.
    // (One gone meanwhile, or not a plain file, is not ours.)
    auto lock = (*tmp)->TryLock(n);
    if (!lock.ok()) continue;
    if ((*tmp)->Remove(n).ok()) removed = true;
  }
  if (removed) {
    if (Status synced = (*tmp)->Sync(); !synced.ok()) return IoError(synced);
  }
  return Status::Ok();
}

Status LocalTarget::PutIfAbsent(std::string_view name, ByteSource& source) {
  RETURN_IF_ERROR(ValidObjectName(name));
  const std::string object(name);
  ASSIGN_OR_RETURN(DirectoryPtr root, OpenRoot());
  auto opened_tmp = root->OpenDirectory(kTmpDir);
  if (!opened_tmp.ok()) return IoError(opened_tmp.status(), "is the target mounted?");
  DirectoryPtr tmp_dir = std::move(opened_tmp).value();
  // Not needed for correctness (Link decides), but spares streaming a whole artefact
  // only to find its name taken.
  if (auto st = root->Stat(object); st.ok() && st->type == FileType::kRegular) {
    return AlreadyExists("backup object " + object + " exists already on " + name_);
  }

  const std::string tmp_name = crypto::RandomHex(16);
  auto created = tmp_dir->CreateFile(tmp_name, 0600);
  if (!created.ok()) return IoError(created.status());
  std::unique_ptr<WritableFile> file = std::move(created).value();
  FileLock lock;
  auto fail = [&](Status s) {
    file.reset();
    (void)tmp_dir->Remove(tmp_name);
    return s;
  };
  // Held until the temporary is linked and removed, so OpenLocalTarget in another process
  // leaves it alone. (An Open that locks it in the instant between create and lock
  // removes it, and this put fails with kUnavailable: harmless.)
  if (auto locked = tmp_dir->TryLock(tmp_name); locked.ok()) {
    lock = std::move(locked).value();
  } else {
    return fail(IoError(locked.status()));
  }

  const auto buffer = std::make_unique_for_overwrite<uint8_t[]>(kBufferBytes);
  for (;;) {
    auto got = ReadFull(source, std::span<uint8_t>(buffer.get(), kBufferBytes));
    if (!got.ok()) return fail(got.status());
    if (Status s = file->Append(std::span<const uint8_t>(buffer.get(), *got)); !s.ok()) {
      return fail(IoError(s));
    }
    if (*got < kBufferBytes) break;
  }
  if (Status s = file->Sync(); !s.ok()) return fail(IoError(s));

  const std::vector<std::string> segments = Segments(name);
  auto dirs = OpenPath(segments, /*create=*/true);
  if (!dirs.ok()) {
    if (dirs.status().code() == StatusCode::kNotFound) {
      return fail(InvalidArgument("backup object " + object + " would be inside another object"));
    }
    return fail(dirs.status());
  }
  const Status linked = tmp_dir->Link(tmp_name, *dirs->back(), segments.back());
  (void)tmp_dir->Remove(tmp_name);
  file.reset();  // closing cannot fail for want of space any more: the fsync wrote it all
  if (!linked.ok()) {
    if (linked.code() == StatusCode::kAlreadyExists) {
      if (auto st = root->Stat(object); st.ok() && st->type == FileType::kDirectory) {
        return InvalidArgument("backup object " + object + " is a directory of other objects");
      }
      return AlreadyExists("backup object " + object + " exists already on " + name_);
    }
    return IoError(linked);
  }
  // Every directory on the path, so directories this or a concurrent call created are
  // durable too. On failure the name is taken back (it may not survive a power cut), so
  // the caller's retry writes the object anew instead of finding it there.
  for (auto it = dirs->rbegin(); it != dirs->rend(); ++it) {
    if (Status s = (*it)->Sync(); !s.ok()) {
      (void)dirs->back()->Remove(segments.back());
      return IoError(s);
    }
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
  auto file = dirs->back()->OpenFile(segments.back(), 0);
  if (!file.ok()) {
    if (Absent(file.status())) return NotFound("no backup object " + object);
    return IoError(file.status());
  }
  return std::unique_ptr<ByteSource>(
      std::make_unique<ObjectSource>(std::move(file).value(), name_));
}

// Appends the objects under directory `dir` (whose names start with `relative`) that
// match `prefix`.
Status Walk(const LocalTarget& target, Directory& dir, const std::string& relative,
            std::string_view prefix, std::vector<ObjectInfo>& out) {
  auto listed = dir.List();
  if (!listed.ok()) return target.IoError(listed.status());
  for (const std::string& n : *listed) {
    // No object's segment starts with '.': skips ".tmp" and hidden files.
    if (n.starts_with('.')) continue;
    const std::string path = relative + n;
    auto st = dir.Stat(n);
    if (!st.ok()) {
      if (st.status().code() == StatusCode::kNotFound) continue;  // deleted meanwhile
      return target.IoError(st.status());
    }
    if (st->type == FileType::kRegular) {
      if (path.starts_with(prefix) && ValidObjectName(path).ok()) {
        out.push_back({.name = path, .size = st->size});
      }
      continue;
    }
    if (st->type != FileType::kDirectory) continue;  // links and the like are not objects
    const std::string sub = path + "/";
    // Descend only where a match can be: the prefix runs on into this directory, or the
    // directory lies inside the prefix.
    if (!sub.starts_with(prefix) && !prefix.starts_with(sub)) continue;
    auto child = dir.OpenDirectory(n);
    if (!child.ok()) {
      if (child.status().code() == StatusCode::kNotFound) continue;
      return target.IoError(child.status());
    }
    RETURN_IF_ERROR(Walk(target, **child, sub, prefix, out));
  }
  return Status::Ok();
}

Result<std::vector<ObjectInfo>> LocalTarget::List(std::string_view prefix) {
  ASSIGN_OR_RETURN(DirectoryPtr root, OpenRoot());
  std::vector<ObjectInfo> out;
  RETURN_IF_ERROR(Walk(*this, *root, "", prefix, out));
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
  if (Status s = dirs->back()->Remove(segments.back()); !s.ok()) {
    if (Absent(s)) return NotFound("no backup object " + object);
    return IoError(s);
  }
  if (Status s = dirs->back()->Sync(); !s.ok()) return IoError(s);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<BackupTarget>> OpenLocalTarget(FileSystem& fs, std::string name,
                                                      std::string directory, LocalTargetOpen open) {
  if (open == LocalTargetOpen::kExisting) {
    if (name.empty()) return InvalidArgument("a backup target needs a name");
    if (auto root = fs.OpenDirectory(directory);
        !root.ok() && root.status().code() == StatusCode::kFailedPrecondition) {
      return InvalidArgument("backup target " + name + ": " + directory + " is not a directory");
    }
  }
  auto target = std::make_unique<LocalTarget>(fs, std::move(name), std::move(directory));
  if (open == LocalTargetOpen::kCreate) RETURN_IF_ERROR(target->Init());
  target->NoteMountPoint();
  return std::unique_ptr<BackupTarget>(std::move(target));
}

}  // namespace pactum::backup
