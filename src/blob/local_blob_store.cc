#include "blob/local_blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <future>
#include <system_error>
#include <vector>

#include "common/files.h"
#include "common/hex.h"
#include "crypto/random.h"

namespace pactum::blob {
namespace {

constexpr size_t kBufferBytes = 1 << 20;

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " +
         std::error_code(errno, std::generic_category()).message();
}

bool IsHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Reads a file descriptor it owns.
class FileSource final : public ByteSource {
 public:
  explicit FileSource(int fd) : fd_(fd) {}
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  Result<size_t> Read(std::span<uint8_t> out) override {
    for (;;) {
      const ssize_t n = ::read(fd_, out.data(), out.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return Internal(Errno("read", "blob"));
    }
  }

 private:
  int fd_;
};

// The status for a failed system call: a full disk (or quota, or no inodes left) is 503
// "disk_full" (retrying later may help once space is freed), anything else internal.
Status SystemError(std::string_view what, const std::string& path) {
  if (errno == ENOSPC || errno == EDQUOT) {
    return Status(StatusCode::kUnavailable, "the storage is full").WithReason("disk_full");
  }
  return Internal(Errno(what, path));
}

// A kBufferBytes buffer, not zero-filled (it is always filled before it is used).
class Buffer {
 public:
  uint8_t* data() { return data_.get(); }
  std::span<uint8_t> span() { return {data_.get(), kBufferBytes}; }

 private:
  std::unique_ptr<uint8_t[]> data_ = std::make_unique_for_overwrite<uint8_t[]>(kBufferBytes);
};

Status WriteAll(int fd, const uint8_t* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SystemError("write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

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

Result<std::unique_ptr<LocalBlobStore>> LocalBlobStore::Open(const std::string& root) {
  RETURN_IF_ERROR(MakeDirectories(root + "/objects", 0700));
  RETURN_IF_ERROR(MakeDirectories(root + "/tmp", 0700));
  // Every shard directory exists (and is durable) before any object goes in, so an
  // object's durability never hangs on another thread's mkdir.
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 256; ++i) {
    const std::string dir = root + "/objects/" + kHex[i >> 4] + kHex[i & 15];
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return SystemError("mkdir", dir);
  }
  RETURN_IF_ERROR(FsyncDirectory(root + "/objects"));
  RETURN_IF_ERROR(FsyncDirectory(root));
  return std::unique_ptr<LocalBlobStore>(new LocalBlobStore(root));
}

std::string LocalBlobStore::PathOf(const BlobId& id) const {
  return root_ + "/objects/" + id.str().substr(0, 2) + "/" + id.str();
}

Status LocalBlobStore::Put(const BlobId& id, ByteSource& data) {
  const std::string tmp = root_ + "/tmp/" + BlobId::Random().str();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return SystemError("create", tmp);
  auto fail = [&](Status s) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  // Two buffers: one is written (copied into the page cache) on a thread of its own while
  // the next is filled, so producing the bytes (for a document: decrypting the
  // connection, hashing, encrypting) and writing them overlap.
  Buffer buffers[2];
  std::future<Status> writing;
  uint64_t offset = 0;
  auto written = [&writing] { return writing.valid() ? writing.get() : Status::Ok(); };
  for (int current = 0;; current ^= 1) {
    auto n = ReadFull(data, buffers[current].span());
    Status previous = written();  // the other buffer is free again
    if (!n.ok()) return fail(n.status());
    if (!previous.ok()) return fail(previous);
    if (*n == 0) break;
    const uint8_t* bytes = buffers[current].data();
    writing = std::async(std::launch::async, [fd, bytes, size = *n, offset, &tmp] {
      RETURN_IF_ERROR(WriteAll(fd, bytes, size, tmp));
      // Start writing back at once (as RocksDB's bytes_per_sync does): the disk works
      // while the rest arrives, and the fsync at the end finds little left to do.
      ::sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(size),
                        SYNC_FILE_RANGE_WRITE);
      return Status::Ok();
    });
    offset += *n;
    if (*n < kBufferBytes) break;
  }
  if (Status last = written(); !last.ok()) return fail(last);
  if (::fsync(fd) != 0) return fail(SystemError("fsync", tmp));
  ::close(fd);
  const std::string dir = root_ + "/objects/" + id.str().substr(0, 2);
  const std::string path = PathOf(id);
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (link_errno == EEXIST) return AlreadyExists("the object exists already");
    errno = link_errno;
    return SystemError("link", path);
  }
  // On failure here the object may exist without being durable; the caller records
  // nothing, and the orphan sweeper removes it.
  return FsyncDirectory(dir);
}

Result<std::unique_ptr<ByteSource>> LocalBlobStore::GetAt(const BlobId& id, uint64_t offset) {
  const std::string path = PathOf(id);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no such object");
    return Internal(Errno("open", path));
  }
  auto source = std::make_unique<FileSource>(fd);  // owns fd from here on
  if (offset > 0 && ::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return Internal(Errno("seek", path));
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ByteSource>(std::move(source));
}

Status LocalBlobStore::List(const Visitor& visit) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root_ + "/objects", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it.depth() != 1) continue;
    auto id = BlobId::Parse(it->path().filename().string());
    if (!id.ok()) continue;    // not an object of ours
    std::error_code entry_ec;  // deleted meanwhile: skip it
    const auto written = it->last_write_time(entry_ec);
    if (entry_ec) continue;
    visit(*id, std::chrono::time_point_cast<std::chrono::system_clock::duration>(
                   fs::file_time_type::clock::to_sys(written)));
  }
  if (ec) return Internal("listing " + root_ + "/objects: " + ec.message());
  return Status::Ok();
}

Status LocalBlobStore::Delete(const BlobId& id) {
  const std::string path = PathOf(id);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return NotFound("no such object");
    return Internal(Errno("unlink", path));
  }
  return FsyncDirectory(root_ + "/objects/" + id.str().substr(0, 2));
}

Result<int> LocalBlobStore::RemoveStaleTemporaries(std::chrono::seconds age) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int removed = 0;
  const auto now = fs::file_time_type::clock::now();
  fs::directory_iterator it(root_ + "/tmp", ec);
  if (ec) return Internal("listing " + root_ + "/tmp: " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Internal("listing " + root_ + "/tmp: " + ec.message());
    std::error_code entry_ec;  // an upload that just finished removed its file: fine
    const auto written = it->last_write_time(entry_ec);
    if (entry_ec || now - written < age) continue;
    if (fs::remove(it->path(), entry_ec)) ++removed;
  }
  if (ec) return Internal("listing " + root_ + "/tmp: " + ec.message());
  return removed;
}

}  // namespace pactum::blob
