#pragma once

// Immutable, already-encrypted objects addressed by id. Thread-safe.
// Put() returns OK only once the bytes are durable (fsync, or the remote's ack).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/byte_source.h"
#include "common/status.h"

namespace pactum::blob {

// 32 lower-case hex characters (128 random bits): never derived from user input, so it
// is safe in paths and object keys.
class BlobId {
 public:
  static BlobId Random();
  // kInvalidArgument for anything but 32 lower-case hex characters.
  static Result<BlobId> Parse(std::string_view text);
  const std::string& str() const { return value_; }
  friend bool operator==(const BlobId&, const BlobId&) = default;

 private:
  explicit BlobId(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

class BlobStore {
 public:
  using Visitor = std::function<void(const BlobId& id, std::chrono::system_clock::time_point)>;

  virtual ~BlobStore() = default;
  virtual Status Put(const BlobId& id, ByteSource& data) = 0;  // kAlreadyExists if present
  // The object's bytes from `offset` on (ranged reads); kNotFound.
  virtual Result<std::unique_ptr<ByteSource>> GetAt(const BlobId& id, uint64_t offset) = 0;
  Result<std::unique_ptr<ByteSource>> Get(const BlobId& id) { return GetAt(id, 0); }
  virtual Status Delete(const BlobId& id) = 0;  // kNotFound
  // Calls `visit` with every object and the time it was written (for the orphan sweeper).
  virtual Status List(const Visitor& visit) = 0;
};

}  // namespace pactum::blob
