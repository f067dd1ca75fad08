#include "document/content_type.h"

#include <magic.h>

#include <algorithm>
#include <mutex>

namespace pactum::document {
namespace {

// Decodes one UTF-8 code point at `s[i]`; returns its length, 0 when invalid. A sequence
// cut off by the end of `s` counts as invalid.
size_t DecodeUtf8(std::string_view s, size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  const char32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// Controls (C0, DEL, C1) and the invisible direction marks and overrides that can make a
// name display as another (e.g. "invoice\u202Efdp.exe").
bool IsControlOrBidi(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x061c ||
         cp == 0xfeff;
}

// UTF-8 text with no controls but tab, newline, carriage return and form feed. When the
// window was cut (`complete` false) a character split by the cut is fine.
bool LooksLikeText(std::string_view s, bool complete) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const size_t n = DecodeUtf8(s, i, cp);
    if (n == 0) return !complete && s.size() - i < 4;
    if (IsControlOrBidi(cp) && cp != '\t' && cp != '\n' && cp != '\r' && cp != '\f') return false;
    i += n;
  }
  return true;
}

class Magic {
 public:
  Result<std::string> Detect(std::span<const uint8_t> head) {
    std::lock_guard lock(mu_);
    if (cookie_ == nullptr) {
      // Only the magic entries and the text check: no decompression, and none of the
      // built-in parsers (ELF, CDF, tar, JSON, CSV) none of the allowed types needs
      // (they have the CVE history). Nothing but the buffer given is read.
      magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS |
                             MAGIC_NO_CHECK_TAR | MAGIC_NO_CHECK_APPTYPE | MAGIC_NO_CHECK_ELF |
                             MAGIC_NO_CHECK_CDF | MAGIC_NO_CHECK_CSV | MAGIC_NO_CHECK_JSON);
      if (m == nullptr) return Internal("libmagic: magic_open failed");
      if (magic_load(m, nullptr) != 0) {
        const std::string why = magic_error(m) != nullptr ? magic_error(m) : "unknown";
        magic_close(m);
        return Internal("libmagic: cannot load its database: " + why);
      }
      size_t max = kSniffBytes;
      magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &max);
      cookie_ = m;
    }
    const char* type = magic_buffer(cookie_, head.data(), head.size());
    if (type == nullptr) return std::string("application/octet-stream");
    return std::string(type);
  }
  ~Magic() {
    if (cookie_ != nullptr) magic_close(cookie_);
  }

 private:
  std::mutex mu_;
  magic_t cookie_ = nullptr;  // GUARDED_BY(mu_)
};

}  // namespace

Result<std::string> DetectType(std::span<const uint8_t> head, bool complete) {
  if (head.empty()) return std::string("text/plain");
  static Magic magic;
  head = head.first(std::min(head.size(), kSniffBytes));
  ASSIGN_OR_RETURN(std::string type, magic.Detect(head));
  if (type == "application/octet-stream" &&
      LooksLikeText(std::string_view(reinterpret_cast<const char*>(head.data()), head.size()),
                    complete)) {
    return std::string("text/plain");
  }
  return type;
}

std::string SanitizeFilename(std::string_view raw) {
  const size_t slash = raw.find_last_of("/\\");
  if (slash != std::string_view::npos) raw.remove_prefix(slash + 1);
  std::string out;
  for (size_t i = 0; i < raw.size();) {
    char32_t cp = 0;
    const size_t n = DecodeUtf8(raw, i, cp);
    if (n == 0) return "document";
    const bool reserved = cp < 0x80 && std::string_view(":*?\"<>|").find(static_cast<char>(cp)) !=
                                           std::string_view::npos;
    if (!IsControlOrBidi(cp) && !reserved) {
      if (out.size() + n > 200) break;
      out.append(raw.substr(i, n));
    }
    i += n;
  }
  const size_t first = out.find_first_not_of(" .");
  if (first == std::string::npos) return "document";
  out.erase(0, first);
  out.erase(out.find_last_not_of(' ') + 1);
  return out;
}

}  // namespace pactum::document
