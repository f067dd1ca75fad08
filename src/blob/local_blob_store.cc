#include "blob/local_blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
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
  std::vector<uint8_t> buffer(kBufferBytes);
  for (;;) {
    auto n = ReadFull(data, buffer);
    if (!n.ok()) return fail(n.status());
    if (*n == 0) break;
    if (Status s = WriteAll(fd, buffer.data(), *n, tmp); !s.ok()) return fail(s);
    if (*n < buffer.size()) break;
  }
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

Result<std::unique_ptr<ByteSource>> LocalBlobStore::Get(const BlobId& id) {
  const std::string path = PathOf(id);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no such object");
    return Internal(Errno("open", path));
  }
  return std::unique_ptr<ByteSource>(std::make_unique<FileSource>(fd));
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
