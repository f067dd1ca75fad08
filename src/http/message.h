#pragma once

// Requests and responses as handlers see them: plain types, no Beast. Handlers are
// functions Request& -> Response; they never see sockets.

#include <any>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace pactum::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

// "GET" -> kGet ...; anything else kOther.
Method ParseMethod(std::string_view text);
const char* MethodName(Method m);

struct HeaderField {
  std::string name;
  std::string value;
};

// Pulls a streamed request body. Read() blocks until at least one byte arrives, the body
// ends (returns 0) or fails (kPayloadTooLarge past the route's limit, kRequestTimeout,
// kInvalidArgument for a malformed body). Only usable on a worker thread.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  virtual Result<size_t> Read(std::span<char> out) = 0;
};

// Produces a streamed response body. Read() fills `out` and returns the number of bytes,
// 0 at the end. Called on an I/O thread: it must not block for long (local disk is fine).
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual Result<size_t> Read(std::span<char> out) = 0;
};

struct Request {
  Method method = Method::kGet;
  std::string method_text;
  int version = 11;    // HTTP/1.1 -> 11, HTTP/1.0 -> 10
  std::string target;  // as received
  std::string path;    // percent-decoded, validated (see path.h)
  std::string query;   // raw, after '?'
  std::vector<HeaderField> headers;
  std::string body;                   // for routes with buffered bodies
  BodyReader* body_reader = nullptr;  // for routes with streamed bodies
  std::optional<uint64_t> content_length;
  // The client's address: the TCP peer, or behind a trusted proxy the address its
  // X-Forwarded-For names (server.trusted_proxies, http/client_address.h).
  std::string remote_ip;
  std::string peer_ip;  // the TCP peer, always
  std::string request_id;
  // The origin clients use ("https://contracts.example.com", server.public_url, or the
  // listen address), for absolute links; never the request's Host. Set by the server,
  // whose string it views: valid while the server lives.
  std::string_view public_url;
  std::vector<std::pair<std::string, std::string>> params;  // from the route pattern
  // Who is calling, set by the API's endpoint table (api/endpoint.h); empty for
  // anonymous requests.
  std::any principal;

  // The path exactly as the client spelled it: `target` up to any '?', not
  // percent-decoded. For values with one canonical spelling (download-link tokens), which
  // the decoded `path` and the route parameters would also accept spelled "%2D" for "-".
  std::string_view RawPath() const;
  // First header named `name` (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;
  // Path parameter `{name}`, or "".
  std::string_view Param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<HeaderField> headers;  // besides the security headers the server adds
  std::string content_type = "application/json";
  std::string body;
  std::unique_ptr<BodySource> stream;     // when set, sent instead of body
  std::optional<uint64_t> stream_length;  // Content-Length for stream; chunked if unset
  // Internal detail of a failure: written to the operator log with the request id, never
  // sent to the client.
  std::string log_detail;
  // The error object's code of an answer made by Error() ("forbidden", "ip_not_allowed"
  // ...), so middleware can tell why without reading the body back; "" otherwise.
  std::string error_code;

  static Response Json(int status, const nlohmann::json& value);
  static Response Text(int status, std::string text, std::string content_type);
  // The DESIGN §4 error object for `s`, with the status from the one mapping.
  static Response Error(const Status& s);
};

// Parses a JSON request body: exactly one JSON object, checked as ParseStrictJson
// (common/json_parse.h) does: valid UTF-8, nothing but white space after it, no duplicate
// keys, numbers that fit, at most 32 levels deep. kInvalidArgument with reason
// "invalid_json" and a client-safe message (a byte offset, never the body) otherwise.
Result<nlohmann::json> ParseJsonObject(std::string_view body);

}  // namespace pactum::http
