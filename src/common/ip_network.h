#pragma once

// IP addresses and CIDR networks, for allowlists (operator endpoints now, tenant and admin
// allowlists later). IPv4 addresses are held as IPv4-mapped IPv6 so one comparison serves
// both families: "127.0.0.1/32" matches the peer "::ffff:127.0.0.1". Value types.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pactum {

struct IpAddress {
  std::array<uint8_t, 16> bytes{};  // IPv6, or IPv4-mapped IPv6

  // Accepts "1.2.3.4", "::1", "::ffff:1.2.3.4"; no brackets, no zone ids.
  static Result<IpAddress> Parse(std::string_view text);
  bool is_v4() const;
  std::string ToString() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

class IpNetwork {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128).
  static Result<IpNetwork> Parse(std::string_view text);
  bool Contains(const IpAddress& address) const;
  std::string ToString() const;

 private:
  IpAddress base_;
  int prefix_bits_ = 128;  // over the 128-bit (mapped) form
};

// True when `address` is inside any of `networks`.
bool AnyContains(const std::vector<IpNetwork>& networks, const IpAddress& address);

}  // namespace pactum
