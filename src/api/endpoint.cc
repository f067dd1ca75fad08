#include "api/endpoint.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "common/log.h"
#include "http/path.h"

namespace pactum::api {
namespace {

constexpr const char* kComponent = "api";

bool IsUnsafe(http::Method m) {
  return m != http::Method::kGet && m != http::Method::kHead && m != http::Method::kOptions;
}

auth::Role RoleOf(Who who) {
  switch (who) {
    case Who::kUser:
      return auth::Role::kUser;
    case Who::kManager:
      return auth::Role::kManager;
    case Who::kAdmin:
      return auth::Role::kAdmin;
    case Who::kAnyone:
    case Who::kLinkHolder:
    case Who::kViewer:
      break;
  }
  return auth::Role::kViewer;
}

// application/json, with parameters (charset) allowed.
bool IsJsonMediaType(std::string_view type) {
  const size_t semi = type.find(';');
  std::string_view base = type.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  return base.size() == 16 && ::strncasecmp(base.data(), "application/json", 16) == 0;
}

// What can be told from the head alone, before a byte of the body is read: a request
// without any credential on an endpoint that needs one (401), a JSON endpoint's body in
// another media type (415).
Status Precheck(const Endpoint& e, const http::Request& req) {
  if (NeedsCaller(e.who) && !HasCredential(req)) {
    return Status(StatusCode::kUnauthenticated, "authentication required");
  }
  if (e.body == BodyKind::kJson && !IsJsonMediaType(req.Header("Content-Type"))) {
    return Status(StatusCode::kUnsupportedMediaType, "send the body as application/json");
  }
  return Status::Ok();
}

[[noreturn]] void Misdeclared(const Endpoint& e, std::string_view why) {
  std::cerr << "pactum: endpoint " << http::MethodName(e.method) << " " << e.path
            << " is declared wrongly: " << why << std::endl;
  std::abort();
}

}  // namespace

const char* WhoName(Who who) {
  switch (who) {
    case Who::kAnyone:
      return "anyone";
    case Who::kLinkHolder:
      return "link holder";
    case Who::kViewer:
      return "viewer";
    case Who::kUser:
      return "user";
    case Who::kManager:
      return "manager";
    case Who::kAdmin:
      return "admin";
  }
  return "admin";
}

// --- Body ---

Body::Body(const ObjectSpec& spec, nlohmann::json value)
    : spec_(spec), value_(std::move(value)), read_(spec.fields.size(), false) {}

const nlohmann::json* Body::Read(std::string_view name) const {
  for (size_t i = 0; i < spec_.fields.size(); ++i) {
    if (spec_.fields[i].name != name) continue;
    read_[i] = true;
    const auto it = value_.find(name);
    return it == value_.end() || it->is_null() ? nullptr : &*it;
  }
  undeclared_.emplace_back(name);
  return nullptr;
}

bool Body::Has(std::string_view name) const {
  Read(name);
  return value_.contains(name);
}

std::string Body::String(std::string_view name) const {
  const nlohmann::json* v = Read(name);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

int64_t Body::Int(std::string_view name) const {
  const nlohmann::json* v = Read(name);
  return v != nullptr && v->is_number_integer() ? v->get<int64_t>() : 0;
}

bool Body::Bool(std::string_view name) const {
  const nlohmann::json* v = Read(name);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

std::optional<std::string> Body::OptString(std::string_view name) const {
  const nlohmann::json* v = Read(name);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

std::optional<int64_t> Body::OptInt(std::string_view name) const {
  const nlohmann::json* v = Read(name);
  if (v == nullptr || !v->is_number_integer()) return std::nullopt;
  return v->get<int64_t>();
}

std::optional<bool> Body::OptBool(std::string_view name) const {
  const nlohmann::json* v = Read(name);
  if (v == nullptr || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

const nlohmann::json& Body::Value(std::string_view name) const {
  static const nlohmann::json kNull;
  const nlohmann::json* v = Read(name);
  return v != nullptr ? *v : kNull;
}

const nlohmann::json& Body::Whole() const {
  std::fill(read_.begin(), read_.end(), true);
  return value_;
}

std::vector<std::string> Body::Unread() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < spec_.fields.size(); ++i) {
    if (!read_[i] && value_.contains(spec_.fields[i].name)) out.push_back(spec_.fields[i].name);
  }
  return out;
}

int64_t Call::Id(std::string_view name) const { return ParseId(request.Param(name)); }

// --- EndpointTable ---

EndpointTable::EndpointTable(http::Router& router, const AuthDeps& deps, EndpointOptions options)
    : router_(router), deps_(deps), options_(options) {}

EndpointTable::EndpointTable(http::Router& router, EndpointOptions options)
    : router_(router), options_(options) {}

const AuthDeps& EndpointTable::deps() const {
  if (!deps_) {
    std::cerr << "pactum: an endpoint table without authentication was asked for it" << std::endl;
    std::abort();
  }
  return *deps_;
}

void EndpointTable::Add(Endpoint endpoint) {
  const bool takes_body =
      endpoint.method == http::Method::kPost || endpoint.method == http::Method::kPut ||
      endpoint.method == http::Method::kPatch || endpoint.method == http::Method::kDelete;
  if (endpoint.summary.empty() || endpoint.group.empty()) Misdeclared(endpoint, "no summary");
  if (endpoint.body == BodyKind::kJson && (endpoint.request.empty() || !takes_body)) {
    Misdeclared(endpoint, "a JSON body needs declared fields and a method that sends one");
  }
  if (endpoint.body != BodyKind::kJson && !endpoint.request.empty()) {
    Misdeclared(endpoint, "request fields without a JSON body");
  }
  if (endpoint.body == BodyKind::kStream && endpoint.execution != http::Execution::kWorker) {
    Misdeclared(endpoint, "a streamed body must run on the worker pool");
  }
  if (!endpoint.handler) Misdeclared(endpoint, "no handler");
  if (NeedsCaller(endpoint.who) && !deps_) Misdeclared(endpoint, "a caller but no authentication");
  for (const auto& e : endpoints_) {
    if (e->method == endpoint.method && e->path == endpoint.path) Misdeclared(endpoint, "twice");
  }
  auto owned = std::make_unique<Endpoint>(std::move(endpoint));
  const Endpoint* e = owned.get();
  http::RouteOptions options{
      .execution = e->execution,
      .body = e->body == BodyKind::kStream ? http::BodyMode::kStreamed : http::BodyMode::kBuffered,
      .max_body_bytes = e->max_body_bytes,
      .precheck = [e](const http::Request& req) { return Precheck(*e, req); }};
  router_.Add(
      e->method, e->path, [this, e](http::Request& req) { return Run(*e, req); }, options);
  const size_t index = router_.routes().back()->index;
  if (by_route_.size() <= index) by_route_.resize(index + 1, nullptr);
  by_route_[index] = e;
  endpoints_.push_back(std::move(owned));
}

const Endpoint* EndpointTable::Find(const http::Route& route) const {
  return route.index < by_route_.size() ? by_route_[route.index] : nullptr;
}

http::Response EndpointTable::Run(const Endpoint& e, http::Request& req) const {
  http::Response r = Guard(e, req);
  // Every refused authorization, by the guard or by a handler, is recorded.
  if (r.status == 403 && NeedsCaller(e.who)) {
    audit::Event event = audit::Failure(audit::Stream::kAction, "authz.denied", ActorOf(req),
                                        r.error_code.empty() ? "forbidden" : r.error_code, e.path);
    event.details["method"] = req.method_text;
    if (auto refused = RecordOrRefuse(deps_->audit, event)) return std::move(*refused);
  }
  return r;
}

// Authenticates the caller and applies the tenant's rules and the least role, then checks
// the input against the declaration and runs the handler.
http::Response EndpointTable::Guard(const Endpoint& e, http::Request& req) const {
  // The server asks before reading the body; asked again here for servers and tests
  // that dispatch without it.
  if (Status s = Precheck(e, req); !s.ok()) return http::Response::Error(s);
  std::optional<auth::TokenCaller> token_caller;
  std::optional<auth::ActiveSession> session_caller;
  if (NeedsCaller(e.who)) {
    Principal caller;
    const std::string_view authorization = req.Header("Authorization");
    if (!authorization.empty()) {  // an API client: a bearer token, no cookie, no CSRF
      if (!authorization.starts_with("Bearer ")) {
        return http::Response::Error(
            Status(StatusCode::kUnauthenticated, "authentication required"));
      }
      auto token = deps_->tokens.Resolve(authorization.substr(7));
      if (!token.ok()) return http::Response::Error(token.status());
      caller = Principal{token->user, "", token->token_id, nullptr};
      token_caller = std::move(token).value();
    } else {
      auto session =
          deps_->sessions.Resolve(CookieValue(req.Header("Cookie"), kSessionCookie), ActorOf(req));
      if (!session.ok()) return http::Response::Error(session.status());
      caller = Principal{session->user, session->id_hash, 0, nullptr};
      session_caller = *session;
      if (IsUnsafe(req.method) &&
          !auth::SessionService::CsrfMatches(*session, req.Header("X-CSRF-Token"))) {
        return http::Response::Error(
            Status(StatusCode::kPermissionDenied, "missing or wrong X-CSRF-Token")
                .WithReason("csrf_failed"));
      }
    }
    auto settings = deps_->settings.Get(caller.user.tenant_id);
    if (!settings.ok()) return http::Response::Error(settings.status());
    caller.settings = *settings;
    // Known from here on, for the record of a refusal; nothing runs unless admitted.
    req.principal = caller;
    if (!AddressAllowed(*caller.settings, req.remote_ip)) {
      return http::Response::Error(IpNotAllowed());
    }
    if (caller.token_id != 0 && e.session_only) {
      return http::Response::Error(Status(StatusCode::kPermissionDenied,
                                          "passwords and 2FA are managed in a login session"));
    }
    if (caller.token_id == 0) {
      if (caller.user.password_change_required && !e.before_password_change) {
        return http::Response::Error(
            Status(StatusCode::kPermissionDenied,
                   "the password must be changed first: POST /api/v1/me/password")
                .WithReason("password_change_required"));
      }
      if (caller.settings->require_2fa && !caller.user.totp_enabled && !e.before_two_factor) {
        return http::Response::Error(
            Status(StatusCode::kPermissionDenied,
                   "this tenant requires two-factor login: enrol at POST /api/v1/me/totp")
                .WithReason("two_factor_required"));
      }
    }
    if (caller.user.role < RoleOf(e.who)) {
      return http::Response::Error(
          Status(StatusCode::kPermissionDenied, "your role does not allow this"));
    }
  }

  // The input, against the declaration: nothing undeclared reaches a handler.
  if (!e.query.empty() || !req.query.empty()) {
    auto params = http::ParseQuery(req.query);
    if (!params.ok()) return http::Response::Error(params.status());
    for (const auto& [key, value] : *params) {
      bool known = false;
      for (const auto& q : e.query) known = known || q.name == key;
      if (!known) {
        return http::Response::Error(InvalidArgument(
            "unknown query parameter \"" + (key.size() <= 64 ? key : key.substr(0, 64)) + "\""));
      }
    }
  }
  nlohmann::json value = nlohmann::json::object();
  if (e.body == BodyKind::kJson) {
    auto parsed = http::ParseJsonObject(req.body);
    if (!parsed.ok()) return http::Response::Error(parsed.status());
    if (Status s = ValidateObject(e.request, *parsed); !s.ok()) return http::Response::Error(s);
    value = std::move(parsed).value();
  } else if (e.body == BodyKind::kNone && !req.body.empty()) {
    // Clients that send `{}` with every POST are served; anything more is a mistake.
    auto parsed = http::ParseJsonObject(req.body);
    if (!parsed.ok() || !parsed->empty()) {
      return http::Response::Error(InvalidArgument("this endpoint takes no request body"));
    }
  }
  Body body(e.request, std::move(value));

  // Admitted: only now does the use count (refused requests keep nothing alive).
  if (token_caller || session_caller) {
    const Status touched =
        token_caller ? deps_->tokens.Touch(*token_caller) : deps_->sessions.Touch(*session_caller);
    if (!touched.ok()) return http::Response::Error(touched);
  }
  Call call(req, e, body);
  http::Response r = e.handler(call);
  if (!body.undeclared_reads().empty()) {
    log::Error(kComponent, "a handler read an undeclared field",
               {{"endpoint", e.path}, {"field", body.undeclared_reads().front()}});
    if (options_.strict) return http::Response::Error(Internal("undeclared field read"));
  }
  if (options_.strict && r.status < 300) {
    if (auto unread = body.Unread(); !unread.empty()) {
      auto failed = http::Response::Error(Internal("declared field not read"));
      failed.log_detail = "declared field \"" + unread.front() + "\" of " + e.path + " not read";
      return failed;
    }
  }
  return r;
}

// --- small shared answers ---

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

}  // namespace pactum::api
