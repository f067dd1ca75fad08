#include "common/status.h"

#include <cstdio>
#include <cstdlib>

namespace pactum {

const char* StatusCodeSlug(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kUnauthenticated:
      return "unauthenticated";
    case StatusCode::kPermissionDenied:
      return "forbidden";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kMethodNotAllowed:
      return "method_not_allowed";
    case StatusCode::kRequestTimeout:
      return "request_timeout";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kConflict:
      return "conflict";
    case StatusCode::kFailedPrecondition:
      return "precondition_failed";
    case StatusCode::kPayloadTooLarge:
      return "payload_too_large";
    case StatusCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case StatusCode::kMisdirectedRequest:
      return "misdirected_request";
    case StatusCode::kUnprocessable:
      return "unprocessable";
    case StatusCode::kResourceExhausted:
      return "too_many_requests";
    case StatusCode::kRequestHeadersTooLarge:
      return "headers_too_large";
    case StatusCode::kInternal:
      return "internal";
    case StatusCode::kDataLoss:
      return "data_loss";
    case StatusCode::kNotImplemented:
      return "not_implemented";
    case StatusCode::kUnavailable:
      return "unavailable";
  }
  return "internal";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  if (detail_.empty()) return message_;
  return message_ + " (" + detail_ + ")";
}

Status InvalidArgument(std::string message) {
  return {StatusCode::kInvalidArgument, std::move(message)};
}
Status NotFound(std::string message) { return {StatusCode::kNotFound, std::move(message)}; }
Status AlreadyExists(std::string message) {
  return {StatusCode::kAlreadyExists, std::move(message)};
}
Status FailedPrecondition(std::string message) {
  return {StatusCode::kFailedPrecondition, std::move(message)};
}
Status PermissionDenied(std::string message) {
  return {StatusCode::kPermissionDenied, std::move(message)};
}
Status Unavailable(std::string message, std::string detail) {
  return {StatusCode::kUnavailable, std::move(message), std::move(detail)};
}
Status DataLoss(std::string message, std::string detail) {
  return {StatusCode::kDataLoss, std::move(message), std::move(detail)};
}
Status Internal(std::string detail) {
  return {StatusCode::kInternal, "internal error", std::move(detail)};
}

void DieOnErrorValue(const Status& status) {
  // stdio, not iostreams: this may run while anything else is broken, and must not
  // allocate more than it has to. The detail stays out (it may name paths or hold what a
  // library said); the message is client-safe by construction.
  std::fprintf(stderr, "pactum: fatal: value of an error Result: %s: %s\n",
               StatusCodeSlug(status.code()), status.message().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace pactum
