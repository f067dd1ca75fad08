// Request and response bodies are streamed: gigabytes pass through with bounded memory.

#include <sys/resource.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/https_client.h"
#include "tests/support/test_server.h"
#include "tests/support/tls_client.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

constexpr uint64_t kGiB = 1ULL << 30;

long MaxRssKib() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Deterministic content: byte i is (i * 31 + 7) mod 251.
uint8_t ByteAt(uint64_t i) { return static_cast<uint8_t>((i * 31 + 7) % 251); }

// Counts bytes and checks each is the expected one.
class Checker {
 public:
  void Feed(const char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (static_cast<uint8_t>(data[i]) != ByteAt(count_ + i)) ok_ = false;
    }
    count_ += n;
  }
  uint64_t count() const { return count_; }
  bool ok() const { return ok_; }

 private:
  uint64_t count_ = 0;
  bool ok_ = true;
};

class PatternSource final : public http::BodySource {
 public:
  explicit PatternSource(uint64_t size) : size_(size) {}
  Result<size_t> Read(std::span<char> out) override {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - pos_));
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>(ByteAt(pos_ + i));
    pos_ += n;
    return n;
  }

 private:
  uint64_t size_;
  uint64_t pos_ = 0;
};

class StreamingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    srv_.config.limits.max_upload_bytes = 2 * kGiB;
    srv_.router.Add(
        http::Method::kPost, "/upload",
        [](http::Request& req) {
          Checker check;
          std::vector<char> buf(256 * 1024UL);
          for (;;) {
            auto n = req.body_reader->Read(buf);
            if (!n.ok()) return http::Response::Error(n.status());
            if (*n == 0) break;
            check.Feed(buf.data(), *n);
          }
          return http::Response::Json(200, {{"bytes", check.count()}, {"intact", check.ok()}});
        },
        {.body = http::BodyMode::kStreamed});
    srv_.router.Add(http::Method::kPost, "/upload-small",
                    [](http::Request& req) {
                      std::vector<char> buf(4096);
                      uint64_t total = 0;
                      for (;;) {
                        auto n = req.body_reader->Read(buf);
                        if (!n.ok()) return http::Response::Error(n.status());
                        if (*n == 0) break;
                        total += *n;
                      }
                      return http::Response::Json(200, {{"bytes", total}});
                    },
                    {.body = http::BodyMode::kStreamed, .max_body_bytes = 1 << 20});
    // A source that lies about its length: declares `declared`, yields `actual` bytes.
    srv_.router.Add(http::Method::kGet, "/lying/{declared}/{actual}", [](http::Request& req) {
      http::Response r;
      r.content_type = "application/octet-stream";
      r.stream = std::make_unique<PatternSource>(std::stoull(std::string(req.Param("actual"))));
      r.stream_length = std::stoull(std::string(req.Param("declared")));
      return r;
    });
    srv_.router.Add(http::Method::kGet, "/download/{size}", [](http::Request& req) {
      http::Response r;
      r.content_type = "application/octet-stream";
      const uint64_t size = std::stoull(std::string(req.Param("size")));
      r.stream = std::make_unique<PatternSource>(size);
      if (req.query != "chunked") r.stream_length = size;
      return r;
    });
    srv_.Start();
  }

  HttpResponse Upload(const std::string& path, uint64_t size, bool chunked) {
    HttpRequest req;
    req.method = "POST";
    req.url = srv_.Url(path);
    req.ca_file = srv_.ca_file;
    req.body_length = chunked ? -1 : static_cast<int64_t>(size);
    auto sent = std::make_shared<uint64_t>(0);
    req.body_source = [sent, size](char* buf, size_t max) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(max, size - *sent));
      for (size_t i = 0; i < n; ++i) buf[i] = static_cast<char>(ByteAt(*sent + i));
      *sent += n;
      return n;
    };
    req.timeout_ms = 600000;
    return Perform(req);
  }

  TestServer srv_;
};

TEST_F(StreamingTest, SmallAndBoundarySizedUploadsArriveIntact) {
  for (uint64_t size : {1ULL, 4095ULL, 65536ULL, 65537ULL, 3ULL * 1024 * 1024 + 1}) {
    for (bool chunked : {false, true}) {
      auto r = Upload("/upload", size, chunked);
      ASSERT_EQ(r.status, 200) << size << " " << r.error;
      EXPECT_EQ(r.body, "{\"bytes\":" + std::to_string(size) + ",\"intact\":true}") << size;
    }
  }
}

