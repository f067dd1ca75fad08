#pragma once

// A real HTTPS client (libcurl) for integration tests. Verifies the server certificate
// against `ca_file` (the server's self-signed certificate) unless it is empty.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace pactum::testing_support {

struct HttpResponse {
  long status = 0;                             // 0: transport failure
  std::string error;                           // curl's message on transport failure
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  uint64_t body_bytes = 0;  // counted even when the body is not kept
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  // Streamed request body: called for up to `max` bytes into `buf`, returns bytes (0 = end).
  std::function<size_t(char* buf, size_t max)> body_source;
  int64_t body_length = -1;  // with body_source: Content-Length, or -1 for chunked
  bool keep_body = true;     // false: only count response bytes (huge downloads)
  std::function<void(const char*, size_t)> on_body;  // sees every response body chunk
  std::string ca_file;
  long timeout_ms = 60000;
};

HttpResponse Perform(const HttpRequest& request);

}  // namespace pactum::testing_support
