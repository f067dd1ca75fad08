#include "crypto/link_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "crypto/hkdf.h"

namespace pactum::crypto {
namespace {

constexpr uint8_t kFormat = 1;
constexpr size_t kClaimBytes = 53;
constexpr size_t kMacBytes = 32;
constexpr size_t kTokenBytes = kClaimBytes + kMacBytes;

void Put(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(v >> shift));
  }
}

uint64_t Get(const uint8_t* in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | in[i];
  return v;
}

// HMAC-SHA256; aborts if OpenSSL cannot compute it (a MAC left as zeros would fail open).
std::array<uint8_t, kMacBytes> Mac(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  std::array<uint8_t, kMacBytes> mac{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
           mac.data(), &len) == nullptr ||
      len != kMacBytes) {
    std::abort();
  }
  return mac;
}

std::string Encode(std::span<const uint8_t> raw) {
  std::string out(sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(kLinkTokenChars);
  return out;
}

// The raw token bytes, or empty for text that is not the one spelling SignLink gives:
// base64url without padding of exactly kTokenBytes, so "+" or "/" for "-" or "_", "=",
// white space, percent-escapes and set spare bits are all refused. A link has one spelling,
// so a log, a cache or a deny-list keyed by it cannot be sidestepped by another.
std::vector<uint8_t> Decode(std::string_view token) {
  if (token.size() != kLinkTokenChars) return {};
  std::vector<uint8_t> raw(kTokenBytes);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(raw.data(), raw.size(), token.data(), token.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      len != kTokenBytes || end != token.data() + token.size() || Encode(raw) != token) {
    return {};
  }
  return raw;
}

}  // namespace

bool LinkClaims::bound() const {
  return std::any_of(binding.begin(), binding.end(), [](uint8_t b) { return b != 0; });
}

Result<SecretBytes> LinkKey(std::span<const uint8_t> tenant_key) {
  return HkdfSha256(tenant_key, {}, "pactum-link-v1");
}

std::array<uint8_t, 16> LinkBinding(std::span<const uint8_t> link_key,
                                    std::string_view credential) {
  const auto mac =
      Mac(link_key, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(credential.data()),
                                             credential.size()));
  std::array<uint8_t, 16> binding{};
  std::copy_n(mac.begin(), binding.size(), binding.begin());
  binding[0] |= 1;  // never all zero, which means "not bound"
  return binding;
}

std::string SignLink(std::span<const uint8_t> link_key, const LinkClaims& c) {
  std::vector<uint8_t> raw;
  raw.reserve(kTokenBytes);
  raw.push_back(kFormat);
  Put(raw, static_cast<uint64_t>(c.tenant_id), 8);
  Put(raw, static_cast<uint64_t>(c.document_id), 8);
  Put(raw, static_cast<uint64_t>(c.user_id), 8);
  Put(raw, c.key_version, 4);
  Put(raw, static_cast<uint64_t>(c.expires_at), 8);
  raw.insert(raw.end(), c.binding.begin(), c.binding.end());
  const auto mac = Mac(link_key, raw);
  raw.insert(raw.end(), mac.begin(), mac.end());
  return Encode(raw);
}

Result<LinkClaims> ParseLink(std::string_view token) {
  const std::vector<uint8_t> raw = Decode(token);
  if (raw.empty() || raw[0] != kFormat) return InvalidArgument("not a download link");
  LinkClaims c;
  c.tenant_id = static_cast<int64_t>(Get(&raw[1], 8));
  c.document_id = static_cast<int64_t>(Get(&raw[9], 8));
  c.user_id = static_cast<int64_t>(Get(&raw[17], 8));
  c.key_version = static_cast<uint32_t>(Get(&raw[25], 4));
  c.expires_at = static_cast<int64_t>(Get(&raw[29], 8));
  std::copy_n(raw.begin() + 37, c.binding.size(), c.binding.begin());
  if (c.tenant_id <= 0 || c.document_id <= 0 || c.user_id <= 0) {
    return InvalidArgument("not a download link");
  }
  return c;
}

bool LinkSignatureValid(std::span<const uint8_t> link_key, std::string_view token) {
  const std::vector<uint8_t> raw = Decode(token);
  if (raw.empty()) return false;
  const auto mac = Mac(link_key, std::span<const uint8_t>(raw.data(), kClaimBytes));
  return CRYPTO_memcmp(mac.data(), raw.data() + kClaimBytes, kMacBytes) == 0;
}

}  // namespace pactum::crypto
