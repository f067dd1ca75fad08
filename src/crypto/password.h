#pragma once

// Password hashing (argon2id, libsodium) and the password policy: 12-128 characters, any
// characters, no composition rules, and not one of the common passwords bundled in
// data/common-passwords.txt (made by scripts/make-common-passwords from Debian packages).
// Hashing is deliberately slow (tens of milliseconds): call it from a worker thread,
// never from an I/O thread. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pactum::crypto {

struct PasswordParams {
  uint64_t passes = 2;                     // argon2id t_cost (OWASP minimum: 2)
  size_t memory_bytes = size_t{19} << 20;  // argon2id m_cost (OWASP minimum: 19 MiB)
};

// "$argon2id$v=19$m=...,t=...,p=1$<salt>$<hash>" with a random salt.
// kInvalidArgument for parameters below the minimum; kInternal when out of memory.
Result<std::string> HashPassword(std::string_view password, const PasswordParams& params);

enum class PasswordMatch {
  kNo,
  kYes,
  kYesButRehash,  // correct, and the stored hash uses other parameters than `params`
};

// Constant-time in the password (libsodium). A malformed stored hash is kNo.
PasswordMatch VerifyPassword(const std::string& stored_hash, std::string_view password,
                             const PasswordParams& params);

inline constexpr size_t kMinPasswordChars = 12;
inline constexpr size_t kMaxPasswordChars = 128;

// kInvalidArgument with a message for the user when the password is too short, too
// long, not UTF-8, or a common password (compared lower-cased).
Status CheckPasswordPolicy(std::string_view password);

// The number of passwords in the bundled list (for tests and the operator).
size_t CommonPasswordCount();

}  // namespace pactum::crypto
