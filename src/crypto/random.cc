#include "crypto/random.h"

#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace pactum::crypto {

void RandomBytes(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

std::string RandomHex(size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint8_t buf[64] = {};
  std::string out;
  out.reserve(n * 2);
  while (n > 0) {
    const size_t chunk = n < sizeof buf ? n : sizeof buf;
    RandomBytes({buf, chunk});
    for (size_t i = 0; i < chunk; ++i) {
      out += kHex[buf[i] >> 4];
      out += kHex[buf[i] & 0xf];
    }
    n -= chunk;
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pactum::crypto
