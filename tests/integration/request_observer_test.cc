// The server's RequestObserver over real HTTPS: every request whose head was read is
// reported once, routed or not, refused or malformed, with the body bytes that actually
// went in and out; a refusal from Admit() is answered as its error before the handler
// runs, and a refusal at the second ask replaces a success.

#include <atomic>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/https_client.h"
#include "tests/support/test_server.h"
#include "tests/support/tls_client.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

struct Seen {
  std::string request_id;
  std::string method;
  std::string path;
  std::string route;  // "" when unmatched
  http::RequestOutcome outcome;
};

// Records what it is told; refuses while `refuse` is set, or from the `refuse_from`-th ask.
class RecordingObserver final : public http::RequestObserver {
 public:
  std::atomic<bool> refuse{false};
  std::atomic<int> refuse_from{-1};

  Status Admit(const http::Request& /*request*/) override {
    const int n = asks_.fetch_add(1);
    if (refuse || (refuse_from >= 0 && n >= refuse_from)) {
      return Status(StatusCode::kUnavailable, "the request log cannot be written")
          .WithReason("audit_unavailable");
    }
    return Status::Ok();
  }
  void Finished(const http::Request& req, const http::Route* route,
                const http::RequestOutcome& outcome) override {
    const std::lock_guard lock(mu_);
    seen_.push_back({req.request_id, req.method_text, req.path,
                     route != nullptr ? route->pattern : "", outcome});
  }
  std::vector<Seen> seen() const {
    const std::lock_guard lock(mu_);
    return seen_;
  }
  int asks() const { return asks_.load(); }

 private:
  std::atomic<int> asks_{0};
  mutable std::mutex mu_;
  std::vector<Seen> seen_;  // GUARDED_BY(mu_)
};

// Yields `left` bytes of 'x'.
class Repeat final : public http::BodySource {
 public:
  explicit Repeat(size_t n) : left_(n) {}
  Result<size_t> Read(std::span<char> out) override {
    const size_t n = std::min(out.size(), left_);
    std::fill_n(out.data(), n, 'x');
    left_ -= n;
    return n;
  }

 private:
  size_t left_;
};

class RequestObserverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    srv_.config.limits.max_body_bytes = 1024;
    srv_.config.server.redirect_listen = "127.0.0.1:0";
    srv_.router.Add(http::Method::kGet, "/hello", [this](http::Request&) {
      ++handled_;
      return http::Response::Text(200, "hello, world", "text/plain");
    });
    srv_.router.Add(http::Method::kPost, "/echo", [this](http::Request& req) {
      ++handled_;
      return http::Response::Text(200, req.body, "text/plain");
    });
    srv_.router.Add(http::Method::kPost, "/upload",
                    [](http::Request& req) {
                      std::array<char, 4096> buf{};
                      uint64_t total = 0;
                      for (;;) {
                        auto n = req.body_reader->Read(buf);
                        if (!n.ok()) return http::Response::Error(n.status());
                        if (*n == 0) break;
                        total += *n;
                      }
                      return http::Response::Json(201, {{"bytes", total}});
                    },
                    {.body = http::BodyMode::kStreamed, .max_body_bytes = int64_t{1} << 20});
    srv_.router.Add(http::Method::kGet, "/stream", [](http::Request&) {
      http::Response r;
      r.content_type = "application/octet-stream";
      r.stream = std::make_unique<Repeat>(300000);  // chunked: no length given
      return r;
    });
    srv_.observer = &observer_;
    srv_.Start();
  }

  HttpResponse Call(const std::string& method, const std::string& path, const std::string& id,
                    const std::string& body = "") {
    HttpRequest r;
    r.method = method;
    r.url = srv_.Url(path);
    r.headers = {"X-Request-Id: " + id};
    r.body = body;
    r.ca_file = srv_.ca_file;
    return Perform(r);
  }

  // What the observer was told about request `id`; fails the test unless exactly once.
  Seen Of(const std::string& id) {
    EXPECT_TRUE(srv_.AwaitNoConnections());
    Seen found;
    int n = 0;
    for (const Seen& s : observer_.seen()) {
      if (s.request_id == id) {
        found = s;
        ++n;
      }
    }
    EXPECT_EQ(n, 1) << id;
    return found;
  }

  RecordingObserver observer_;
  std::atomic<int> handled_{0};
  TestServer srv_;
};

