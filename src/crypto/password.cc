#include "crypto/password.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

#include <sodium.h>
#include <zxcvbn.h>

#include "common/json_writer.h"

// data/common-passwords.txt, embedded at build time (PACTUM_COMMON_PASSWORDS is its path),
// with its size computed by the assembler.
// NOLINTNEXTLINE(hicpp-no-assembler)
__asm__(
    ".section .rodata\n"
    ".global pactum_common_passwords\n"
    "pactum_common_passwords:\n"
    ".incbin \"" PACTUM_COMMON_PASSWORDS
    "\"\n"
    "pactum_common_passwords_end:\n"
    ".balign 8\n"
    ".global pactum_common_passwords_size\n"
    "pactum_common_passwords_size:\n"
    ".quad pactum_common_passwords_end - pactum_common_passwords\n"
    ".previous\n");
extern "C" const char pactum_common_passwords[];
extern "C" const uint64_t pactum_common_passwords_size;

namespace pactum::crypto {
namespace {

// The embedded list as sorted views (the file is sorted bytewise, one per line).
const std::vector<std::string_view>& CommonPasswords() {
  static const auto* list = [] {
    auto* out = new std::vector<std::string_view>();
    std::string_view all(pactum_common_passwords,
                         static_cast<size_t>(pactum_common_passwords_size));
    while (!all.empty()) {
      const size_t nl = all.find('\n');
      const std::string_view line = all.substr(0, nl);
      if (!line.empty()) out->push_back(line);
      if (nl == std::string_view::npos) break;
      all.remove_prefix(nl + 1);
    }
    std::sort(out->begin(), out->end());  // already sorted; cheap, and makes sure
    return out;
  }();
  return *list;
}

size_t Utf8Chars(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// What a zxcvbn match means for the person choosing the password.
std::string Why(const ZxcMatch_t& m) {
  if ((m.Type & MULTIPLE_MATCH) != 0) return "it repeats itself, and repeats are easy to guess";
  switch (m.Type) {
    case DICTIONARY_MATCH:
      return "it is made of common words, names or passwords";
    case DICT_LEET_MATCH:
      return "it is made of common words with look-alike symbols (such as @ for a), which "
             "guessers try first";
    case USER_MATCH:
    case USER_LEET_MATCH:
      return "it contains your name, email address or organisation";
    case REPEATS_MATCH:
      return "it repeats characters (such as aaa), and repeats are easy to guess";
    case SEQUENCE_MATCH:
      return "it contains a sequence such as abcd or 1234";
    case SPATIAL_MATCH:
      return "it is a keyboard pattern such as qwerty";
    case DATE_MATCH:
    case YEAR_MATCH:
      return "it contains a date or year, and those are easy to guess";
    default:
      return "it follows a pattern guessers try early";
  }
}

}  // namespace

Result<std::string> HashPassword(std::string_view password, const PasswordParams& params) {
  if (params.passes < 2 || params.memory_bytes < (size_t{19} << 20)) {
    return InvalidArgument("argon2id needs at least 2 passes and 19 MiB");
  }
  std::string out(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), params.passes,
                            params.memory_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Internal("argon2id: out of memory");
  }
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

PasswordMatch VerifyPassword(const std::string& stored_hash, std::string_view password,
                             const PasswordParams& params) {
  if (stored_hash.empty() || stored_hash.size() >= crypto_pwhash_STRBYTES) {
    return PasswordMatch::kNo;
  }
  if (crypto_pwhash_str_verify(stored_hash.c_str(), password.data(), password.size()) != 0) {
    return PasswordMatch::kNo;
  }
  return crypto_pwhash_str_needs_rehash(stored_hash.c_str(), params.passes, params.memory_bytes) ==
                 0
             ? PasswordMatch::kYes
             : PasswordMatch::kYesButRehash;
}

PasswordStrength EstimatePasswordStrength(std::string_view password,
                                          std::span<const std::string> known_words) {
  // zxcvbn reads C strings: the words as lower-case copies, NULL-terminated like argv.
  std::vector<std::string> words;
  for (const std::string& w : known_words) {
    if (Utf8Chars(w) < 3 || w.find('\0') != std::string::npos) continue;
    std::string lower = w;
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    words.push_back(std::move(lower));
  }
  std::vector<const char*> dict;
  dict.reserve(words.size() + 1);
  for (const std::string& w : words) dict.push_back(w.c_str());
  dict.push_back(nullptr);
  const std::string text(password.substr(0, password.find('\0')));
  ZxcMatch_t* info = nullptr;
  const double bits = ZxcvbnMatch(text.c_str(), dict.data(), &info);
  PasswordStrength out;
  out.guesses_log10 = bits * std::log10(2.0);
  out.score = out.guesses_log10 < 3    ? 0
              : out.guesses_log10 < 6  ? 1
              : out.guesses_log10 < 8  ? 2
              : out.guesses_log10 < 10 ? 3
                                       : 4;
  if (out.score < kMinPasswordScore) {
    // The longest recognised pattern is what the guesser exploits most.
    const ZxcMatch_t* worst = nullptr;
    for (const ZxcMatch_t* m = info; m != nullptr; m = m->Next) {
      if ((m->Type & ~MULTIPLE_MATCH) == BRUTE_MATCH) continue;
      if (worst == nullptr || m->Length > worst->Length) worst = m;
    }
    out.why =
        worst == nullptr ? "it is too short for the few kinds of characters it uses" : Why(*worst);
  }
  ZxcvbnFreeInfo(info);
  return out;
}

Status CheckPasswordPolicy(std::string_view password, std::span<const std::string> known_words) {
  if (!IsValidUtf8(password)) return InvalidArgument("password must be valid UTF-8 text");
  for (const char c : password) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      return InvalidArgument("password must not contain control characters");
  }
  const size_t chars = Utf8Chars(password);
  if (chars < kMinPasswordChars) {
    return InvalidArgument("password must be at least 12 characters");
  }
  if (chars > kMaxPasswordChars) {
    return InvalidArgument("password must be at most 128 characters");
  }
  std::string lower(password);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  const auto& list = CommonPasswords();
  if (std::binary_search(list.begin(), list.end(), std::string_view(lower))) {
    return InvalidArgument("password is too common; choose another");
  }
  const PasswordStrength strength = EstimatePasswordStrength(password, known_words);
  if (strength.score < kMinPasswordScore) {
    return InvalidArgument("password is too easy to guess: " + strength.why +
                           ". Try a few unrelated words; length beats symbols");
  }
  return Status::Ok();
}

size_t CommonPasswordCount() { return CommonPasswords().size(); }

}  // namespace pactum::crypto
