#include "blob/local_blob_store.h"

#include <future>
#include <vector>

#include "common/files.h"
#include "common/hex.h"
#include "crypto/random.h"

namespace pactum::blob {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

bool IsHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// The store's error for a failed file operation: a full disk (or quota) is 503
// "disk_full" (retrying later may help once space is freed), anything else internal.
Status StoreError(const Status& s) {
  if (s.code() == StatusCode::kResourceExhausted) {
    return Status(StatusCode::kUnavailable, "the storage is full", s.detail())
        .WithReason("disk_full");
  }
  return Internal(s.detail());
}

// An object's bytes, with the store's errors.
class ObjectSource final : public ByteSource {
 public:
  explicit ObjectSource(std::unique_ptr<ByteSource> file) : file_(std::move(file)) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    auto n = file_->Read(out);
    if (!n.ok()) return Internal(n.status().detail());
    return n;
  }

 private:
  std::unique_ptr<ByteSource> file_;
};

// A kBufferBytes buffer, not zero-filled (it is always filled before it is used).
class Buffer {
 public:
  uint8_t* data() { return data_.get(); }
  std::span<uint8_t> span() { return {data_.get(), kBufferBytes}; }

 private:
  std::unique_ptr<uint8_t[]> data_ = std::make_unique_for_overwrite<uint8_t[]>(kBufferBytes);
};

}  // namespace

BlobId BlobId::Random() {
  std::vector<uint8_t> bytes(16);
  crypto::RandomBytes(bytes);
  return BlobId(HexEncode(bytes));
}

Result<BlobId> BlobId::Parse(std::string_view text) {
  if (text.size() != 32 || !IsHex(text)) return InvalidArgument("not a blob id");
  return BlobId(std::string(text));
}

Result<std::unique_ptr<LocalBlobStore>> LocalBlobStore::Open(FileSystem& fs,
                                                             const std::string& root) {
  RETURN_IF_ERROR(MakeDirectories(fs, root + "/objects", 0700));
  RETURN_IF_ERROR(MakeDirectories(fs, root + "/tmp", 0700));
  auto objects = fs.OpenDirectory(root + "/objects");
  if (!objects.ok()) return StoreError(objects.status());
  // Every shard directory exists (and is durable) before any object goes in, so an
  // object's durability never hangs on another thread's mkdir.
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 256; ++i) {
    const Status made = (*objects)->CreateDirectory(std::string{kHex[i >> 4], kHex[i & 15]}, 0700);
    if (!made.ok() && made.code() != StatusCode::kAlreadyExists) return StoreError(made);
  }
  if (Status s = (*objects)->Sync(); !s.ok()) return StoreError(s);
  RETURN_IF_ERROR(FsyncDirectory(fs, root));
  return std::unique_ptr<LocalBlobStore>(new LocalBlobStore(fs, root));
}

std::string LocalBlobStore::PathOf(const BlobId& id) const {
  return root_ + "/objects/" + id.str().substr(0, 2) + "/" + id.str();
}

Result<std::unique_ptr<Directory>> LocalBlobStore::OpenShard(const BlobId& id) {
  auto shard = fs_.OpenDirectory(root_ + "/objects/" + id.str().substr(0, 2));
  if (!shard.ok()) return StoreError(shard.status());
  return shard;
}

