#pragma once

// Key material in memory that is locked against swapping where the OS allows
// (sodium_malloc: mlock'ed, guard pages) and wiped when freed. Move-only.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"

namespace pactum::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  // `size` zero bytes. Aborts if the allocation fails (out of memory for key material).
  explicit SecretBytes(size_t size);
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }

  // A copy, as SecretBytes.
  static SecretBytes CopyOf(std::span<const uint8_t> bytes);

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// The whole of a small file holding key material (a master key file), read straight into
// locked memory: no copy of it is left in ordinary memory. kNotFound when it does not
// exist; kInvalidArgument when it holds more than `max_bytes`.
Result<SecretBytes> ReadSecretFile(const std::string& path, size_t max_bytes);

}  // namespace pactum::crypto
