#pragma once

// Password hashing (argon2id, libsodium) and the password policy (NIST SP 800-63B): 12-128
// characters, any printable characters (controls refused), no composition rules, not one
// of the common passwords bundled in data/common-passwords.txt (made by
// scripts/make-common-passwords from Debian packages), and hard enough to guess by the
// zxcvbn estimate (Debian's libzxcvbn, the C port): at least kMinPasswordScore, counting
// words the caller knows the person uses (their email, name, organisation) as guessable.
// Hashing is deliberately slow (tens of milliseconds): call it from a worker thread,
// never from an I/O thread. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>
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
// zxcvbn's scale: 0 (under 10^3 guesses), 1 (10^6), 2 (10^8), 3 (10^10), 4 (more). Score 3
// ("safely unguessable: moderate protection from an offline slow-hash attack") is what
// zxcvbn's authors and most password UIs ask for.
inline constexpr int kMinPasswordScore = 3;

struct PasswordStrength {
  double guesses_log10 = 0;  // the estimator's guesses needed, as a power of ten
  int score = 0;             // 0-4, from guesses_log10 as above
  // When weak: what makes it guessable, in plain words ("it is a keyboard pattern such as
  // qwerty"); "" otherwise.
  std::string why;
};

// The zxcvbn estimate of `password`. `known_words` (email, name, organisation ...) count
// as guessable in any case; words shorter than three characters are ignored.
PasswordStrength EstimatePasswordStrength(std::string_view password,
                                          std::span<const std::string> known_words = {});

// OK, or kInvalidArgument with a message for the user saying why: too short, too long,
// not UTF-8, a control character, a common password (compared lower-cased), or too easy
// to guess (score below kMinPasswordScore, with EstimatePasswordStrength's reason).
Status CheckPasswordPolicy(std::string_view password,
                           std::span<const std::string> known_words = {});

// The number of passwords in the bundled list (for tests and the operator).
size_t CommonPasswordCount();

}  // namespace pactum::crypto
