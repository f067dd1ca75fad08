#include "auth/email.h"

#include <unicode/uchar.h>
#include <unicode/uscript.h>

#include <array>
#include <bitset>
#include <optional>
#include <utility>
#include <vector>

#include "common/json_writer.h"
#include "common/text.h"

namespace pactum::auth {
namespace {

constexpr size_t kMaxLocalBytes = 64;
constexpr size_t kMaxLabelBytes = 63;

Status Bad(const std::string& why) { return InvalidArgument("not a valid email address: " + why); }

bool IsAsciiAlnum(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Letters, combining marks and digits of any script (what IDNA and RFC 6531 addresses
// are written with).
bool IsLetterMarkOrDigit(char32_t c) {
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_ND_MASK)) != 0;
}

bool IsSpace(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0; }

// A set of scripts (UScriptCode values), plus the writing systems UTS #39 adds: Japanese,
// Korean and Han with Bopomofo.
using ScriptSet = std::bitset<256>;

ScriptSet AugmentedScripts(char32_t c, bool* any) {
  std::array<UScriptCode, 32> codes{};
  UErrorCode err = U_ZERO_ERROR;
  const int n = uscript_getScriptExtensions(static_cast<UChar32>(c), codes.data(),
                                            static_cast<int32_t>(codes.size()), &err);
  ScriptSet set;
  *any = U_FAILURE(err) || n <= 0 ||
         (n == 1 && (codes[0] == USCRIPT_COMMON || codes[0] == USCRIPT_INHERITED));
  if (*any) return set;
  for (int i = 0; i < n; ++i) {
    const UScriptCode s = codes[static_cast<size_t>(i)];
    if (s < 0 || s >= 256) continue;
    set.set(static_cast<size_t>(s));
    if (s == USCRIPT_HAN) {
      set.set(USCRIPT_HAN_WITH_BOPOMOFO).set(USCRIPT_JAPANESE).set(USCRIPT_KOREAN);
    } else if (s == USCRIPT_HIRAGANA || s == USCRIPT_KATAKANA) {
      set.set(USCRIPT_JAPANESE);
    } else if (s == USCRIPT_HANGUL) {
      set.set(USCRIPT_KOREAN);
    } else if (s == USCRIPT_BOPOMOFO) {
      set.set(USCRIPT_HAN_WITH_BOPOMOFO);
    }
  }
  return set;
}

std::string ScriptName(char32_t c) {
  UErrorCode err = U_ZERO_ERROR;
  const UScriptCode s = uscript_getScript(static_cast<UChar32>(c), &err);
  const char* name = U_SUCCESS(err) ? uscript_getName(s) : nullptr;
  std::string out = name != nullptr ? name : "other";
  for (char& ch : out) {
    if (ch == '_') ch = ' ';
  }
  return out;
}

// The names of two scripts `text` mixes (UTS #39: its resolved script set is empty), or
// nothing when it is single-script.
std::optional<std::pair<std::string, std::string>> MixedScripts(std::string_view text) {
  ScriptSet resolved;
  resolved.set();
  char32_t first = 0;  // the first character that narrowed the set
  for (size_t i = 0; i < text.size();) {
    const CodePoint cp = DecodeUtf8(text.substr(i));
    i += cp.bytes;
    bool any = false;
    const ScriptSet scripts = AugmentedScripts(cp.value, &any);
    if (any) continue;
    if ((resolved & scripts).none()) return std::pair(ScriptName(first), ScriptName(cp.value));
    resolved &= scripts;
    if (first == 0) first = cp.value;
  }
  return std::nullopt;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string Mixing(const std::pair<std::string, std::string>& scripts, std::string_view where) {
  return "it mixes " + scripts.first + " and " + scripts.second + " letters " + std::string(where) +
         " (that is how look-alike addresses are made); write each part in one script";
}

Status CheckLocalPart(std::string_view local) {
  if (local.empty()) return Bad("there is nothing before the @");
  if (local.size() > kMaxLocalBytes) return Bad("the part before the @ is longer than 64 bytes");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return Bad("the part before the @ must not start or end with a dot or have two in a row");
  }
  static constexpr std::string_view kAtext = "!#$%&'*+/=?^_`{|}~-.";
  for (size_t i = 0; i < local.size();) {
    const CodePoint cp = DecodeUtf8(local.substr(i));
    i += cp.bytes;
    const bool ok = cp.value < 0x80
                        ? IsAsciiAlnum(cp.value) ||
                              kAtext.find(static_cast<char>(cp.value)) != std::string_view::npos
                        : IsLetterMarkOrDigit(cp.value);
    if (!ok) {
      return Bad("before the @ it may hold letters, digits and !#$%&'*+/=?^_`{|}~.- only");
    }
  }
  if (const auto mixed = MixedScripts(local)) return Bad(Mixing(*mixed, "before the @"));
  return Status::Ok();
}

Status CheckDomain(std::string_view domain) {
  if (domain.empty()) return Bad("there is nothing after the @");
  if (EmailKey(domain) == "localhost") return Status::Ok();
  const std::vector<std::string_view> labels = Split(domain, '.');
  if (labels.size() < 2) return Bad("the domain needs a dot, as in example.com");
  for (const std::string_view label : labels) {
    if (label.empty()) {
      return Bad("the domain must not start or end with a dot or have two in a row");
    }
    if (label.size() > kMaxLabelBytes) return Bad("a part of the domain is longer than 63 bytes");
    if (label.front() == '-' || label.back() == '-') {
      return Bad("a part of the domain starts or ends with a hyphen");
    }
    for (size_t i = 0; i < label.size();) {
      const CodePoint cp = DecodeUtf8(label.substr(i));
      i += cp.bytes;
      const bool ok = cp.value < 0x80 ? IsAsciiAlnum(cp.value) || cp.value == '-'
                                      : IsLetterMarkOrDigit(cp.value);
      if (!ok) return Bad("the domain may hold letters, digits, hyphens and dots only");
    }
    if (const auto mixed = MixedScripts(label)) return Bad(Mixing(*mixed, "in the domain"));
  }
  if (labels.back().find_first_not_of("0123456789") == std::string_view::npos) {
    return Bad("the domain must be a name, not an IP address");
  }
  return Status::Ok();
}

}  // namespace

Status CheckEmail(std::string_view email) {
  if (email.size() < 3 || email.size() > 254) return Bad("it must be 3-254 bytes long");
  if (!IsValidUtf8(email)) return Bad("it is not UTF-8 text");
  for (size_t i = 0; i < email.size();) {
    const CodePoint cp = DecodeUtf8(email.substr(i));
    i += cp.bytes;
    if (IsSpace(cp.value)) return Bad("it contains a space");
  }
  if (const std::string problem = TextProblem(email); !problem.empty()) {
    return Bad("it " + problem);
  }
  const size_t at = email.find('@');
  if (at == std::string_view::npos) return Bad("it has no @");
  if (email.find('@', at + 1) != std::string_view::npos) return Bad("it has more than one @");
  RETURN_IF_ERROR(CheckLocalPart(email.substr(0, at)));
  return CheckDomain(email.substr(at + 1));
}

bool IsValidEmail(std::string_view email) { return CheckEmail(email).ok(); }

std::string EmailKey(std::string_view email) {
  std::string key(email);
  for (char& c : key) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return key;
}

}  // namespace pactum::auth
