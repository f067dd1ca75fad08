// The client address through the real server: X-Forwarded-For is believed only from a
// trusted proxy (server.trusted_proxies); the tests connect from 127.0.0.1.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_server.h"
#include "tests/support/tls_client.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

class TrustedProxyTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> trusted_proxies) {
    srv_.config.server.trusted_proxies = std::move(trusted_proxies);
    srv_.router.Add(http::Method::kGet, "/whoami", [](http::Request& req) {
      return http::Response::Json(200, {{"remote_ip", req.remote_ip}, {"peer_ip", req.peer_ip}});
    });
    srv_.Start();
  }
  // GET /whoami with `headers` (raw "Name: value\r\n" lines, repeated names kept apart).
  nlohmann::json WhoAmI(const std::string& headers) {
    TlsClient c;
    if (!c.Connect(srv_.port())) return {};
    const std::string response =
        c.RoundTrip("GET /whoami HTTP/1.1\r\nHost: x\r\n" + headers + "Connection: close\r\n\r\n");
    if (StatusOf(response) != 200) return {};
    return nlohmann::json::parse(BodyOf(response));
  }
  std::string RemoteIp(const std::string& headers) {
    const auto j = WhoAmI(headers);
    return j.is_object() ? j["remote_ip"].get<std::string>() : "no answer";
  }

  TestServer srv_;
};

TEST_F(TrustedProxyTest, ATrustedProxyNamesTheClient) {
  StartServer({"127.0.0.1/32"});
  const auto j = WhoAmI("X-Forwarded-For: 198.51.100.7\r\n");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["remote_ip"], "198.51.100.7");
  EXPECT_EQ(j["peer_ip"], "127.0.0.1");
  // The rightmost untrusted entry wins; what the client wrote to its left is not believed.
  EXPECT_EQ(RemoteIp("X-Forwarded-For: 192.0.2.66, 198.51.100.7\r\n"), "198.51.100.7");
  EXPECT_EQ(RemoteIp("X-Forwarded-For: 198.51.100.7, 127.0.0.1\r\n"), "198.51.100.7");
  // Several header lines are one list, in order.
  EXPECT_EQ(RemoteIp("X-Forwarded-For: 192.0.2.66\r\nx-forwarded-for: 2001:db8::7\r\n"),
            "2001:db8::7");
  // No header, or a garbled one: the peer.
  EXPECT_EQ(RemoteIp(""), "127.0.0.1");
  EXPECT_EQ(RemoteIp("X-Forwarded-For: unknown\r\n"), "127.0.0.1");
  EXPECT_EQ(RemoteIp("X-Forwarded-For: 198.51.100.7:443\r\n"), "127.0.0.1");
}

TEST_F(TrustedProxyTest, AnUntrustedPeerCannotChooseItsAddress) {
  StartServer({"10.0.0.0/8"});  // a proxy network, but not the loopback we come from
  const auto j = WhoAmI("X-Forwarded-For: 198.51.100.7\r\n");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["remote_ip"], "127.0.0.1");
  EXPECT_EQ(j["peer_ip"], "127.0.0.1");
}

TEST_F(TrustedProxyTest, WithoutTrustedProxiesForwardedForIsIgnored) {
  StartServer({});
  EXPECT_EQ(RemoteIp("X-Forwarded-For: 198.51.100.7\r\n"), "127.0.0.1");
}

}  // namespace
}  // namespace pactum
