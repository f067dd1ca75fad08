// Request framing at the edge, end to end over TLS: a head that could be read two ways
// (request smuggling behind a proxy that frames differently), a bad target, or a host the
// server is not configured for is refused and its connection closed, so nothing sent
// after it is ever answered; a route's precheck answers before the body is read; links
// and redirects use the public URL, never the request's Host.

#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "tests/support/https_client.h"
#include "tests/support/test_server.h"
#include "tests/support/tls_client.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)
using std::chrono::seconds;
using namespace std::string_literals;  // NOLINT(google-build-using-namespace)

// A request that must be answered when it stands alone; sent after each bad head, its
// answer must never come.
constexpr const char* kFollower = "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n";

class FramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ok = [](http::Request& req) {
      return http::Response::Json(200, {{"path", req.path}, {"body", req.body}});
    };
    srv_.router.Add(http::Method::kGet, "/ok", ok);
    srv_.router.Add(http::Method::kPost, "/ok", ok);
    srv_.router.Add(http::Method::kGet, "/link", [](http::Request& req) {
      return http::Response::Json(200, {{"url", std::string(req.public_url) + "/files/t"}});
    });
    srv_.router.Add(http::Method::kPost, "/guarded",
                    [this](http::Request& req) {
                      ++guarded_runs_;
                      return http::Response::Json(200, {{"bytes", req.body.size()}});
                    },
                    {.precheck = [](const http::Request& req) {
                      if (req.Header("Authorization").empty()) {
                        return Status(StatusCode::kUnauthenticated, "authentication required");
                      }
                      if (req.Header("Content-Type") != "application/json") {
                        return Status(StatusCode::kUnsupportedMediaType, "send JSON");
                      }
                      return Status::Ok();
                    }});
  }

  // Sends `bytes` on a new connection and reads one answer.
  std::string Send(const std::string& bytes, TlsClient& c) {
    if (!c.Connect(srv_.port())) return "connect failed";
    return c.RoundTrip(bytes);
  }

  TestServer srv_;
  std::atomic<int> guarded_runs_{0};
};