TEST_F(RequestObserverTest, ReportsEveryRequestWithTheBytesThatWentInAndOut) {
  auto hello = Call("GET", "/hello?x=1", "obs-hello-1");
  ASSERT_EQ(hello.status, 200);
  auto echo = Call("POST", "/echo", "obs-echo-0001", std::string(700, 'e'));
  ASSERT_EQ(echo.status, 200);
  auto up = Call("POST", "/upload", "obs-upload-01", std::string(200000, 'u'));
  ASSERT_EQ(up.status, 201) << up.body;
  auto down = Call("GET", "/stream", "obs-stream-01");
  ASSERT_EQ(down.status, 200);
  ASSERT_EQ(down.body.size(), 300000U);
  auto missing = Call("GET", "/nowhere", "obs-missing-1");
  ASSERT_EQ(missing.status, 404);
  auto wrong_method = Call("DELETE", "/hello", "obs-method-01");
  ASSERT_EQ(wrong_method.status, 405);
  auto too_big = Call("POST", "/echo", "obs-toobig-01", std::string(5000, 'b'));
  ASSERT_EQ(too_big.status, 413);
  auto head = Call("HEAD", "/hello", "obs-head-0001");
  ASSERT_EQ(head.status, 200);

  Seen s = Of("obs-hello-1");
  EXPECT_EQ(s.method, "GET");
  EXPECT_EQ(s.path, "/hello");
  EXPECT_EQ(s.route, "/hello");
  EXPECT_EQ(s.outcome.status, 200);
  EXPECT_EQ(s.outcome.bytes_in, 0U);
  EXPECT_EQ(s.outcome.bytes_out, hello.body.size());
  EXPECT_GT(s.outcome.duration.count(), 0);
  s = Of("obs-echo-0001");
  EXPECT_EQ(s.outcome.bytes_in, 700U);
  EXPECT_EQ(s.outcome.bytes_out, 700U);
  s = Of("obs-upload-01");
  EXPECT_EQ(s.route, "/upload");
  EXPECT_EQ(s.outcome.status, 201);
  EXPECT_EQ(s.outcome.bytes_in, 200000U);
  EXPECT_EQ(s.outcome.bytes_out, up.body.size());
  s = Of("obs-stream-01");
  EXPECT_EQ(s.outcome.bytes_out, 300000U);  // the payload, not the chunk framing
  s = Of("obs-missing-1");
  EXPECT_EQ(s.route, "");
  EXPECT_EQ(s.path, "/nowhere");
  EXPECT_EQ(s.outcome.status, 404);
  EXPECT_EQ(s.outcome.bytes_out, missing.body.size());
  s = Of("obs-method-01");
  EXPECT_EQ(s.route, "");
  EXPECT_EQ(s.outcome.status, 405);
  s = Of("obs-toobig-01");
  EXPECT_EQ(s.route, "/echo");
  EXPECT_EQ(s.outcome.status, 413);
  EXPECT_EQ(s.outcome.bytes_in, 0U);  // refused on its Content-Length, never read
  s = Of("obs-head-0001");
  EXPECT_EQ(s.outcome.status, 200);
  EXPECT_EQ(s.outcome.bytes_out, 0U);
  EXPECT_EQ(observer_.seen().size(), 8U);  // and nothing else
}

TEST_F(RequestObserverTest, AMalformedHeadIsReportedUnderTheRequestIdItWasAnswered) {
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  const std::string response = c.RoundTrip("GET /hello HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
  ASSERT_EQ(StatusOf(response), 400);
  const std::string id = HeaderOf(response, "X-Request-Id");
  ASSERT_FALSE(id.empty());
  const Seen s = Of(id);
  EXPECT_EQ(s.route, "");
  EXPECT_EQ(s.outcome.status, 400);
  EXPECT_EQ(s.outcome.bytes_out, BodyOf(response).size());
}

TEST_F(RequestObserverTest, ARedirectedPlainHttpRequestIsReportedUnrouted) {
  HttpRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(srv_.server->redirect_port()) + "/hello?x=1";
  r.headers = {"X-Request-Id: not-kept-0001"};  // not its id: that one is the server's own
  auto response = Perform(r);
  ASSERT_EQ(response.status, 308);
  ASSERT_TRUE(srv_.AwaitNoConnections());
  const auto seen = observer_.seen();
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].path, "/hello");
  EXPECT_EQ(seen[0].route, "");
  EXPECT_EQ(seen[0].outcome.status, 308);
  EXPECT_EQ(seen[0].outcome.bytes_out, response.body.size());
  EXPECT_EQ(seen[0].request_id.size(), 32U);
  EXPECT_EQ(observer_.asks(), 0);  // never refused: it serves nothing
}

TEST_F(RequestObserverTest, ARefusalIsAnsweredAsItsErrorAndTheHandlerNeverRuns) {
  observer_.refuse = true;
  auto r = Call("GET", "/hello", "obs-refused-1");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "audit_unavailable");
  // A body is not read for a refused request: the answer comes first, then the close.
  auto post = Call("POST", "/echo", "obs-refused-2", std::string(500, 'p'));
  EXPECT_EQ(post.status, 503);
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(Of("obs-refused-1").outcome.status, 503);
  EXPECT_EQ(Of("obs-refused-2").outcome.bytes_in, 0U);
  observer_.refuse = false;
  EXPECT_EQ(Call("GET", "/hello", "obs-admitted-1").status, 200);
  EXPECT_EQ(handled_.load(), 1);
}

TEST_F(RequestObserverTest, ASuccessIsNotAnsweredOnceTheSecondAskRefuses) {
  observer_.refuse_from = 1;  // admitted before the handler, refused after it
  auto r = Call("GET", "/hello", "obs-second-01");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(handled_.load(), 1);
  EXPECT_EQ(observer_.asks(), 2);
  EXPECT_EQ(Of("obs-second-01").outcome.status, 503);
}

TEST_F(RequestObserverTest, AnErrorIsAnsweredWithoutASecondAsk) {
  observer_.refuse_from = 1;
  auto r = Call("POST", "/echo", "obs-error-001", std::string(5000, 'b'));  // 413 at once
  EXPECT_EQ(r.status, 413);
  auto m = Call("GET", "/nowhere", "obs-error-002");  // unrouted: never asked
  EXPECT_EQ(m.status, 404);
  EXPECT_EQ(observer_.asks(), 1);
}

}  // namespace
}  // namespace pactum
