// Limits that must hold under abuse: slow clients are dropped on time, connection caps
// hold, and a graceful shutdown finishes what is in flight.

#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/https_client.h"
#include "tests/support/test_server.h"
#include "tests/support/tls_client.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)
using std::chrono::milliseconds;
using std::chrono::seconds;

http::Response Ok(http::Request&) { return http::Response::Json(200, {{"ok", true}}); }

// A streamed route's handler: reads the body to its end, then answers Ok (or the read's
// error, e.g. the body timeout).
http::Response ReadWholeBody(http::Request& req) {
  char buf[1024];
  for (;;) {
    auto n = req.body_reader->Read(buf);
    if (!n.ok()) return http::Response::Error(n.status());
    if (*n == 0) return Ok(req);
  }
}

class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    srv_.router.Add(http::Method::kGet, "/ok", Ok);
    srv_.router.Add(http::Method::kPost, "/ok", Ok);
    srv_.router.Add(http::Method::kGet, "/slow", [this](http::Request&) {
      slow_started_.set_value();
      std::this_thread::sleep_for(milliseconds(1500));
      return http::Response::Json(200, {{"slow", true}});
    });
  }
  std::string OkRequest() { return "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"; }

  TestServer srv_;
  std::promise<void> slow_started_;
};

TEST_F(LimitsTest, SlowlorisHeadersAreDroppedAtTheHeaderTimeoutWhileOthersAreServed) {
  srv_.config.limits.header_timeout_ms = 1000;
  srv_.Start();
  TlsClient slow;
  ASSERT_TRUE(slow.Connect(srv_.port()));
  ASSERT_TRUE(slow.Send("GET /ok HTTP/1.1\r\n"));
  // Drip a header byte every 100 ms: each byte arrives well within any per-read timeout,
  // so only a whole-head deadline drops this client.
  const auto start = std::chrono::steady_clock::now();
  bool dropped = false;
  for (int i = 0; i < 100 && !dropped; ++i) {
    dropped = !slow.Send("X") || slow.WaitClosed(milliseconds(100));
    if (i == 3) {
      TlsClient other;
      ASSERT_TRUE(other.Connect(srv_.port()));
      EXPECT_EQ(StatusOf(other.RoundTrip(OkRequest())), 200);
    }
  }
  EXPECT_TRUE(dropped);
  // Dropped by the 1 s deadline, long before the 10 s the drip would have lasted.
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(8));
}

