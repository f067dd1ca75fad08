#include "http/path.h"

#include "common/json_writer.h"

namespace pactum::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<Target> ParseTarget(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return InvalidArgument("request target must be an absolute path");
  }
  Target out;
  const auto q = target.find('?');
  const std::string_view raw = target.substr(0, q);
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  if (target.find('#') != std::string_view::npos) {
    return InvalidArgument("request target must not contain a fragment");
  }
  out.path.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) {
        return InvalidArgument("invalid percent-encoding in path");
      }
      const int hi = HexValue(raw[i + 1]);
      const int lo = HexValue(raw[i + 2]);
      if (hi < 0 || lo < 0) return InvalidArgument("invalid percent-encoding in path");
      c = static_cast<char>(hi * 16 + lo);
      if (c == '/') return InvalidArgument("encoded '/' is not allowed in paths");
      i += 2;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '\\') {
      return InvalidArgument("control characters and backslashes are not allowed in paths");
    }
    out.path += c;
  }
  if (!IsValidUtf8(out.path)) return InvalidArgument("path is not valid UTF-8");
  // Segment rules: no empty (except a trailing one after the root), no "." or "..".
  size_t start = 1;
  while (start <= out.path.size()) {
    size_t slash = out.path.find('/', start);
    if (slash == std::string::npos) slash = out.path.size();
    const std::string_view seg(out.path.data() + start, slash - start);
    if (seg == "." || seg == "..") return InvalidArgument("'.' and '..' are not allowed in paths");
    if (seg.empty() && slash != out.path.size()) {
      return InvalidArgument("empty path segments are not allowed");
    }
    start = slash + 1;
  }
  return out;
}

namespace {

Result<std::string> DecodeQueryPart(std::string_view raw) {
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= raw.size()) return InvalidArgument("invalid percent-encoding in query");
      const int hi = HexValue(raw[i + 1]);
      const int lo = HexValue(raw[i + 2]);
      if (hi < 0 || lo < 0) return InvalidArgument("invalid percent-encoding in query");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return InvalidArgument("control characters in query");
    out += c;
  }
  if (!IsValidUtf8(out)) return InvalidArgument("query is not valid UTF-8");
  return out;
}

}  // namespace

Result<std::map<std::string, std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    ASSIGN_OR_RETURN(std::string key, DecodeQueryPart(pair.substr(0, eq)));
    ASSIGN_OR_RETURN(
        std::string value,
        DecodeQueryPart(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1)));
    if (params.size() >= 50) return InvalidArgument("too many query parameters");
    if (!params.emplace(std::move(key), std::move(value)).second) {
      return InvalidArgument("a query parameter is given twice");
    }
  }
  return params;
}

}  // namespace pactum::http
