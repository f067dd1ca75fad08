#include "crypto/aead.h"

#include <memory>

#include <openssl/evp.h>

#include "crypto/random.h"

namespace pactum::crypto {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

int Len(size_t n) { return static_cast<int>(n); }

}  // namespace

Result<std::vector<uint8_t>> AesGcmSeal(std::span<const uint8_t> key,
                                        std::span<const uint8_t> plaintext, std::string_view aad) {
  if (key.size() != kAesKeyBytes) return InvalidArgument("AES-256-GCM needs a 32-byte key");
  std::vector<uint8_t> out(kGcmNonceBytes + plaintext.size() + kGcmTagBytes);
  RandomBytes({out.data(), kGcmNonceBytes});
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), out.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const uint8_t*>(aad.data()),
                        Len(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data() + kGcmNonceBytes, &n, plaintext.data(),
                        Len(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + kGcmNonceBytes + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, Len(kGcmTagBytes),
                          out.data() + kGcmNonceBytes + plaintext.size()) != 1) {
    return Internal("AES-256-GCM encryption failed");
  }
  return out;
}

Result<SecretBytes> AesGcmOpen(std::span<const uint8_t> key, std::span<const uint8_t> sealed,
                               std::string_view aad) {
  if (key.size() != kAesKeyBytes) return InvalidArgument("AES-256-GCM needs a 32-byte key");
  if (sealed.size() < kGcmNonceBytes + kGcmTagBytes) {
    return InvalidArgument("sealed value is too short");
  }
  const size_t body = sealed.size() - kGcmNonceBytes - kGcmTagBytes;
  SecretBytes out(body);
  // The tag is passed through a copy: EVP_CTRL_GCM_SET_TAG takes a non-const pointer.
  std::vector<uint8_t> tag(sealed.end() - kGcmTagBytes, sealed.end());
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), sealed.data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const uint8_t*>(aad.data()),
                        Len(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out.data(), &n, sealed.data() + kGcmNonceBytes, Len(body)) !=
          1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, Len(kGcmTagBytes), tag.data()) != 1) {
    return Internal("AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &n) != 1) {
    return DataLoss("authentication failed: wrong key, wrong context, or altered data");
  }
  return out;
}

}  // namespace pactum::crypto
