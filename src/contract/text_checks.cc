#include "contract/text_checks.h"

#include "common/json_writer.h"

namespace pactum::contract {

bool HasControlCharacters(std::string_view s, bool allow_newline_and_tab) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (allow_newline_and_tab && (b == '\n' || b == '\t')) continue;
    if (b < 0x20 || b == 0x7f) return true;
    if (b == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f) return true;
    if (b == 0xe2 && i + 2 < s.size()) {
      const auto b1 = static_cast<unsigned char>(s[i + 1]);
      const auto b2 = static_cast<unsigned char>(s[i + 2]);
      if (b1 == 0x80 && b2 >= 0xaa && b2 <= 0xae) return true;  // U+202A-U+202E
      if (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9) return true;  // U+2066-U+2069
    }
  }
  return false;
}

Status Bad(const std::string& field, const std::string& what) {
  return InvalidArgument("\"" + field + "\" " + what);
}

Status CheckText(std::string_view s, const std::string& field, size_t min, size_t max,
                 bool allow_newline_and_tab) {
  if (s.size() < min || s.size() > max || !IsValidUtf8(s)) {
    return Bad(field, "must be " + std::to_string(min) + "-" + std::to_string(max) +
                          " bytes of UTF-8 text");
  }
  if (HasControlCharacters(s, allow_newline_and_tab)) {
    return Bad(field, "must not contain control characters");
  }
  return Status::Ok();
}

Status TextField(const nlohmann::json& v, const std::string& field, size_t min, size_t max,
                 std::string& out, bool allow_newline_and_tab) {
  if (!v.is_string()) return Bad(field, "must be a string");
  RETURN_IF_ERROR(
      CheckText(v.get_ref<const std::string&>(), field, min, max, allow_newline_and_tab));
  out = v.get<std::string>();
  return Status::Ok();
}

}  // namespace pactum::contract
