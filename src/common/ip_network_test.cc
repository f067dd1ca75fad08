#include "common/ip_network.h"

#include <gtest/gtest.h>

namespace pactum {
namespace {

TEST(IpNetwork, V4NetworkMatchesV4AndMappedAddresses) {
  auto net = IpNetwork::Parse("10.1.0.0/16");
  ASSERT_TRUE(net.ok());
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("10.1.200.3")));
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("::ffff:10.1.0.1")));
  EXPECT_FALSE(net->Contains(*IpAddress::Parse("10.2.0.1")));
  EXPECT_FALSE(net->Contains(*IpAddress::Parse("::1")));
}

TEST(IpNetwork, AMappedNetworkInIpv6NotationCountsIpv6Bits) {
  auto net = IpNetwork::Parse("::ffff:10.0.0.0/104");
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("10.200.0.1")));
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("::ffff:10.0.0.9")));
  EXPECT_FALSE(net->Contains(*IpAddress::Parse("11.0.0.1")));
  EXPECT_EQ(net->ToString(), "10.0.0.0/8");
  EXPECT_EQ(IpNetwork::Parse("::ffff:10.0.0.1")->ToString(), "10.0.0.1/32");
  EXPECT_FALSE(IpNetwork::Parse("::ffff:10.0.0.0/129").ok());
}

TEST(IpNetwork, BareAddressIsAHostRoute) {
  auto net = IpNetwork::Parse("::1");
  ASSERT_TRUE(net.ok());
  EXPECT_TRUE(net->Contains(*IpAddress::Parse("::1")));
  EXPECT_FALSE(net->Contains(*IpAddress::Parse("::2")));
  EXPECT_EQ(net->ToString(), "::1/128");
}

TEST(IpNetwork, HostBitsAreIgnoredAndPrefixZeroMatchesAll) {
  auto net = IpNetwork::Parse("192.168.1.77/24");
  ASSERT_TRUE(net.ok());
  EXPECT_EQ(net->ToString(), "192.168.1.0/24");
  EXPECT_TRUE(IpNetwork::Parse("0.0.0.0/0")->Contains(*IpAddress::Parse("8.8.8.8")));
  EXPECT_TRUE(IpNetwork::Parse("2001:db8::/32")->Contains(*IpAddress::Parse("2001:db8:1::5")));
}

TEST(IpNetwork, RejectsMalformedInput) {
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "10.0.0.0/x",
                          "host.example", "[::1]", "1.2.3.4/8/8", "fe80::1%eth0"}) {
    EXPECT_FALSE(IpNetwork::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace pactum