Status LocalBlobStore::Put(const BlobId& id, ByteSource& data) {
  auto tmp_dir = fs_.OpenDirectory(root_ + "/tmp");
  if (!tmp_dir.ok()) return StoreError(tmp_dir.status());
  const std::string tmp = BlobId::Random().str();
  auto created = (*tmp_dir)->CreateFile(tmp, 0600);
  if (!created.ok()) return StoreError(created.status());
  std::unique_ptr<WritableFile> file = std::move(created).value();
  auto fail = [&](Status s) {
    file.reset();
    (void)(*tmp_dir)->Remove(tmp);
    return s;
  };
  // Two buffers: one is written (copied into the page cache) on a thread of its own while
  // the next is filled, so producing the bytes (for a document: decrypting the
  // connection, hashing, encrypting) and writing them overlap.
  Buffer buffers[2];
  std::future<Status> writing;
  auto written = [&writing] { return writing.valid() ? writing.get() : Status::Ok(); };
  for (int current = 0;; current ^= 1) {
    auto n = ReadFull(data, buffers[current].span());
    Status previous = written();  // the other buffer is free again
    if (!n.ok()) return fail(n.status());
    if (!previous.ok()) return fail(StoreError(previous));
    if (*n == 0) break;
    writing = std::async(std::launch::async, [out = file.get(), bytes = std::span<const uint8_t>(
                                                                    buffers[current].data(), *n)] {
      return out->Append(bytes);
    });
    if (*n < kBufferBytes) break;
  }
  if (Status last = written(); !last.ok()) return fail(StoreError(last));
  if (Status synced = file->Sync(); !synced.ok()) return fail(StoreError(synced));
  file.reset();
  auto shard = OpenShard(id);
  if (!shard.ok()) return fail(shard.status());
  const Status linked = (*tmp_dir)->Link(tmp, **shard, id.str());
  (void)(*tmp_dir)->Remove(tmp);
  if (!linked.ok()) {
    if (linked.code() == StatusCode::kAlreadyExists)
      return AlreadyExists("the object exists already");
    return StoreError(linked);
  }
  if (Status synced = (*shard)->Sync(); !synced.ok()) {
    // The name may not survive a power cut: take it back, so nothing that may vanish is
    // ever visible as stored (the caller records nothing and may retry with a new id).
    (void)(*shard)->Remove(id.str());
    return StoreError(synced);
  }
  return Status::Ok();
}

Result<std::unique_ptr<ByteSource>> LocalBlobStore::GetAt(const BlobId& id, uint64_t offset) {
  auto file = fs_.OpenFile(PathOf(id), offset);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound) return NotFound("no such object");
    return Internal(file.status().detail());
  }
  return std::unique_ptr<ByteSource>(std::make_unique<ObjectSource>(std::move(file).value()));
}

Status LocalBlobStore::List(const Visitor& visit) {
  auto objects = fs_.OpenDirectory(root_ + "/objects");
  if (!objects.ok()) return Internal(objects.status().detail());
  auto shards = (*objects)->List();
  if (!shards.ok()) return Internal(shards.status().detail());
  for (const std::string& name : *shards) {
    auto shard = (*objects)->OpenDirectory(name);
    if (!shard.ok()) {
      // Not a directory of ours (a stray file or link) is skipped; a failing disk is not.
      if (shard.status().code() == StatusCode::kFailedPrecondition) continue;
      return Internal(shard.status().detail());
    }
    auto entries = (*shard)->List();
    if (!entries.ok()) return Internal(entries.status().detail());
    for (const std::string& entry : *entries) {
      auto id = BlobId::Parse(entry);
      if (!id.ok()) continue;  // not an object of ours
      auto info = (*shard)->Stat(entry);
      if (!info.ok()) continue;  // deleted meanwhile
      visit(*id, info->modified);
    }
  }
  return Status::Ok();
}

Status LocalBlobStore::Delete(const BlobId& id) {
  ASSIGN_OR_RETURN(auto shard, OpenShard(id));
  if (Status s = shard->Remove(id.str()); !s.ok()) {
    if (s.code() == StatusCode::kNotFound) return NotFound("no such object");
    return Internal(s.detail());
  }
  if (Status s = shard->Sync(); !s.ok()) return Internal(s.detail());
  return Status::Ok();
}

Result<int> LocalBlobStore::RemoveStaleTemporaries(std::chrono::seconds age) {
  auto tmp = fs_.OpenDirectory(root_ + "/tmp");
  if (!tmp.ok()) return Internal(tmp.status().detail());
  auto names = (*tmp)->List();
  if (!names.ok()) return Internal(names.status().detail());
  int removed = 0;
  const auto now = std::chrono::system_clock::now();
  for (const std::string& name : *names) {
    auto info = (*tmp)->Stat(name);  // an upload that just finished removed its file: fine
    if (!info.ok() || now - info->modified < age) continue;
    if ((*tmp)->Remove(name).ok()) ++removed;
  }
  return removed;
}

}  // namespace pactum::blob
