#include "api/route_util.h"

#include <arpa/inet.h>

#include <cstring>

namespace pactum::api {

Result<std::string> StringField(const nlohmann::json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || !it->is_string()) {
    return InvalidArgument(std::string("\"") + key + "\" must be a string");
  }
  return it->get<std::string>();
}

int64_t ParseId(std::string_view text) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    return 0;
  }
  return std::stoll(std::string(text));
}

std::string ThrottleAddress(const std::string& ip) {
  in6_addr a{};
  if (ip.find(':') == std::string::npos || ::inet_pton(AF_INET6, ip.c_str(), &a) != 1) return ip;
  std::memset(&a.s6_addr[8], 0, 8);
  char out[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, &a, out, sizeof out);
  return std::string(out) + "/64";
}

http::Response NoContent() {
  http::Response r;
  r.status = 204;
  return r;
}

http::Response Throttled(const Status& status, int64_t retry_after_seconds) {
  auto r = http::Response::Error(status);
  r.headers.push_back({"Retry-After", std::to_string(retry_after_seconds)});
  return r;
}

}  // namespace pactum::api
