#include "backup/backup_target.h"

namespace pactum::backup {

Status ValidObjectName(std::string_view name) {
  if (name.empty()) return InvalidArgument("an object name is empty");
  if (name.size() > kMaxObjectNameBytes) {
    return InvalidArgument("an object name has more than 255 bytes");
  }
  size_t start = 0;
  for (;;) {
    const size_t slash = name.find('/', start);
    const std::string_view segment = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) {
      return InvalidArgument("an object name has an empty segment (or a leading or trailing '/')");
    }
    if (segment.front() == '.') {
      return InvalidArgument("a segment of an object name starts with '.'");
    }
    for (const char c : segment) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
      if (!ok) return InvalidArgument("an object name may only use a-z 0-9 . _ - and '/'");
    }
    if (slash == std::string_view::npos) return Status::Ok();
    start = slash + 1;
  }
}

}  // namespace pactum::backup
