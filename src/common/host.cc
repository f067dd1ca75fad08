#include "common/host.h"

#include <strings.h>

#include <charconv>
#include <string>

#include "common/ip_network.h"

namespace pactum {
namespace {

constexpr size_t kMaxName = 253;  // RFC 1035, without the trailing dot

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

bool IsName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxName || name.front() == '.') return false;
  if (name.find("..") != std::string_view::npos) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

// "[v6]" with a plain IPv6 address inside (no zone: '%' is refused by the parse).
bool IsIpv6Literal(std::string_view host) {
  if (host.size() < 3 || host.front() != '[' || host.back() != ']') return false;
  const std::string_view inner = host.substr(1, host.size() - 2);
  if (inner.find(':') == std::string_view::npos) return false;
  return IpAddress::Parse(inner).ok();
}

}  // namespace

Result<Authority> ParseAuthority(std::string_view text) {
  Authority out;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return InvalidArgument("unterminated IPv6 literal");
    out.host = text.substr(0, close + 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return InvalidArgument("unexpected characters after the host");
      port_text = rest.substr(1);
      has_port = true;
    }
    if (!IsIpv6Literal(out.host)) return InvalidArgument("invalid IPv6 literal");
  } else {
    const size_t colon = text.find(':');
    out.host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      has_port = true;
    }
    if (!IsName(out.host)) return InvalidArgument("invalid host name");
  }
  if (has_port) {
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || port_text.size() > 5 || ec != std::errc() ||
        end != port_text.data() + port_text.size() || port > 65535) {
      return InvalidArgument("invalid port");
    }
    out.port = static_cast<uint16_t>(port);
  }
  return out;
}

bool SameHost(std::string_view a, std::string_view b) {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pactum
