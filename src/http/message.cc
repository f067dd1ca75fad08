#include "http/message.h"

#include <strings.h>

#include <nlohmann/json.hpp>

#include "common/json_parse.h"
#include "http/error_mapping.h"

namespace pactum::http {

Method ParseMethod(std::string_view text) {
  if (text == "GET") return Method::kGet;
  if (text == "HEAD") return Method::kHead;
  if (text == "POST") return Method::kPost;
  if (text == "PUT") return Method::kPut;
  if (text == "PATCH") return Method::kPatch;
  if (text == "DELETE") return Method::kDelete;
  if (text == "OPTIONS") return Method::kOptions;
  return Method::kOther;
}

const char* MethodName(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      return "OTHER";
  }
  return "OTHER";
}

std::string_view Request::RawPath() const {
  const std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::Header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() &&
        ::strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return h.value;
    }
  }
  return {};
}

std::string_view Request::Param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

Response Response::Json(int status, const nlohmann::json& value) {
  Response r;
  r.status = status;
  r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response Response::Text(int status, std::string text, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(text);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::Error(const Status& s) {
  Response r;
  r.status = HttpStatusFor(s.code());
  r.body = ErrorBody(s);
  r.log_detail = s.detail();
  r.error_code = ErrorCode(s);
  return r;
}

Result<nlohmann::json> ParseJsonObject(std::string_view body) {
  ASSIGN_OR_RETURN(nlohmann::json value, ParseStrictJson(body));
  if (!value.is_object()) {
    return InvalidArgument("request body must be a JSON object").WithReason("invalid_json");
  }
  return value;
}

}  // namespace pactum::http
