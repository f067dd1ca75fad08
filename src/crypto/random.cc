#include "crypto/random.h"

#include <cstdlib>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/hex.h"

namespace pactum::crypto {

void RandomBytes(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

std::string RandomHex(size_t n) {
  std::vector<uint8_t> bytes(n);
  RandomBytes(bytes);
  return HexEncode(bytes);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pactum::crypto