TEST_F(StreamingTest, OneGibUploadAndDownloadStreamWithBoundedMemory) {
  const long before = MaxRssKib();
  auto up = Upload("/upload", kGiB + 1, /*chunked=*/false);
  ASSERT_EQ(up.status, 200) << up.error;
  EXPECT_EQ(up.body, "{\"bytes\":" + std::to_string(kGiB + 1) + ",\"intact\":true}");

  Checker check;
  HttpRequest down;
  down.url = srv_.Url("/download/" + std::to_string(kGiB + 1));
  down.ca_file = srv_.ca_file;
  down.keep_body = false;
  down.on_body = [&](const char* d, size_t n) { check.Feed(d, n); };
  down.timeout_ms = 600000;
  auto r = Perform(down);
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.headers.at("content-length"), std::to_string(kGiB + 1));
  EXPECT_EQ(check.count(), kGiB + 1);
  EXPECT_TRUE(check.ok());
  // Client and server share this process: had either held the body, the peak would have
  // grown by a GiB. Allow generous slack for buffers and allocator behaviour (and for
  // ASan's quarantine, which `make sanitize` caps at 32 MiB).
  EXPECT_LT(MaxRssKib() - before, 256 * 1024) << "peak RSS grew by KiB";
}

TEST_F(StreamingTest, ChunkedDownloadEndsCleanly) {
  Checker check;
  HttpRequest down;
  down.url = srv_.Url("/download/1000000?chunked");
  down.ca_file = srv_.ca_file;
  down.keep_body = false;
  down.on_body = [&](const char* d, size_t n) { check.Feed(d, n); };
  auto r = Perform(down);
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.headers.at("transfer-encoding"), "chunked");
  EXPECT_EQ(check.count(), 1000000U);
  EXPECT_TRUE(check.ok());
}

TEST_F(StreamingTest, StreamedBodyOverTheRouteLimitIs413) {
  EXPECT_EQ(Upload("/upload-small", 2 << 20, /*chunked=*/false).status, 413);
  // Chunked: the size is only known while streaming.
  EXPECT_EQ(Upload("/upload-small", 2 << 20, /*chunked=*/true).status, 413);
  EXPECT_EQ(Upload("/upload-small", 1 << 20, /*chunked=*/true).status, 200);
}

TEST_F(StreamingTest, StreamedRouteWithoutABodyReadsEndOfBody) {
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  const std::string r =
      c.RoundTrip("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_EQ(BodyOf(r), R"({"bytes":0,"intact":true})");
  EXPECT_EQ(StatusOf(c.RoundTrip("POST /upload HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
}

TEST_F(StreamingTest, EndlessChunkExtensionIsRefusedWithBoundedMemory) {
  // Beast 1.74 has no limit on a chunk-size line; the connection's buffer does.
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  ASSERT_TRUE(c.Send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;"));
  const std::string ext(64 * 1024UL, 'a');
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) refused = !c.Send(ext);  // up to 12.5 MiB
  const std::string r = c.ReadResponse();
  EXPECT_TRUE(refused || StatusOf(r) == 400) << r;
  EXPECT_TRUE(c.WaitClosed(std::chrono::seconds(10)));
  TlsClient other;
  ASSERT_TRUE(other.Connect(srv_.port()));
  EXPECT_EQ(
      StatusOf(other.RoundTrip("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")),
      200);
}

TEST_F(StreamingTest, ASourceShorterOrLongerThanItsLengthCutsTheConnectionNeverDesyncs) {
  for (const char* path : {"/lying/1000/10", "/lying/10/1000"}) {
    TlsClient c;
    ASSERT_TRUE(c.Connect(srv_.port()));
    ASSERT_TRUE(c.Send(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string r = c.ReadResponse();
    // Never more than the declared bytes, and the connection ends instead of serving a
    // second "response" out of the surplus or leaving the client waiting.
    EXPECT_LE(BodyOf(r).size(), std::stoul(HeaderOf(r, "Content-Length"))) << path;
    EXPECT_TRUE(c.WaitClosed(std::chrono::seconds(5))) << path;
  }
  EXPECT_EQ(Upload("/upload", 10, false).status, 200);  // and the server serves on
}

TEST_F(StreamingTest, HeadOfAChunkedStreamHasNoContentLength) {
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  const std::string r = c.RoundTrip("HEAD /download/100?chunked HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(HeaderOf(r, "Content-Length"), "");
  EXPECT_EQ(BodyOf(r), "");
}

TEST_F(StreamingTest, Http10ClientsGetACloseDelimitedBodyInsteadOfChunks) {
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  ASSERT_TRUE(c.Send("GET /download/5000?chunked HTTP/1.0\r\n\r\n"));
  std::string all = c.ReadResponse();
  char buf[4096];
  int n = 0;
  while ((n = SSL_read(c.ssl(), buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(StatusOf(all), 200);
  EXPECT_EQ(HeaderOf(all, "Transfer-Encoding"), "");
  const std::string body = BodyOf(all);
  ASSERT_EQ(body.size(), 5000U);
  Checker check;
  check.Feed(body.data(), body.size());
  EXPECT_TRUE(check.ok());
}

TEST_F(StreamingTest, TruncatedStreamedBodyIsAnErrorNotSuccess) {
  TlsClient c;
  ASSERT_TRUE(c.Connect(srv_.port()));
  ASSERT_TRUE(
      c.Send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "10\r\n0123456789abcdef\r\nZZ\r\n"));
  const std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 400) << r;
}

}  // namespace
}  // namespace pactum
