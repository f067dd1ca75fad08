#include "http/client_address.h"

namespace pactum::http {
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

IpAddress ClientAddress(const IpAddress& peer, const std::vector<std::string_view>& forwarded_for,
                        const std::vector<IpNetwork>& trusted_proxies) {
  if (forwarded_for.empty() || !AnyContains(trusted_proxies, peer)) return peer;
  IpAddress leftmost = peer;
  // Right to left over the lines, and over the entries of each line.
  for (auto line = forwarded_for.rbegin(); line != forwarded_for.rend(); ++line) {
    std::string_view rest = *line;
    for (;;) {
      const size_t comma = rest.rfind(',');
      const std::string_view entry =
          TrimSpaces(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
      auto address = IpAddress::Parse(entry);
      if (!address.ok()) return peer;
      if (!AnyContains(trusted_proxies, *address)) return *address;
      leftmost = *address;
      if (comma == std::string_view::npos) break;
      rest = rest.substr(0, comma);
    }
  }
  return leftmost;
}

}  // namespace pactum::http
