#pragma once

// One-time passwords: HOTP (RFC 4226) and TOTP (RFC 6238), with the base32 encoding
// (RFC 4648) and otpauth:// URIs authenticator apps read. Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pactum::crypto {

enum class OtpHash { kSha1, kSha256, kSha512 };

// The HOTP value for `counter`: dynamic truncation of HMAC(secret, counter) modulo
// 10^digits. `digits` is 6-9.
uint32_t Hotp(std::span<const uint8_t> secret, uint64_t counter, int digits,
              OtpHash hash = OtpHash::kSha1);

// `code` left-padded with zeros to `digits` characters.
std::string FormatOtp(uint32_t code, int digits);

struct TotpParams {
  OtpHash hash = OtpHash::kSha1;
  int digits = 6;
  int64_t period_seconds = 30;
  int skew_steps = 1;  // accept this many steps before and after the current one
};

// The time step (unix_seconds / period) a TOTP `code` is valid for at `unix_seconds`,
// within the allowed skew; nullopt when it matches none or is not `digits` decimal
// digits. Every candidate is compared in constant time. Callers refuse a step at or
// below the last one accepted for the same secret (replay).
std::optional<int64_t> VerifyTotp(std::span<const uint8_t> secret, std::string_view code,
                                  int64_t unix_seconds, const TotpParams& params = {});

// RFC 4648 base32, upper case, without padding (as otpauth:// URIs carry it).
std::string Base32Encode(std::span<const uint8_t> bytes);
// Accepts upper or lower case and optional '=' padding. kInvalidArgument otherwise.
Result<std::vector<uint8_t>> Base32Decode(std::string_view text);

// otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30
// with the label and issuer percent-encoded.
std::string OtpauthUri(std::string_view issuer, std::string_view account,
                       std::span<const uint8_t> secret, const TotpParams& params = {});

}  // namespace pactum::crypto
