#include "http/framing.h"

#include <strings.h>

#include "common/host.h"

namespace pactum::http {
namespace {

bool NameIs(std::string_view name, std::string_view expected) {
  return name.size() == expected.size() &&
         ::strncasecmp(name.data(), expected.data(), expected.size()) == 0;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// What a request's Transfer-Encoding fields (one list, in order) amount to.
struct Codings {
  bool present = false;
  bool empty_element = false;
  int chunked = 0;            // how often "chunked" appears
  bool last_chunked = false;  // the final coding is "chunked"
  bool other = false;         // a coding other than "chunked"
};

void AddCodings(std::string_view list, Codings& out) {
  out.present = true;
  for (;;) {
    const size_t comma = list.find(',');
    const std::string_view coding = TrimOws(list.substr(0, comma));
    const bool chunked = NameIs(coding, "chunked");
    if (coding.empty()) out.empty_element = true;
    if (chunked) {
      ++out.chunked;
    } else {
      out.other = true;
    }
    out.last_chunked = chunked;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

Result<Framing> CheckFraming(const std::vector<HeaderField>& headers, int version) {
  Codings codings;
  int lengths = 0;
  int hosts = 0;
  std::string_view length;
  std::string_view host;
  for (const auto& h : headers) {
    if (NameIs(h.name, "Transfer-Encoding")) {
      AddCodings(h.value, codings);
    } else if (NameIs(h.name, "Content-Length")) {
      ++lengths;
      length = h.value;
    } else if (NameIs(h.name, "Host")) {
      ++hosts;
      host = h.value;
    }
  }
  if (codings.present) {
    if (version < 11) return InvalidArgument("Transfer-Encoding is not allowed in HTTP/1.0");
    if (lengths > 0) return InvalidArgument("Transfer-Encoding and Content-Length together");
    if (codings.empty_element) return InvalidArgument("empty transfer coding");
    if (!codings.last_chunked) return InvalidArgument("the final transfer coding must be chunked");
    if (codings.chunked > 1) return InvalidArgument("chunked is applied more than once");
    if (codings.other) {
      return Status(StatusCode::kNotImplemented,
                    "transfer codings other than chunked are not implemented");
    }
  }
  if (lengths > 1) return InvalidArgument("more than one Content-Length");
  if (lengths == 1 && !AllDigits(length)) return InvalidArgument("invalid Content-Length");
  if (hosts > 1) return InvalidArgument("more than one Host");
  Framing out;
  if (hosts == 0) {
    if (version >= 11) return InvalidArgument("an HTTP/1.1 request needs a Host");
    return out;
  }
  auto authority = ParseAuthority(host);
  if (!authority.ok()) return InvalidArgument("invalid Host");
  out.host = authority->host;
  return out;
}

bool HasObsFold(std::string_view head) {
  for (size_t i = head.find('\n'); i != std::string_view::npos && i + 1 < head.size();
       i = head.find('\n', i + 1)) {
    if (head[i + 1] == ' ' || head[i + 1] == '\t') return true;
  }
  return false;
}

}  // namespace pactum::http
