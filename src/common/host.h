#pragma once

// Host names and authorities as they appear in a URL and in the Host header (RFC 3986
// §3.2.2, RFC 9110 §7.2), held to what a DNS name or an IP literal can be: whatever passes
// is safe to put back into a URL. Pure functions, thread-safe.

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace pactum {

struct Authority {
  // A name ("contracts.example.com", letters, digits, '-', '_', '.', a trailing dot
  // allowed), an IPv4 address, or an IPv6 address in brackets ("[::1]"). A view into the
  // parsed text.
  std::string_view host;
  std::optional<uint16_t> port;  // when the text named one
};

// Splits "host" or "host:port". kInvalidArgument for anything else: an empty host or
// port, userinfo, a path, an IPv6 address without brackets or with a zone, a port beyond
// 65535, more than 253 characters of name.
Result<Authority> ParseAuthority(std::string_view text);

// True when `a` and `b` name the same host: case-insensitive, one trailing dot ignored.
bool SameHost(std::string_view a, std::string_view b);

}  // namespace pactum