TEST_F(LimitsTest, ASlowBufferedBodyGets408AtTheBodyTimeout) {
  srv_.config.limits.body_timeout_ms = 500;
  srv_.Start();
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  ASSERT_TRUE(c.Send("POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
  const std::string r = c.ReadResponse();
  // The client is told, then the connection closes; never a 2xx for half a body.
  EXPECT_EQ(StatusOf(r), 408) << r;
  EXPECT_EQ(nlohmann::json::parse(BodyOf(r))["error"]["code"], "request_timeout");
  EXPECT_EQ(HeaderOf(r, "Connection"), "close");
  EXPECT_TRUE(c.WaitClosed(seconds(5)));
}

TEST_F(LimitsTest, AStreamedBodyThatStallsGets408) {
  srv_.config.limits.body_timeout_ms = 300;
  srv_.config.limits.min_body_bytes_per_second = 0;
  srv_.router.Add(http::Method::kPost, "/stream", ReadWholeBody,
                  {.body = http::BodyMode::kStreamed});
  srv_.Start();
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  ASSERT_TRUE(c.Send("POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"));
  const std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 408) << r;
  EXPECT_TRUE(c.WaitClosed(seconds(5)));
}

TEST_F(LimitsTest, StreamedBodyBelowTheMinimumRateIsCutOff) {
  // Each byte arrives well inside the per-read timeout; only the rate rule drops it.
  srv_.config.limits.body_timeout_ms = 400;
  srv_.config.limits.min_body_bytes_per_second = 1000;
  srv_.router.Add(http::Method::kPost, "/stream", ReadWholeBody,
                  {.body = http::BodyMode::kStreamed});
  srv_.Start();
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  ASSERT_TRUE(c.Send("POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
  const auto start = std::chrono::steady_clock::now();
  bool dropped = false;
  for (int i = 0; i < 100 && !dropped; ++i) {
    dropped = !c.Send("x") || c.WaitClosed(milliseconds(100));
  }
  EXPECT_TRUE(dropped);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(8));
}

TEST_F(LimitsTest, IdleKeepAliveConnectionsCloseAfterTheIdleTimeout) {
  srv_.config.limits.idle_timeout_ms = 300;
  srv_.Start();
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  EXPECT_EQ(StatusOf(c.RoundTrip(OkRequest())), 200);
  EXPECT_TRUE(c.WaitClosed(seconds(5)));
}

TEST_F(LimitsTest, ConnectionsPerAddressAreCapped) {
  srv_.config.limits.max_connections_per_ip = 3;
  srv_.Start();
  std::vector<std::unique_ptr<TlsClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<TlsClient>());
    ASSERT_TRUE(held.back()->Connect(srv_.port()));
    EXPECT_EQ(StatusOf(held.back()->RoundTrip(OkRequest())), 200);
  }
  TlsClient extra;
  EXPECT_FALSE(extra.Connect(srv_.port()) && StatusOf(extra.RoundTrip(OkRequest())) == 200);
  held.pop_back();  // closing one frees a slot
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    TlsClient again;
    served = again.Connect(srv_.port()) && StatusOf(again.RoundTrip(OkRequest())) == 200;
    if (!served) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(served);
}

TEST_F(LimitsTest, TotalConnectionsAreCapped) {
  srv_.config.limits.max_connections = 2;
  srv_.Start();
  TlsClient a, b, c;
  ASSERT_TRUE(a.Connect(srv_.port()));
  ASSERT_TRUE(b.Connect(srv_.port()));
  EXPECT_FALSE(c.Connect(srv_.port()) && StatusOf(c.RoundTrip(OkRequest())) == 200);
  EXPECT_EQ(StatusOf(a.RoundTrip(OkRequest())), 200);
}

TEST_F(LimitsTest, GracefulShutdownFinishesInFlightRequestsAndRefusesNewOnes) {
  srv_.Start();
  TlsClient idle;
  ASSERT_TRUE(idle.Connect(srv_.port()));
  EXPECT_EQ(StatusOf(idle.RoundTrip(OkRequest())), 200);
  auto in_flight = std::async(std::launch::async, [&] {
    HttpRequest r;
    r.url = srv_.Url("/slow");
    r.ca_file = srv_.ca_file;
    return Perform(r);
  });
  slow_started_.get_future().wait();
  const auto start = std::chrono::steady_clock::now();
  const bool drained = srv_.server->Shutdown();
  EXPECT_TRUE(drained);
  const auto r = in_flight.get();
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, R"({"slow":true})");
  EXPECT_EQ(r.headers.at("connection"), "close");
  // It waited for the slow request, not for the idle keep-alive connection's timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_TRUE(idle.WaitClosed(seconds(1)));
  TlsClient late;
  EXPECT_FALSE(late.Connect(srv_.port()));
}

TEST_F(LimitsTest, ShutdownDeadlineBoundsTheWait) {
  srv_.config.server.shutdown_deadline_ms = 200;
  srv_.Start();
  auto in_flight = std::async(std::launch::async, [&] {
    HttpRequest r;
    r.url = srv_.Url("/slow");
    r.ca_file = srv_.ca_file;
    r.timeout_ms = 20000;
    return Perform(r);
  });
  slow_started_.get_future().wait();
  EXPECT_FALSE(srv_.server->Shutdown());  // the 1.5 s request outlives the 200 ms deadline
  // Past the deadline its connection is closed, not left hanging until the client gives up.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_NE(in_flight.get().status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
}

}  // namespace
}  // namespace pactum
