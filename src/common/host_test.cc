#include "common/host.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pactum {
namespace {

TEST(Authority, SplitsNamesAddressesAndPorts) {
  auto a = ParseAuthority("Contracts.Example.com:8443");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "Contracts.Example.com");
  EXPECT_EQ(a->port, 8443);
  a = ParseAuthority("127.0.0.1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_FALSE(a->port.has_value());
  a = ParseAuthority("[::1]:443");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "[::1]");
  EXPECT_EQ(a->port, 443);
  EXPECT_TRUE(ParseAuthority("example.com.").ok());
  EXPECT_TRUE(ParseAuthority("_dmarc.example.com").ok());
}

TEST(Authority, RefusesWhatIsNotAHostAndPort) {
  for (const std::string& bad : std::vector<std::string>{"",
                                                         ":443",
                                                         "example.com:",
                                                         "example.com:+1",
                                                         "example.com:65536",
                                                         "example.com:123456",
                                                         "example.com:0x1",
                                                         "a b",
                                                         "evil.example/x",
                                                         "user@example.com",
                                                         "example.com?",
                                                         "a..b",
                                                         ".example.com",
                                                         "::1",
                                                         "[::1",
                                                         "[::1]x",
                                                         "[::1]:",
                                                         "[fe80::1%eth0]",
                                                         "[1.2.3.4]",
                                                         "example.com:80:80",
                                                         std::string("a\0b", 3),
                                                         "caf\xc3\xa9.example",
                                                         "x\r\ny",
                                                         std::string(254, 'a')}) {
    EXPECT_FALSE(ParseAuthority(bad).ok()) << bad;
  }
  EXPECT_TRUE(ParseAuthority(std::string(253, 'a')).ok());
}

TEST(Authority, SameHostIgnoresCaseAndOneTrailingDot) {
  EXPECT_TRUE(SameHost("Contracts.EXAMPLE.com", "contracts.example.com"));
  EXPECT_TRUE(SameHost("contracts.example.com.", "contracts.example.com"));
  EXPECT_FALSE(SameHost("contracts.example.com", "contracts.example.co"));
  EXPECT_FALSE(SameHost("evil.contracts.example.com", "contracts.example.com"));
  EXPECT_FALSE(SameHost("", "a"));
}

}  // namespace
}  // namespace pactum
