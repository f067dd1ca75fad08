#pragma once

// A pull stream of bytes: uploads, stored objects, encrypted and decrypted views of them.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "common/status.h"

namespace pactum {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Fills up to out.size() bytes; returns how many, 0 only at the end. An error leaves the
  // stream unusable.
  virtual Result<size_t> Read(std::span<uint8_t> out) = 0;
};

// Reads until `out` is full or the stream ends; returns how many bytes were read.
inline Result<size_t> ReadFull(ByteSource& source, std::span<uint8_t> out) {
  size_t got = 0;
  while (got < out.size()) {
    ASSIGN_OR_RETURN(const size_t n, source.Read(out.subspan(got)));
    if (n == 0) break;
    got += n;
  }
  return got;
}

// A ByteSource over bytes that outlive it.
class SpanSource final : public ByteSource {
 public:
  explicit SpanSource(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    const size_t n = std::min(out.size(), bytes_.size());
    if (n > 0) std::memcpy(out.data(), bytes_.data(), n);
    bytes_ = bytes_.subspan(n);
    return n;
  }

 private:
  std::span<const uint8_t> bytes_;
};

}  // namespace pactum
