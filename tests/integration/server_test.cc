// The HTTPS server end to end, in-process: real TLS, real sockets, libcurl and a raw TLS
// client as peers.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/routes.h"
#include "store/sqlite_database.h"
#include "tests/support/fault_database.h"
#include "tests/support/https_client.h"
#include "tests/support/test_keys.h"
#include "tests/support/test_server.h"
#include "tests/support/tls_client.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.path = srv_.dir.File("p.db");
    o.key = RandomKey();
    o.metrics = &srv_.metrics;
    auto db = store::OpenSqliteDatabase(o);
    ASSERT_TRUE(db.ok());
    db_ = std::move(db).value();
    fault_db_ = std::make_unique<FaultDatabase>(*db_);
    allowlist_ = {*IpNetwork::Parse("127.0.0.1/32")};
  }
  void StartServer() {
    endpoints_ = std::make_unique<api::EndpointTable>(srv_.router);
    api::AddSystemEndpoints(*endpoints_, {*fault_db_, srv_.metrics, allowlist_});
    srv_.router.Add(http::Method::kPost, "/echo", [](http::Request& req) {
      auto body = http::ParseJsonObject(req.body);
      if (!body.ok()) return http::Response::Error(body.status());
      return http::Response::Json(200, {{"got", *body}});
    });
    srv_.router.Add(http::Method::kPost, "/small",
                    [](http::Request& req) {
                      return http::Response::Json(200, {{"bytes", req.body.size()}});
                    },
                    {.max_body_bytes = 1024});
    srv_.router.Add(http::Method::kGet, "/split", [](http::Request&) {
      http::Response r = http::Response::Json(200, {{"ok", true}});
      r.headers.push_back({"X-Safe", "yes"});
      r.headers.push_back({"X-Evil", "a\r\nSet-Cookie: stolen=1"});
      return r;
    });
    srv_.router.Add(http::Method::kGet, "/boom", [](http::Request&) -> http::Response {
      throw std::runtime_error("handler bug with /secret/detail");
    });
    srv_.Start();
  }
  HttpResponse Get(const std::string& path, std::vector<std::string> headers = {}) {
    HttpRequest r;
    r.url = srv_.Url(path);
    r.headers = std::move(headers);
    r.ca_file = srv_.ca_file;
    return Perform(r);
  }
  std::string Raw(const std::string& request) {
    TlsClient c;
    if (!c.Connect(srv_.port())) return "connect failed";
    return c.RoundTrip(request);
  }

  std::unique_ptr<api::EndpointTable> endpoints_;  // outlives the server's handlers
  TestServer srv_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<FaultDatabase> fault_db_;
  std::vector<IpNetwork> allowlist_;
};

