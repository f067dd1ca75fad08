#include "common/ip_network.h"

#include <arpa/inet.h>
#include <algorithm>
#include <charconv>
#include <cstring>

namespace pactum {
namespace {
constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}

Result<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return InvalidArgument("invalid IP address");
  const std::string s(text);
  IpAddress out;
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), out.bytes.begin());
    std::memcpy(out.bytes.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.bytes.data(), &v6, 16);
    return out;
  }
  return InvalidArgument("invalid IP address");
}

bool IpAddress::is_v4() const {
  return std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes.begin());
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    ::inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

Result<IpNetwork> IpNetwork::Parse(std::string_view text) {
  const auto slash = text.find('/');
  auto addr = IpAddress::Parse(text.substr(0, slash));
  if (!addr.ok()) return InvalidArgument("invalid network (expected CIDR such as 10.0.0.0/8)");
  IpNetwork net;
  net.base_ = *addr;
  // The prefix counts bits of the notation written: "10.0.0.0/8" and its IPv6 form
  // "::ffff:10.0.0.0/104" are the same network.
  const bool v4_notation = text.substr(0, slash).find(':') == std::string_view::npos;
  const int max_bits = v4_notation ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() || bits < 0 ||
        bits > max_bits) {
      return InvalidArgument("invalid network prefix length");
    }
  }
  net.prefix_bits_ = v4_notation ? bits + 96 : bits;
  // Zero the host bits so Contains() can compare masked bytes.
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(net.prefix_bits_ - i * 8, 0, 8);
    net.base_.bytes[i] &= static_cast<uint8_t>(0xff << (8 - keep));
  }
  return net;
}

bool IpNetwork::Contains(const IpAddress& address) const {
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(prefix_bits_ - i * 8, 0, 8);
    if (keep == 0) break;
    const auto mask = static_cast<uint8_t>(0xff << (8 - keep));
    if ((address.bytes[i] & mask) != base_.bytes[i]) return false;
  }
  return true;
}

std::string IpNetwork::ToString() const {
  const int bits = base_.is_v4() && prefix_bits_ >= 96 ? prefix_bits_ - 96 : prefix_bits_;
  return base_.ToString() + "/" + std::to_string(bits);
}

bool AnyContains(const std::vector<IpNetwork>& networks, const IpAddress& address) {
  for (const auto& n : networks) {
    if (n.Contains(address)) return true;
  }
  return false;
}

}  // namespace pactum
