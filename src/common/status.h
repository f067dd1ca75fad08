#pragma once

// Errors are values. A Status carries a code from a small fixed set, a message that is
// safe to show a client, and an optional internal detail that only ever goes to the
// operator log. No exception crosses a module boundary: adapters of throwing libraries
// catch and convert at their edge.

#include <optional>
#include <string>
#include <utility>

namespace pactum {

enum class StatusCode {
  kOk,
  kInvalidArgument,         // the caller's input is malformed (400)
  kUnauthenticated,         // no or bad credentials (401)
  kPermissionDenied,        // authenticated but not allowed (403)
  kNotFound,                // (404)
  kMethodNotAllowed,        // the path exists, the method does not (405)
  kRequestTimeout,          // the client was too slow (408)
  kAlreadyExists,           // a unique thing exists already (409)
  kConflict,                // the state does not allow it (409)
  kFailedPrecondition,      // a precondition such as If-Match failed (412)
  kPayloadTooLarge,         // (413)
  kUnsupportedMediaType,    // (415)
  kMisdirectedRequest,      // addressed to a host name this server is not configured for (421)
  kUnprocessable,           // well-formed but semantically invalid (422)
  kResourceExhausted,       // rate or quota limits (429)
  kRequestHeadersTooLarge,  // (431)
  kInternal,                // a bug or an unexpected failure (500)
  kDataLoss,                // stored data is corrupt (500)
  kNotImplemented,          // a protocol feature the server does not implement (501)
  kUnavailable,             // a dependency is down; retry later (503)
};

// The stable machine-readable name of a code, used as the "code" of API errors.
const char* StatusCodeSlug(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message, std::string detail = {})
      : code_(code), message_(std::move(message)), detail_(std::move(detail)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // Safe to show to a client or a CLI user.
  const std::string& message() const { return message_; }
  // Internal detail (paths, library errors); operator log only.
  const std::string& detail() const { return detail_; }

  // A more specific machine-readable reason than the code's slug ("csrf_failed",
  // "ip_not_allowed"); API errors show it as their "code". Empty: the code's slug.
  const std::string& reason() const { return reason_; }
  Status WithReason(std::string reason) && {
    reason_ = std::move(reason);
    return std::move(*this);
  }

  // "message" or "message (detail)", for the operator log and CLI diagnostics.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string detail_;
  std::string reason_;
};

Status InvalidArgument(std::string message);
Status NotFound(std::string message);
Status AlreadyExists(std::string message);
Status FailedPrecondition(std::string message);
Status PermissionDenied(std::string message);
Status Unavailable(std::string message, std::string detail = {});
Status DataLoss(std::string message, std::string detail = {});
// The client sees only "internal error"; the detail is for the operator log.
Status Internal(std::string detail);

// Reading the value of a Result that holds an error is a programmer error: this prints
// "pactum: fatal: value of an error Result: <code slug>: <message>" on stderr and aborts,
// in every build. Only the client-safe message is printed, never the detail (paths,
// library errors, whatever a caller put there). Never returns.
[[noreturn]] void DieOnErrorValue(const Status& status);

// A value or the Status saying why there is none. value(), operator* and operator-> on
// an error abort (DieOnErrorValue): check ok() first, or use ASSIGN_OR_RETURN.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = Internal("Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return Checked(); }
  const T& value() const& { return Checked(); }
  T&& value() && { return std::move(Checked()); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &Checked(); }
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return Checked(); }

 private:
  T& Checked() {
    if (!value_.has_value()) [[unlikely]] {
      DieOnErrorValue(status_);
    }
    return *value_;
  }
  const T& Checked() const {
    if (!value_.has_value()) [[unlikely]] {
      DieOnErrorValue(status_);
    }
    return *value_;
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace pactum

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration, `tmp` a name.
#define PACTUM_CONCAT_INNER(a, b) a##b
#define PACTUM_CONCAT(a, b) PACTUM_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::pactum::Status pactum_status_ = (expr);        \
    if (!pactum_status_.ok()) return pactum_status_; \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

// `ASSIGN_OR_RETURN(auto x, F());` binds x to F()'s value or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(PACTUM_CONCAT(pactum_result_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)
