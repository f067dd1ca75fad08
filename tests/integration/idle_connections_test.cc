// 10,000 idle keep-alive TLS connections are held while other clients are served.
// Prints the server's RSS with them open (recorded in docs/benchmarks.md).

#include <sys/resource.h>

#include <csignal>

#include <gtest/gtest.h>

#include "tests/support/https_client.h"
#include "tests/support/pactum_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tls_client.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

constexpr int kIdle = 10'000;

TEST(IdleConnections, TenThousandIdleKeepAliveConnectionsAreHeldWhileOthersAreServed) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_max < kIdle + 100) {
    FAIL() << "this machine allows only " << rl.rlim_max << " open files";
  }
  TempDir dir;
  PactumProcess p;
  ASSERT_TRUE(p.Start({"serve", "--data", dir.File("data"), "--listen", "127.0.0.1:0",
                       "--ready-file", dir.File("ready")},
                      {{"PACTUM_LIMITS_MAX_CONNECTIONS_PER_IP", "20000"},
                       {"PACTUM_LIMITS_MAX_CONNECTIONS", "15000"},
                       {"PACTUM_LIMITS_IDLE_TIMEOUT_MS", "600000"}},
                      dir.path()));
  const std::string url = p.WaitReady(dir.File("ready"));
  ASSERT_FALSE(url.empty()) << p.Stderr();
  const auto port = static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  const long rss_start = p.RssKib();

  std::vector<std::unique_ptr<TlsClient>> idle;
  idle.reserve(kIdle);
  for (int i = 0; i < kIdle; ++i) {
    auto c = std::make_unique<TlsClient>();
    ASSERT_TRUE(c->Connect(port)) << "connection " << i;
    ASSERT_EQ(StatusOf(c->RoundTrip("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 200) << i;
    idle.push_back(std::move(c));
  }
  const long rss_held = p.RssKib();

  // Others are served normally while the 10,000 stay open.
  for (int i = 0; i < 50; ++i) {
    HttpRequest req;
    req.url = url + "/healthz";
    req.ca_file = dir.File("data") + "/tls/cert.pem";
    ASSERT_EQ(Perform(req).status, 200) << i;
  }
  // And the idle ones are still alive: a sample answers on its existing connection.
  for (int i = 0; i < kIdle; i += 997) {
    EXPECT_EQ(StatusOf(idle[i]->RoundTrip("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 200) << i;
  }
  std::printf(
      "[ RSS ] server RSS: %ld KiB at start, %ld KiB with %d idle TLS connections "
      "(%.1f KiB per connection)\n",
      rss_start, rss_held, kIdle, static_cast<double>(rss_held - rss_start) / kIdle);
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(std::chrono::seconds(60)), 0);
}

}  // namespace
}  // namespace pactum
