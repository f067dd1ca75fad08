#include "crypto/sha256.h"

#include <cstdlib>

#include <openssl/evp.h>

namespace pactum::crypto {
namespace {

EVP_MD_CTX* Ctx(void* p) { return static_cast<EVP_MD_CTX*>(p); }

}  // namespace

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  // Allocation failure or an OpenSSL without SHA-256: nothing sensible can follow.
  if (ctx_ == nullptr || EVP_DigestInit_ex(Ctx(ctx_), EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(Ctx(ctx_)); }

void Sha256Stream::Update(std::span<const uint8_t> data) {
  if (EVP_DigestUpdate(Ctx(ctx_), data.data(), data.size()) != 1) std::abort();
}

Sha256Digest Sha256Stream::Finish() {
  Sha256Digest out{};
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(Ctx(ctx_), out.data(), &n) != 1 ||
      EVP_DigestInit_ex(Ctx(ctx_), EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return out;
}

std::string HexDigest(const Sha256Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (const uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace pactum::crypto
