#pragma once

// Every API endpoint is declared once, here-shaped: method and path, who may call it,
// where it runs, how its body is read and how large it may be, the audit actions it
// records, the shape of what it takes and gives, and its handler. From that one
// declaration:
//   - the EndpointTable installs the route into the http::Router and, before the
//     handler runs, authenticates the caller (session or token), applies the tenant's IP
//     allowlist, CSRF, the password-change and 2FA confinements and the least role
//     (default deny), refuses undeclared query parameters, and checks a JSON body against
//     the declared fields (api/schema.h);
//   - every refused authorization (403) is recorded in the audit trail (authz.denied);
//   - the OpenAPI description (GET /api/v1/openapi.json) and docs/api.md are generated
//     (api/openapi.h);
//   - tests hold handlers to it (every declared field read, answers of the declared
//     shape, the declared audit actions recorded).
//
// Thread-safety: build the table at start, then read-only; Run is safe from any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/caller.h"
#include "api/schema.h"
#include "http/router.h"

namespace pactum::api {

// Who may call an endpoint. The four roles are ordered; a role admits every higher one.
enum class Who {
  kAnyone,      // no credentials (login, health, the API description)
  kLinkHolder,  // the URL is the credential (a signed download link)
  kViewer,
  kUser,
  kManager,
  kAdmin,
};

// "anyone", "link holder", "viewer" ...
const char* WhoName(Who who);

// Whether `who` needs an authenticated caller (a role), not just the request.
constexpr bool NeedsCaller(Who who) { return who != Who::kAnyone && who != Who::kLinkHolder; }

enum class BodyKind {
  kNone,    // no body (an empty JSON object `{}` is tolerated)
  kJson,    // a JSON object of the declared `request` fields; Content-Type application/json
  kStream,  // raw bytes pulled by the handler (uploads); any media type
};

// An error an endpoint answers besides the common ones (authentication, validation,
// limits), for the description.
struct ErrorCase {
  int status = 400;
  std::string code;  // the error object's "code"
  std::string when;
};

class Call;
using EndpointHandler = std::function<http::Response(Call&)>;

struct Endpoint {
  http::Method method = http::Method::kGet;
  std::string path;     // "/api/v1/contracts/{id}"
  std::string group;    // for the description: "Contracts", "Users" ...
  std::string summary;  // one line: what it does
  std::string description;
  Who who = Who::kAdmin;
  // Login-session rules (API tokens are machine credentials and never confined):
  bool session_only = false;            // a person in a login session only, never a token
  bool before_password_change = false;  // open while the password must still change
  bool before_two_factor = false;       // open before enrolling in a 2FA the tenant requires
  http::Execution execution = http::Execution::kWorker;
  BodyKind body = BodyKind::kNone;
  int64_t max_body_bytes = -1;     // -1: limits.max_body_bytes (JSON) / max_upload_bytes (stream)
  ObjectSpec request;              // the fields of a kJson body
  std::vector<FieldSpec> query;    // accepted query parameters (anything else: 400)
  std::vector<FieldSpec> headers;  // request headers it reads (If-Match, X-Filename ...)
  int success = 200;
  std::string produces = "application/json";  // the media type of a success
  ObjectSpec response;                        // a JSON success's fields
  std::vector<ErrorCase> errors;
  std::vector<std::string> audit;  // actions it records in the audit trail
  EndpointHandler handler;
};

// A validated JSON request body. Handlers read the declared fields through it; each read
// is noted, so tests can prove that every declared field is used. Reading an undeclared
// field is a programming error: Run answers 500 and logs it.
class Body {
 public:
  Body(const ObjectSpec& spec, nlohmann::json value);

  // Present in the body (null included).
  bool Has(std::string_view name) const;
  // The value, or "" / 0 / false when absent or null (required fields are never absent).
  std::string String(std::string_view name) const;
  int64_t Int(std::string_view name) const;
  bool Bool(std::string_view name) const;
  std::optional<std::string> OptString(std::string_view name) const;
  std::optional<int64_t> OptInt(std::string_view name) const;
  std::optional<bool> OptBool(std::string_view name) const;
  // Any declared field as JSON (null when absent).
  const nlohmann::json& Value(std::string_view name) const;
  // The whole object, for a service that applies it field by field (and refuses what it
  // does not know); counts every field as read.
  const nlohmann::json& Whole() const;

  // Declared fields present in the body that no accessor read.
  std::vector<std::string> Unread() const;
  // Names read that the declaration does not have (a programming error).
  const std::vector<std::string>& undeclared_reads() const { return undeclared_; }

 private:
  const nlohmann::json* Read(std::string_view name) const;

  const ObjectSpec& spec_;
  nlohmann::json value_;
  mutable std::vector<bool> read_;  // per spec_.fields
  mutable std::vector<std::string> undeclared_;
};

// One call of an endpoint, as its handler sees it.
class Call {
 public:
  Call(http::Request& request, const Endpoint& endpoint, Body& body)
      : request(request), endpoint(endpoint), body_(body) {}

  http::Request& request;
  const Endpoint& endpoint;

  // The caller of an endpoint with a role (never null there; null on public ones).
  const Principal& caller() const { return *CallerOf(request); }
  audit::Actor actor() const { return ActorOf(request); }
  const Body& body() const { return body_; }
  // A positive id from path parameter `name`, or 0 (which no object has).
  int64_t Id(std::string_view name = "id") const;

 private:
  Body& body_;
};

struct EndpointOptions {
  // Tests: a success whose handler left a declared field of the body unread, or read an
  // undeclared one, is answered 500 (a declaration that lies about what is accepted).
  bool strict = false;
};

class EndpointTable {
 public:
  // Endpoints are installed into `router`; `deps` authenticate callers.
  EndpointTable(http::Router& router, const AuthDeps& deps, EndpointOptions options = {});
  // A table of public endpoints only (a test of the server): adding one that needs a
  // caller aborts.
  explicit EndpointTable(http::Router& router, EndpointOptions options = {});
  EndpointTable(const EndpointTable&) = delete;
  EndpointTable& operator=(const EndpointTable&) = delete;

  // Declares and installs an endpoint. A declaration that cannot be right (a stream body
  // off the worker pool, a JSON body without fields on a method that takes none, a
  // duplicate) is a programming error and aborts.
  void Add(Endpoint endpoint);

  const std::vector<std::unique_ptr<Endpoint>>& endpoints() const { return endpoints_; }
  // The declaration behind a router's route, or null (a route added to the router
  // directly).
  const Endpoint* Find(const http::Route& route) const;
  // The authentication services (a programming error on a table of public endpoints).
  const AuthDeps& deps() const;

 private:
  http::Response Run(const Endpoint& endpoint, http::Request& request) const;
  http::Response Guard(const Endpoint& endpoint, http::Request& request) const;

  http::Router& router_;
  std::optional<AuthDeps> deps_;
  EndpointOptions options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::vector<const Endpoint*> by_route_;  // indexed by http::Route::index
};

// 204 No Content.
http::Response NoContent();

// The error answer for a refused throttle check, with Retry-After.
http::Response Throttled(const Status& status, int64_t retry_after_seconds);

// A positive decimal id, or 0.
int64_t ParseId(std::string_view text);

// The address a throttle counts: IPv4 as is, IPv6 by its /64 (one subscriber's prefix).
std::string ThrottleAddress(const std::string& ip);

}  // namespace pactum::api
