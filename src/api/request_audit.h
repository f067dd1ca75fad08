#pragma once

// The `request` and `api` streams of the audit trail (DESIGN §7, P12): the server's
// RequestObserver. Every request the server reads a head of becomes one `request` event
// ("http.request", target the route pattern or "unmatched"), and every call made with an
// API token one more `api` event ("api.call"), both queued on an audit::RequestRecorder,
// which writes them in batches. While the recorder cannot write, Admit() refuses: such
// requests are answered 503 audit_unavailable (and still recorded once it can again).
//
// A request event joins the caller's tenant's chain (the platform's, 0, for anonymous
// requests: logins, downloads through a link, refused credentials) and holds, besides its
// actor (user or token, client address, request id, user agent): the method, the path
// with secret segments (a link's token) replaced by SqlAuditLog::Redact, the names of the
// query parameters (never a value), the status, body bytes in and out, the duration in
// µs, and the TCP peer when a trusted proxy named another client address. Never a header
// other than the user agent: no cookie, no Authorization, no CSRF token.
//
// Thread-safe. Build it after every route is registered: it reads the routes' patterns
// for the path segments that are secrets.

#include <string>
#include <string_view>
#include <vector>

#include "audit/request_recorder.h"
#include "audit/sql_audit_log.h"
#include "http/request_observer.h"
#include "http/router.h"

namespace pactum::api {

class RequestAudit final : public http::RequestObserver {
 public:
  // `recorder` and `log` (for Redact) must outlive this.
  RequestAudit(audit::RequestRecorder& recorder, const audit::SqlAuditLog& log,
               const http::Router& router);

  // The recorder's Admit(): kUnavailable (audit_unavailable) while it cannot write.
  Status Admit(const http::Request& request) override;
  void Finished(const http::Request& request, const http::Route* route,
                const http::RequestOutcome& outcome) override;

  // The path as the request stream stores it: each segment a route pattern names with a
  // secret parameter ("/files/{token}") replaced by its HMAC ("/files/hmac:…"), also
  // where the route did not match (another method, more segments), and cut to 1 KiB.
  std::string LoggedPath(std::string_view path) const;

 private:
  // A path segment that holds a secret where a path starts like `pattern`.
  struct SecretSegment {
    std::vector<std::string> pattern;  // the route's segments up to the secret one
    size_t index = 0;                  // the secret's segment
  };

  audit::RequestRecorder& recorder_;
  const audit::SqlAuditLog& log_;
  std::vector<SecretSegment> secrets_;
};

}  // namespace pactum::api
