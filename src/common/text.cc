#include "common/text.h"

#include <cstdio>

#include "common/json_writer.h"

namespace pactum {
namespace {

std::string Hex(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

bool IsControl(char32_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029;
}

bool IsBidiControl(char32_t c) {
  return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
         (c >= 0x2066 && c <= 0x2069);
}

// Default-ignorable format characters that render as nothing (the bidi controls and the
// joiners are handled on their own).
bool IsInvisible(char32_t c) {
  return c == 0x00ad || c == 0x034f || c == 0x115f || c == 0x1160 || c == 0x17b4 || c == 0x17b5 ||
         c == 0x180e || c == 0x200b || (c >= 0x2060 && c <= 0x206f) || c == 0x3164 || c == 0xfeff ||
         c == 0xffa0 || (c >= 0xfff9 && c <= 0xfffb) || (c >= 0x1bca0 && c <= 0x1bca3) ||
         (c >= 0x1d173 && c <= 0x1d17a) || (c >= 0xe0000 && c <= 0xe007f);
}

bool IsJoiner(char32_t c) { return c == 0x200c || c == 0x200d; }

bool IsNoncharacter(char32_t c) { return (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe; }

// Unicode White_Space (the controls among them are refused anyway).
bool IsSpace(char32_t c) {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000;
}

// Scripts that use joiners (Hebrew onwards: Arabic, Indic, Sinhala ... and the emoji).
bool UsesJoiners(char32_t c) { return c >= 0x0590 && !IsJoiner(c) && !IsInvisible(c); }

}  // namespace

CodePoint DecodeUtf8(std::string_view s) {
  if (s.empty()) return {0xfffd, 0};
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return {b0, 1};
  size_t len = 0;
  char32_t cp = 0;
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
    return {0xfffd, 1};
  }
  if (s.size() < len) return {0xfffd, 1};
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xc0) != 0x80) return {0xfffd, 1};
    cp = (cp << 6) | (b & 0x3f);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return {0xfffd, 1};
  }
  return {cp, len};
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

std::string TextProblem(std::string_view text, TextKind kind) {
  if (!IsValidUtf8(text)) return "must be UTF-8 text";
  const bool prose = kind == TextKind::kProse;
  char32_t previous = 0;
  for (size_t i = 0; i < text.size();) {
    const CodePoint cp = DecodeUtf8(text.substr(i));
    const char32_t c = cp.value;
    i += cp.bytes;
    if (IsControl(c)) {
      if (prose && (c == '\n' || c == '\t')) {
        previous = c;
        continue;
      }
      return "contains a control character (" + Hex(c) + ")";
    }
    if (IsBidiControl(c)) return "contains a bidirectional control character (" + Hex(c) + ")";
    if (IsInvisible(c)) return "contains an invisible character (" + Hex(c) + ")";
    if (IsNoncharacter(c)) return "contains a Unicode noncharacter (" + Hex(c) + ")";
    if (IsJoiner(c)) {
      const char32_t next = i < text.size() ? DecodeUtf8(text.substr(i)).value : 0;
      if (!UsesJoiners(previous) || !UsesJoiners(next)) {
        return "contains an invisible character (" + Hex(c) + ")";
      }
    }
    previous = c;
  }
  if (!prose && !text.empty()) {
    char32_t last = 0;
    for (size_t back = 1; back <= 4 && back <= text.size(); ++back) {
      if ((static_cast<unsigned char>(text[text.size() - back]) & 0xc0) != 0x80) {
        last = DecodeUtf8(text.substr(text.size() - back)).value;
        break;
      }
    }
    if (IsSpace(DecodeUtf8(text).value) || IsSpace(last)) {
      return "must not start or end with a space";
    }
  }
  return {};
}

Status CheckText(std::string_view text, std::string_view field, size_t min_chars, size_t max_chars,
                 TextKind kind) {
  std::string name = "\"";  // appended: "x" + std::string trips GCC 12's -Wrestrict
  name += field;
  name += "\" ";
  // Far too long is said at once, without reading it all (a code point is at most 4 bytes).
  const size_t chars = text.size() > 4 * max_chars ? max_chars + 1 : Utf8Length(text);
  if (chars <= max_chars) {
    const std::string problem = TextProblem(text, kind);
    if (!problem.empty()) return InvalidArgument(name + problem);
  }
  if (chars < min_chars || chars > max_chars) {
    if (min_chars == 0) {
      return InvalidArgument(name + "must be at most " + std::to_string(max_chars) + " characters");
    }
    if (min_chars == 1 && chars == 0) return InvalidArgument(name + "must not be empty");
    return InvalidArgument(name + "must be " + std::to_string(min_chars) + "-" +
                           std::to_string(max_chars) + " characters");
  }
  return Status::Ok();
}

}  // namespace pactum