TEST_F(FramingTest, AmbiguousHeadsAreRefusedAndNothingAfterThemIsAnswered) {
  srv_.Start();
  struct Case {
    std::string name;
    std::string head;  // a request head (and any body); kFollower comes right after it
    int status = 400;
  };
  const std::string post = "POST /ok HTTP/1.1\r\nHost: x\r\n";
  const std::vector<Case> cases = {
      {"TE chunked, identity", post + "Transfer-Encoding: chunked, identity\r\n\r\n"},
      {"TE identity", post + "Transfer-Encoding: identity\r\n\r\n"},
      {"TE gzip", post + "Transfer-Encoding: gzip\r\n\r\n"},
      {"TE chunked, chunked", post + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"},
      {"TE chunked in two fields",
       post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"},
      {"TE gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"TE then CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"},
      {"CL then TE", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"TE gzip with CL", post + "Transfer-Encoding: gzip\r\nContent-Length: 0\r\n\r\n"},
      {"TE in HTTP/1.0",
       "POST /ok HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"two equal CL", post + "Content-Length: 0\r\nContent-Length: 0\r\n\r\n"},
      {"two different CL", post + "Content-Length: 0\r\nContent-Length: 3\r\n\r\nabc"},
      {"CL list", post + "Content-Length: 0, 0\r\n\r\n"},
      {"CL with a sign", post + "Content-Length: +0\r\n\r\n"},
      {"CL with a space", post + "Content-Length: 0 0\r\n\r\n"},
      {"CL in hex", post + "Content-Length: 0x0\r\n\r\n"},
      {"obs-fold", "GET /ok HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n b\r\n\r\n"},
      {"obs-fold in TE", post + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"},
      {"bare LF after the request line", "GET /ok HTTP/1.1\nHost: x\r\n\r\n"},
      {"bare LF between fields", "GET /ok HTTP/1.1\r\nHost: x\nX: y\r\n\r\n"},
      {"NUL in a field value", "GET /ok HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n"s},
      {"CR in a field value", "GET /ok HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n"},
      {"no Host in HTTP/1.1", "GET /ok HTTP/1.1\r\n\r\n"},
      {"two Hosts", "GET /ok HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"},
      {"two equal Hosts", "GET /ok HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n"},
      {"invalid Host", "GET /ok HTTP/1.1\r\nHost: evil.example/x\r\n\r\n"},
      {"Host with userinfo", "GET /ok HTTP/1.1\r\nHost: a@x\r\n\r\n"},
      {"empty path segment", "GET //ok HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"encoded dot segment", "GET /%2e%2e/x HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"encoded NUL", "GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"asterisk target", "GET * HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"absolute target", "GET https://x/ok HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"path check with a body", "POST //ok HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    TlsClient c;
    const std::string first = Send(tc.head + kFollower, c);
    EXPECT_EQ(StatusOf(first), tc.status) << first;
    EXPECT_EQ(HeaderOf(first, "Connection"), "close") << first;
    EXPECT_EQ(HeaderOf(first, "Content-Type"), "application/json");
    EXPECT_TRUE(nlohmann::json::parse(BodyOf(first), nullptr, false).contains("error")) << first;
    // The follower's answer never comes: the connection ends instead.
    EXPECT_EQ(c.ReadResponse(), "");
    EXPECT_TRUE(c.WaitClosed(seconds(5)));
  }
  // The server serves on.
  TlsClient fresh;
  EXPECT_EQ(StatusOf(Send(kFollower, fresh)), 200);
}

TEST_F(FramingTest, WellFramedBodiesAndPipelinedRequestsAreServed) {
  srv_.Start();
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  ASSERT_TRUE(c.Send(
      "POST /ok HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "POST /ok HTTP/1.1\r\nHost: contracts.example.com:8443\r\nContent-Length: 2\r\n\r\nde" +
      std::string(kFollower)));
  const std::string chunked = c.ReadResponse();
  EXPECT_EQ(StatusOf(chunked), 200) << chunked;
  EXPECT_EQ(nlohmann::json::parse(BodyOf(chunked))["body"], "abc");
  const std::string sized = c.ReadResponse();
  EXPECT_EQ(StatusOf(sized), 200) << sized;
  EXPECT_EQ(nlohmann::json::parse(BodyOf(sized))["body"], "de");
  EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
  // HTTP/1.0 may leave Host out.
  EXPECT_EQ(StatusOf(c.RoundTrip("GET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")), 200);
}

TEST_F(FramingTest, ThePrecheckAnswersBeforeTheBodyIsRead) {
  srv_.Start();
  {
    // Only the head of a large body: the answer comes without it (the client's read
    // would time out, and the body timeout is 30 s, if the server waited for the body).
    TlsClient c;
    const std::string r = Send(
        "POST /guarded HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000000\r\n\r\n",
        c);
    EXPECT_EQ(StatusOf(r), 401) << r;
    EXPECT_EQ(HeaderOf(r, "Connection"), "close");
    EXPECT_TRUE(c.WaitClosed(seconds(5)));
  }
  {
    // Before a 100 Continue: the client never sends the body.
    TlsClient c;
    const std::string r = Send(
        "POST /guarded HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
        "Content-Type: text/plain\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n",
        c);
    EXPECT_EQ(StatusOf(r), 415) << r;
  }
  EXPECT_EQ(guarded_runs_.load(), 0);
  // Passing the precheck, the body is read and the handler runs.
  TlsClient c;
  const std::string r = Send(
      "POST /guarded HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
      "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
      c);
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_EQ(guarded_runs_.load(), 1);
}

TEST_F(FramingTest, WithoutConfiguredNamesAnyWellFormedHostIsServed) {
  srv_.Start();
  TlsClient c;
  const std::string r = Send("GET /link HTTP/1.1\r\nHost: evil.example\r\n\r\n", c);
  EXPECT_EQ(StatusOf(r), 200) << r;
  // The link names the listen address, not the Host.
  EXPECT_EQ(nlohmann::json::parse(BodyOf(r))["url"], srv_.Url("/files/t"));
  EXPECT_EQ(srv_.server->PublicUrl(), srv_.server->BaseUrl());
}

TEST_F(FramingTest, OnlyTheConfiguredHostsAreServed) {
  srv_.config.server.public_url = "https://Contracts.Example.com";
  srv_.config.server.allowed_hosts = {"alt.example.com", "127.0.0.1"};
  srv_.Start();
  for (const char* host : {"contracts.example.com", "CONTRACTS.example.com:8443",
                           "contracts.example.com.", "alt.example.com", "127.0.0.1:443"}) {
    TlsClient c;
    const std::string r = Send("GET /link HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n", c);
    EXPECT_EQ(StatusOf(r), 200) << host << "\n" << r;
    EXPECT_EQ(nlohmann::json::parse(BodyOf(r), nullptr, false)["url"],
              "https://contracts.example.com/files/t");
  }
  for (const std::string request :
       {"GET /link HTTP/1.1\r\nHost: evil.example\r\n\r\n",
        "GET /link HTTP/1.1\r\nHost: contracts.example.com.evil.example\r\n\r\n",
        "GET /link HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", "GET /link HTTP/1.0\r\n\r\n"}) {
    TlsClient c;
    const std::string r = Send(request + kFollower, c);
    EXPECT_EQ(StatusOf(r), 421) << request << "\n" << r;
    EXPECT_EQ(nlohmann::json::parse(BodyOf(r), nullptr, false)["error"]["code"],
              "misdirected_request");
    EXPECT_EQ(HeaderOf(r, "Connection"), "close");
    EXPECT_EQ(c.ReadResponse(), "");
  }
}

TEST_F(FramingTest, AnInvalidPublicUrlStopsTheStart) {
  srv_.config.server.public_url = "https://contracts.example.com/app";
  auto files = http::ResolveTlsFiles(srv_.config.data_dir, "", "");
  ASSERT_TRUE(files.ok());
  auto tls = http::MakeServerTlsContext(files->cert_file, files->key_file);
  ASSERT_TRUE(tls.ok());
  http::Server server(srv_.config.server, srv_.config.limits, srv_.router, srv_.metrics);
  const Status s = server.Start(*tls);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(s.message().starts_with("server.public_url:")) << s.message();
}

TEST_F(FramingTest, TheRedirectListenerSendsClientsToThePublicUrl) {
  srv_.config.server.redirect_listen = "127.0.0.1:0";
  srv_.config.server.public_url = "https://contracts.example.com";
  srv_.Start();
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(srv_.server->redirect_port()) + "/a/b?x=1";
  req.headers = {"Host: evil.example"};
  auto r = Perform(req);
  EXPECT_EQ(r.status, 308) << r.error;
  EXPECT_EQ(r.headers["location"], "https://contracts.example.com/a/b?x=1");
}

TEST_F(FramingTest, LogLinesHoldOnlyABoundedPartOfWhatARequestSent) {
  srv_.Start();
  log::SetLevel(log::Level::kDebug);
  ::testing::internal::CaptureStderr();
  const std::string method(8000, 'M');
  TlsClient c;
  const std::string r = Send(method + " /ok HTTP/1.1\r\nHost: x\r\n\r\n", c);
  c.Close();
  ASSERT_TRUE(srv_.AwaitNoConnections());
  log::Flush();
  const std::string err = ::testing::internal::GetCapturedStderr();
  log::SetLevel(log::Level::kInfo);
  EXPECT_EQ(StatusOf(r), 405) << r;
  EXPECT_NE(err.find("MMMM"), std::string::npos) << "the request line was logged";
  size_t start = 0;
  while (start < err.size()) {
    const size_t end = std::min(err.find('\n', start), err.size());
    EXPECT_LT(end - start, 1024U) << err.substr(start, 200);
    start = end + 1;
  }
}

}  // namespace
}  // namespace pactum