void ExpectSecurityHeaders(const HttpResponse& r) {
  EXPECT_EQ(r.headers.at("strict-transport-security"), "max-age=63072000; includeSubDomains");
  EXPECT_EQ(r.headers.at("content-security-policy"),
            "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'");
  EXPECT_EQ(r.headers.at("x-frame-options"), "DENY");
  EXPECT_EQ(r.headers.at("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.headers.at("referrer-policy"), "no-referrer");
  EXPECT_EQ(r.headers.at("cache-control"), "no-store");
  EXPECT_EQ(r.headers.count("x-request-id"), 1U);
  EXPECT_EQ(r.headers.count("server"), 0U);  // no version disclosure
}

TEST_F(ServerTest, HealthzAnswersOverVerifiedTlsWithVersion) {
  StartServer();
  auto r = Get("/healthz");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "ok");
  EXPECT_FALSE(nlohmann::json::parse(r.body)["version"].get<std::string>().empty());
  ExpectSecurityHeaders(r);
}

TEST_F(ServerTest, HealthzIs503WhenTheDatabaseIsUnreachable) {
  StartServer();
  fault_db_->fail_all = true;
  auto r = Get("/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "unavailable");
  EXPECT_EQ(r.body.find("FaultDatabase"), std::string::npos);  // detail stays in the log
  fault_db_->fail_all = false;
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(ServerTest, EveryResponseCarriesSecurityHeadersErrorsIncluded) {
  StartServer();
  for (const char* path : {"/healthz", "/nope", "/metrics"}) {
    auto r = Get(path);
    ASSERT_NE(r.status, 0) << r.error;
    ExpectSecurityHeaders(r);
  }
  HttpRequest post;
  post.method = "DELETE";
  post.url = srv_.Url("/healthz");
  post.ca_file = srv_.ca_file;
  auto r = Perform(post);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.at("allow"), "GET");
  ExpectSecurityHeaders(r);
}

TEST_F(ServerTest, RequestIdIsGeneratedOrKeptWhenWellFormed) {
  StartServer();
  auto a = Get("/healthz");
  auto b = Get("/healthz");
  EXPECT_EQ(a.headers.at("x-request-id").size(), 32U);
  EXPECT_NE(a.headers.at("x-request-id"), b.headers.at("x-request-id"));
  EXPECT_EQ(Get("/healthz", {"X-Request-Id: trace-abc-12345"}).headers.at("x-request-id"),
            "trace-abc-12345");
  // Malformed ids (injection attempts, too short) are replaced, never echoed.
  for (const char* bad : {"X-Request-Id: a b c d e f g h", "X-Request-Id: short",
                          "X-Request-Id: <script>alert(1)</script>"}) {
    const auto id = Get("/healthz", {bad}).headers.at("x-request-id");
    EXPECT_EQ(id.size(), 32U) << bad;
  }
}

TEST_F(ServerTest, ErrorsUseTheDesignJsonShapeAndHideInternals) {
  StartServer();
  auto r = Get("/boom");
  EXPECT_EQ(r.status, 500);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "internal");
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  auto nf = nlohmann::json::parse(Get("/api/v1/nothing").body);
  EXPECT_EQ(nf["error"]["code"], "not_found");
  EXPECT_TRUE(nf["error"]["message"].is_string());
}

TEST_F(ServerTest, HandlerHeadersCannotSplitTheResponse) {
  StartServer();
  const std::string r = Raw("GET /split HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(HeaderOf(r, "X-Safe"), "yes");
  EXPECT_EQ(HeaderOf(r, "Set-Cookie"), "");
  EXPECT_EQ(HeaderOf(r, "X-Evil"), "");
}

TEST_F(ServerTest, MetricsCountRequestsByRouteAndStatus) {
  StartServer();
  Get("/healthz");
  Get("/healthz");
  Get("/missing");
  auto r = Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), "text/plain; version=0.0.4");
  EXPECT_NE(r.body.find("pactum_http_requests_total{route=\"/healthz\",status=\"200\"} 2"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("pactum_http_requests_total{route=\"unmatched\",status=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(r.body.find("pactum_http_request_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 2"),
            std::string::npos);
  EXPECT_NE(r.body.find("pactum_http_open_connections"), std::string::npos);
  EXPECT_NE(r.body.find("pactum_db_seconds"), std::string::npos);
}

TEST_F(ServerTest, MetricsRefuseAddressesOutsideTheOperatorAllowlist) {
  allowlist_ = {*IpNetwork::Parse("10.0.0.0/8")};
  StartServer();
  auto r = Get("/metrics");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body.find("pactum_http"), std::string::npos);
}

TEST_F(ServerTest, HeadAnswersHeadersWithoutBody) {
  StartServer();
  HttpRequest req;
  req.method = "HEAD";
  req.url = srv_.Url("/healthz");
  req.ca_file = srv_.ca_file;
  auto r = Perform(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_NE(r.headers.at("content-length"), "0");
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  StartServer();
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(StatusOf(c.RoundTrip("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 200) << i;
  }
  // Pipelined: two requests in one write, two answers in order.
  ASSERT_TRUE(
      c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
  EXPECT_EQ(StatusOf(c.ReadResponse()), 404);
}

TEST_F(ServerTest, BadInputGetsA4xxJsonErrorAndTheServerKeepsServing) {
  StartServer();
  const std::string big_header(20 * 1024UL, 'a');
  struct Case {
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET\r\n\r\n", 400},
      {"GET /healthz HTTP/9.9\r\n\r\n", 400},
      {"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n", 400},
      {"GET /healthz HTTP/1.1\r\nX: a\x01"
       "b\r\n\r\n",
       400},
      {"GET /healthz HTTP/1.1\r\nX-Big: " + big_header + "\r\n\r\n", 431},
      {"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET /a/..%2f..%2fetc HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET /%c0%ae%c0%ae/x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET /caf\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET http://evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":,}", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n{\"a\":\"\xff\"}", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n[1,2]", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400},
      {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n", 413},
      {"POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
           std::string(2048, 'x') + "\r\n0\r\n\r\n",
       413},
      {"POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
  };
  for (const auto& tc : cases) {
    const std::string response = Raw(tc.request);
    EXPECT_EQ(StatusOf(response), tc.status) << tc.request.substr(0, 80) << "\n" << response;
    if (StatusOf(response) != 0) {
      EXPECT_EQ(HeaderOf(response, "Content-Type"), "application/json");
      const auto body = nlohmann::json::parse(BodyOf(response), nullptr, false);
      EXPECT_TRUE(body.contains("error")) << response;
      EXPECT_EQ(HeaderOf(response, "X-Content-Type-Options"), "nosniff");
    }
  }
  // A good JSON body still works, and so does everything else.
  EXPECT_EQ(StatusOf(Raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}")),
            200);
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(ServerTest, ExpectContinueUploadsWork) {
  StartServer();
  HttpRequest req;
  req.method = "POST";
  req.url = srv_.Url("/echo");
  req.ca_file = srv_.ca_file;
  req.headers = {"Expect: 100-continue", "Content-Type: application/json"};
  req.body = R"({"k":")" + std::string(200000, 'v') + R"("})";
  auto r = Perform(req);
  EXPECT_EQ(r.status, 200) << r.error;
}

TEST_F(ServerTest, TlsRefusesOldProtocolsAndNonAeadCiphers) {
  StartServer();
  TlsClient c;
  EXPECT_FALSE(
      c.Connect(srv_.port(), {.min_version = TLS1_VERSION, .max_version = TLS1_1_VERSION}));
  EXPECT_FALSE(c.Connect(srv_.port(), {.max_version = TLS1_2_VERSION,
                                       .cipher_list = "ECDHE-ECDSA-AES128-SHA:AES128-SHA256"}));
  ASSERT_TRUE(c.Connect(srv_.port(), {.max_version = TLS1_2_VERSION}));
  EXPECT_EQ(SSL_version(c.ssl()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CIPHER_is_aead(SSL_get_current_cipher(c.ssl())), 1);
  EXPECT_EQ(SSL_get_current_compression(c.ssl()), nullptr);
  ASSERT_TRUE(c.Connect(srv_.port(), {.min_version = TLS1_3_VERSION}));
  EXPECT_EQ(SSL_version(c.ssl()), TLS1_3_VERSION);
  EXPECT_EQ(StatusOf(c.RoundTrip("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
}

TEST_F(ServerTest, TlsRenegotiationIsRefused) {
  StartServer();
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port(), {.max_version = TLS1_2_VERSION}));
  ASSERT_EQ(SSL_renegotiate(c.ssl()), 1);
  SSL_do_handshake(c.ssl());
  // The server answers the renegotiation attempt with an alert or by closing: the next
  // request on this connection does not get a response.
  EXPECT_EQ(StatusOf(c.RoundTrip("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 0);
  TlsClient fresh;
  ASSERT_TRUE(fresh.Connect(srv_.port()));
  EXPECT_EQ(StatusOf(fresh.RoundTrip("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
}

TEST_F(ServerTest, PlainHttpOnTheTlsPortIsDropped) {
  StartServer();
  // A plain-text request never reaches the router.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(srv_.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_GT(::write(fd, req.data(), req.size()), 0);
  char buf[256];
  std::string got;
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_EQ(Get("/healthz").status, 200);
}

}  // namespace
}  // namespace pactum
