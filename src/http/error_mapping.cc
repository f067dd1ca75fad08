#include "http/error_mapping.h"

#include "common/json_writer.h"

namespace pactum::http {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kMethodNotAllowed:
      return 405;
    case StatusCode::kRequestTimeout:
      return 408;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
      return 409;
    case StatusCode::kFailedPrecondition:
      return 412;
    case StatusCode::kPayloadTooLarge:
      return 413;
    case StatusCode::kUnsupportedMediaType:
      return 415;
    case StatusCode::kMisdirectedRequest:
      return 421;
    case StatusCode::kUnprocessable:
      return 422;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kRequestHeadersTooLarge:
      return 431;
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      return 500;
    case StatusCode::kNotImplemented:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
  }
  return 500;
}

std::string ErrorCode(const Status& s) {
  return s.reason().empty() ? std::string(StatusCodeSlug(s.code())) : s.reason();
}

std::string ErrorBody(const Status& s) {
  JsonWriter w;
  w.BeginObject()
      .Key("error")
      .BeginObject()
      .Field("code", ErrorCode(s))
      .Field("message", s.message())
      .EndObject()
      .EndObject();
  return w.Take();
}

}  // namespace pactum::http
