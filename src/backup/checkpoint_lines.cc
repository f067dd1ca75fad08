#include "backup/checkpoint_lines.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <vector>

#include "backup/log_format.h"

namespace pactum::backup {
namespace {

constexpr size_t kBlock = size_t{64} * 1024;

std::string Errno(const std::string& what) {
  return what + ": " + std::error_code(errno, std::generic_category()).message();
}

// An open file descriptor, closed with the object.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  const int fd_;
};

// Opens `path` for reading; nullptr (not an error) when it does not exist.
Result<std::unique_ptr<Fd>> OpenIfPresent(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::unique_ptr<Fd>();
    return Unavailable(Errno("cannot open " + path));
  }
  return std::make_unique<Fd>(fd);
}

Result<uint64_t> SizeOf(const Fd& fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Unavailable(Errno("cannot stat " + path));
  return static_cast<uint64_t>(st.st_size);
}

// Reads exactly `n` bytes at `offset` into `out`; kDataLoss when the file ends first.
Status ReadAt(const Fd& fd, const std::string& path, uint64_t offset, size_t n, char* out) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd.get(), out + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Unavailable(Errno("cannot read " + path));
    }
    if (r == 0) return DataLoss(path + " became shorter while it was read");
    got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

// Yields bytes [0, size) of a file.
class FilePrefixSource final : public ByteSource {
 public:
  FilePrefixSource(std::unique_ptr<Fd> fd, std::string path, uint64_t size)
      : fd_(std::move(fd)), path_(std::move(path)), size_(size) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - at_));
    if (n == 0) return size_t{0};
    RETURN_IF_ERROR(ReadAt(*fd_, path_, at_, n, reinterpret_cast<char*>(out.data())));
    at_ += n;
    return n;
  }

 private:
  std::unique_ptr<Fd> fd_;
  std::string path_;
  uint64_t size_;
  uint64_t at_ = 0;
};

}  // namespace

Result<std::string> ReadCheckpointLines(const std::string& path, uint64_t offset,
                                        size_t max_bytes) {
  ASSIGN_OR_RETURN(const std::unique_ptr<Fd> fd, OpenIfPresent(path));
  if (fd == nullptr) {
    if (offset > 0) return FailedPrecondition(path + " is gone");
    return std::string();
  }
  ASSIGN_OR_RETURN(const uint64_t size, SizeOf(*fd, path));
  if (size < offset) return FailedPrecondition(path + " is shorter than what was copied of it");
  std::string out;
  // Whole blocks until the text read holds a line end and `max_bytes` are reached, or
  // the file ends.
  while (offset + out.size() < size) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, size - offset - out.size()));
    const size_t at = out.size();
    out.resize(at + n);
    RETURN_IF_ERROR(ReadAt(*fd, path, offset + at, n, out.data() + at));
    if (out.size() >= max_bytes && out.find('\n') != std::string::npos) break;
    if (out.size() > kMaxCheckpointBytes) return DataLoss(path + " holds a line too long");
  }
  const size_t end = out.rfind('\n');
  out.resize(end == std::string::npos ? 0 : end + 1);
  if (out.size() > max_bytes) {
    // Cut after the last line end within `max_bytes`, or after the first line.
    const size_t within = out.rfind('\n', max_bytes == 0 ? 0 : max_bytes - 1);
    out.resize(within != std::string::npos ? within + 1 : out.find('\n') + 1);
  }
  return out;
}

Result<std::unique_ptr<ByteSource>> OpenCheckpointLines(const std::string& path, uint64_t* bytes) {
  *bytes = 0;
  ASSIGN_OR_RETURN(std::unique_ptr<Fd> fd, OpenIfPresent(path));
  if (fd == nullptr)
    return std::unique_ptr<ByteSource>(std::make_unique<SpanSource>(std::span<const uint8_t>()));
  ASSIGN_OR_RETURN(const uint64_t size, SizeOf(*fd, path));
  // The last line end, searched backwards a block at a time.
  std::vector<char> block(kBlock);
  uint64_t end = size;
  uint64_t complete = 0;
  while (end > 0 && complete == 0) {
    const uint64_t start = end > kBlock ? end - kBlock : 0;
    const size_t n = static_cast<size_t>(end - start);
    RETURN_IF_ERROR(ReadAt(*fd, path, start, n, block.data()));
    for (size_t i = n; i > 0; --i) {
      if (block[i - 1] == '\n') {
        complete = start + i;
        break;
      }
    }
    end = start;
  }
  if (complete > kMaxCheckpointBytes) {
    return Status(StatusCode::kResourceExhausted,
                  path + " is larger than a snapshot carries (256 MiB)");
  }
  *bytes = complete;
  return std::unique_ptr<ByteSource>(
      std::make_unique<FilePrefixSource>(std::move(fd), path, complete));
}

}  // namespace pactum::backup
