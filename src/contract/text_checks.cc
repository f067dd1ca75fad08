#include "contract/text_checks.h"

namespace pactum::contract {

Status Bad(const std::string& field, const std::string& what) {
  return InvalidArgument("\"" + field + "\" " + what);
}

Status TextField(const nlohmann::json& v, const std::string& field, size_t min_chars,
                 size_t max_chars, std::string& out, TextKind kind) {
  if (!v.is_string()) return Bad(field, "must be a string");
  RETURN_IF_ERROR(CheckText(v.get_ref<const std::string&>(), field, min_chars, max_chars, kind));
  out = v.get<std::string>();
  return Status::Ok();
}

}  // namespace pactum::contract
