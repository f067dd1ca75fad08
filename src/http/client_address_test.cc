#include "http/client_address.h"

#include <string>

#include <gtest/gtest.h>

namespace pactum::http {
namespace {

IpAddress Ip(std::string_view text) { return *IpAddress::Parse(text); }

std::vector<IpNetwork> Nets(std::initializer_list<const char*> cidrs) {
  std::vector<IpNetwork> out;
  for (const char* c : cidrs) out.push_back(*IpNetwork::Parse(c));
  return out;
}

// The client address as text, for a peer and X-Forwarded-For lines.
std::string Client(std::string_view peer, const std::vector<std::string_view>& xff,
                   const std::vector<IpNetwork>& trusted) {
  return ClientAddress(Ip(peer), xff, trusted).ToString();
}

// The proxies of most cases: a v4 network and a v6 one.
std::vector<IpNetwork> Proxies() { return Nets({"10.0.0.0/8", "2001:db8:0:1::/64"}); }

TEST(ClientAddress, UntrustedPeerIsTheClientWhateverItForwards) {
  EXPECT_EQ(Client("203.0.113.9", {"198.51.100.7"}, Proxies()), "203.0.113.9");
  EXPECT_EQ(Client("203.0.113.9", {"10.0.0.1"}, Proxies()), "203.0.113.9");
  EXPECT_EQ(Client("2001:db8:0:2::9", {"198.51.100.7"}, Proxies()), "2001:db8:0:2::9");
  // No trusted proxies configured: never believed.
  EXPECT_EQ(Client("10.0.0.2", {"198.51.100.7"}, {}), "10.0.0.2");
}

TEST(ClientAddress, TrustedPeerWithoutForwardedForIsTheClient) {
  EXPECT_EQ(Client("10.0.0.2", {}, Proxies()), "10.0.0.2");
}

TEST(ClientAddress, TrustedV4ProxyNamesTheClient) {
  EXPECT_EQ(Client("10.0.0.2", {"198.51.100.7"}, Proxies()), "198.51.100.7");
}

TEST(ClientAddress, TrustedV6ProxyNamesAV6Client) {
  EXPECT_EQ(Client("2001:db8:0:1::2", {"2001:DB8:FFFF:0:0:0:0:7"}, Proxies()), "2001:db8:ffff::7");
}

TEST(ClientAddress, MappedV4AddressesCountAsV4) {
  // A dual-stack socket reports a v4 proxy as ::ffff:10.0.0.2; it is inside 10.0.0.0/8.
  EXPECT_EQ(Client("::ffff:10.0.0.2", {"::ffff:198.51.100.7"}, Proxies()), "198.51.100.7");
  EXPECT_EQ(Client("10.0.0.2", {"198.51.100.7, ::ffff:10.0.0.9"}, Proxies()), "198.51.100.7");
  EXPECT_EQ(Client("10.0.0.2", {"198.51.100.7"}, Nets({"::ffff:10.0.0.0/104"})), "198.51.100.7");
}

TEST(ClientAddress, ChainsOfTrustedProxiesAreSkippedFromTheRight) {
  EXPECT_EQ(Client("10.0.0.3", {"198.51.100.7, 10.0.0.1, 2001:db8:0:1::5"}, Proxies()),
            "198.51.100.7");
  // Several header lines read as one list, in order.
  EXPECT_EQ(Client("10.0.0.3", {"198.51.100.7, 10.0.0.1", "10.0.0.2"}, Proxies()), "198.51.100.7");
  EXPECT_EQ(Client("10.0.0.3", {"192.0.2.1", "198.51.100.7", "10.0.0.2"}, Proxies()),
            "198.51.100.7");
}

TEST(ClientAddress, SpoofedEntriesLeftOfTheClientAreNeverBelieved) {
  // The client sent "X-Forwarded-For: 192.0.2.66, 10.0.0.5" itself, pretending to be
  // forwarded; the trusted proxy appended the address it really came from.
  EXPECT_EQ(Client("10.0.0.2", {"192.0.2.66, 10.0.0.5, 198.51.100.7"}, Proxies()), "198.51.100.7");
  EXPECT_EQ(Client("10.0.0.2", {"192.0.2.66", "198.51.100.7"}, Proxies()), "198.51.100.7");
  // Garbage the client put in front cannot push the answer back to the proxy either.
  EXPECT_EQ(Client("10.0.0.2", {"<script>, unknown,, 198.51.100.7"}, Proxies()), "198.51.100.7");
}

TEST(ClientAddress, EveryEntryTrustedGivesTheLeftmost) {
  EXPECT_EQ(Client("10.0.0.3", {"10.0.0.1, 10.0.0.2"}, Proxies()), "10.0.0.1");
  EXPECT_EQ(Client("10.0.0.3", {"10.0.0.1", "2001:db8:0:1::2"}, Proxies()), "10.0.0.1");
}

TEST(ClientAddress, SpacesAroundEntriesAreTolerated) {
  EXPECT_EQ(Client("10.0.0.2", {"  198.51.100.7\t,\t10.0.0.1  "}, Proxies()), "198.51.100.7");
}

TEST(ClientAddress, AGarbledEntryInTheWalkLeavesThePeer) {
  for (const char* bad :
       {"unknown", "", " ", "198.51.100.7:443", "[2001:db8::7]", "[2001:db8::7]:443",
        "198.51.100.7;", "fe80::1%eth0", "198.51.100.7 192.0.2.1", "198.51.100", "host.example",
        "1.2.3.4/32", "198.51.100.7\r\n"}) {
    EXPECT_EQ(Client("10.0.0.2", {bad}, Proxies()), "10.0.0.2") << '"' << bad << '"';
    // Also when trusted entries to its right are skipped first.
    const std::string line = std::string("198.51.100.7, ") + bad + ", 10.0.0.1";
    EXPECT_EQ(Client("10.0.0.2", {line}, Proxies()), "10.0.0.2") << line;
  }
  EXPECT_EQ(Client("10.0.0.2", {"198.51.100.7,"}, Proxies()), "10.0.0.2");
  EXPECT_EQ(Client("10.0.0.2", {"198.51.100.7", ""}, Proxies()), "10.0.0.2");
}

}  // namespace
}  // namespace pactum::http
