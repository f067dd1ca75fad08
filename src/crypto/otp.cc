#include "crypto/otp.h"

#include <array>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace pactum::crypto {
namespace {

constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const EVP_MD* Digest(OtpHash hash) {
  switch (hash) {
    case OtpHash::kSha256:
      return EVP_sha256();
    case OtpHash::kSha512:
      return EVP_sha512();
    case OtpHash::kSha1:
      break;
  }
  return EVP_sha1();
}

const char* HashName(OtpHash hash) {
  switch (hash) {
    case OtpHash::kSha256:
      return "SHA256";
    case OtpHash::kSha512:
      return "SHA512";
    case OtpHash::kSha1:
      break;
  }
  return "SHA1";
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '@') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

}  // namespace

uint32_t Hotp(std::span<const uint8_t> secret, uint64_t counter, int digits, OtpHash hash) {
  std::array<uint8_t, 8> message{};
  for (int i = 7; i >= 0; --i) {
    message[static_cast<size_t>(i)] = static_cast<uint8_t>(counter);
    counter >>= 8;
  }
  std::array<uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (HMAC(Digest(hash), secret.data(), static_cast<int>(secret.size()), message.data(),
           message.size(), mac.data(), &mac_len) == nullptr) {
    return UINT32_MAX;  // never equal to a formatted code: verification fails closed
  }
  const unsigned offset = mac[mac_len - 1] & 0x0f;
  const uint32_t binary = ((uint32_t{mac[offset]} & 0x7f) << 24) |
                          (uint32_t{mac[offset + 1]} << 16) | (uint32_t{mac[offset + 2]} << 8) |
                          uint32_t{mac[offset + 3]};
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  return binary % modulus;
}

std::string FormatOtp(uint32_t code, int digits) {
  std::string out = std::to_string(code);
  if (out.size() < static_cast<size_t>(digits)) {
    out.insert(0, static_cast<size_t>(digits) - out.size(), '0');
  }
  return out;
}

std::optional<int64_t> VerifyTotp(std::span<const uint8_t> secret, std::string_view code,
                                  int64_t unix_seconds, const TotpParams& params) {
  if (code.size() != static_cast<size_t>(params.digits) || params.period_seconds <= 0 ||
      unix_seconds < 0) {
    return std::nullopt;
  }
  for (const char c : code) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  const int64_t now = unix_seconds / params.period_seconds;
  std::optional<int64_t> matched;
  // Every candidate is computed and compared, so timing does not tell which one matched.
  for (int64_t step = now - params.skew_steps; step <= now + params.skew_steps; ++step) {
    if (step < 0) continue;
    const std::string expected = FormatOtp(
        Hotp(secret, static_cast<uint64_t>(step), params.digits, params.hash), params.digits);
    if (CRYPTO_memcmp(expected.data(), code.data(), code.size()) == 0 && !matched) {
      matched = step;
    }
  }
  return matched;
}

std::string Base32Encode(std::span<const uint8_t> bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (const uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += kBase32[(buffer >> (bits - 5)) & 0x1f];
      bits -= 5;
    }
  }
  if (bits > 0) out += kBase32[(buffer << (5 - bits)) & 0x1f];
  return out;
}

Result<std::vector<uint8_t>> Base32Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::vector<uint8_t> out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    const size_t v = kBase32.find(c);
    if (v == std::string_view::npos) return InvalidArgument("not base32");
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  // Leftover bits must be padding zeros, and fewer than a whole symbol's worth.
  if (bits >= 5 || (buffer & ((1U << bits) - 1)) != 0) return InvalidArgument("not base32");
  return out;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account,
                       std::span<const uint8_t> secret, const TotpParams& params) {
  return "otpauth://totp/" + PercentEncode(issuer) + ":" + PercentEncode(account) +
         "?secret=" + Base32Encode(secret) + "&issuer=" + PercentEncode(issuer) +
         "&algorithm=" + HashName(params.hash) + "&digits=" + std::to_string(params.digits) +
         "&period=" + std::to_string(params.period_seconds);
}

}  // namespace pactum::crypto
