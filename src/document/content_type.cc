#include "document/content_type.h"

#include <magic.h>

#include <algorithm>
#include <mutex>

#include "common/text.h"

namespace pactum::document {
namespace {

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
    const CodePoint cp = DecodeUtf8(s.substr(i));
    if (cp.invalid()) return !complete && s.size() - i < 4;
    const char32_t c = cp.value;
    if (IsControlOrBidi(c) && c != '\t' && c != '\n' && c != '\r' && c != '\f') return false;
    i += cp.bytes;
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
    const CodePoint decoded = DecodeUtf8(raw.substr(i));
    if (decoded.invalid()) return "document";
    const char32_t cp = decoded.value;
    const size_t n = decoded.bytes;
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
