#pragma once

// Incremental SHA-256 (OpenSSL) for data hashed as it streams by: backup snapshots and
// change-log segments. One object per stream; not thread-safe.

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace pactum::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(std::span<const uint8_t> data);
  // The digest of everything given so far; the stream starts over afterwards.
  Sha256Digest Finish();

 private:
  void* ctx_;  // EVP_MD_CTX
};

// Lower-case hex of a digest.
std::string HexDigest(const Sha256Digest& digest);

}  // namespace pactum::crypto
