#include "crypto/token.h"

#include <array>
#include <cstdint>

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/random.h"

namespace pactum::crypto {

std::string RandomUrlToken() {
  std::array<uint8_t, 32> raw{};
  RandomBytes(raw);
  std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(kUrlTokenChars);
  return out;
}

bool IsUrlToken(std::string_view text) {
  if (text.size() != kUrlTokenChars) return false;
  for (const char c : text) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

std::string Sha256(std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return {reinterpret_cast<const char*>(out.data()), out.size()};
}

}  // namespace pactum::crypto
