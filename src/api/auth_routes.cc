#include "api/auth_routes.h"

#include <nlohmann/json.hpp>

#include "api/route_util.h"
#include "auth/policy.h"
#include "common/clock.h"

namespace pactum::api {
namespace {

// The routes anyone may call; every other route needs a session or a token.
bool IsPublic(const http::Route& route) {
  // /files/{token}: the link is the credential (its handler checks a bound link's
  // session or token itself).
  static constexpr std::string_view kPublic[] = {"/healthz", "/metrics", "/api/v1/auth/login",
                                                 "/api/v1/auth/mfa", "/files/{token}"};
  for (const std::string_view p : kPublic) {
    if (route.pattern == p) return true;
  }
  return false;
}

// Routes a session may use while its password must be changed.
bool AllowedBeforePasswordChange(const http::Route& route) {
  return route.pattern == "/api/v1/me/password" || route.pattern == "/api/v1/me" ||
         route.pattern == "/api/v1/auth/logout";
}

// Routes a session may use before its user enrols in 2FA when the tenant requires it.
bool AllowedBeforeTwoFactor(const http::Route& route) {
  return route.pattern == "/api/v1/me/totp" || route.pattern == "/api/v1/me/totp/confirm" ||
         route.pattern == "/api/v1/me" || route.pattern == "/api/v1/me/password" ||
         route.pattern == "/api/v1/auth/logout";
}

// Routes only a person in a login session may call, never an API token.
bool SessionOnly(const http::Route& route) {
  return route.pattern == "/api/v1/me/password" || route.pattern.starts_with("/api/v1/me/totp");
}

bool IsUnsafe(http::Method m) {
  return m != http::Method::kGet && m != http::Method::kHead && m != http::Method::kOptions;
}

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or "".
std::string_view CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

std::string SessionCookie(std::string_view value, int64_t max_age) {
  return std::string(kSessionCookie) + "=" + std::string(value) +
         "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
}

nlohmann::json UserJson(const auth::User& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"name", u.name},
          {"role", std::string(auth::RoleName(u.role))}};
}

nlohmann::json TokenJson(const auth::ApiToken& t) {
  nlohmann::json j{
      {"id", t.id},
      {"name", t.name},
      {"role", std::string(auth::RoleName(t.role))},
      {"created_by", t.user_id},
      {"created_at",
       FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(t.created_at)))},
      {"expires_at",
       FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(t.expires_at)))},
      {"revoked", t.revoked}};
  j["last_used_at"] = t.last_used_at == 0
                          ? nlohmann::json(nullptr)
                          : nlohmann::json(FormatRfc3339(std::chrono::system_clock::time_point(
                                std::chrono::seconds(t.last_used_at))));
  return j;
}

// JSON only: a cross-site form cannot send it without a CORS preflight (login CSRF).
std::optional<http::Response> RequireJson(const http::Request& req) {
  if (req.Header("Content-Type").starts_with("application/json")) return std::nullopt;
  return http::Response::Error(
      Status(StatusCode::kUnsupportedMediaType, "send the request as application/json"));
}

// Starts a session for a user who passed every login step: the cookie, the CSRF token.
http::Response SessionAnswer(const AuthDeps& deps, const auth::User& user, const std::string& slug,
                             const tenant::TenantSettings& settings, const audit::Event& login) {
  auto tokens = deps.sessions.Start(login, user.id);
  if (!tokens.ok()) return http::Response::Error(tokens.status());
  auto r = http::Response::Json(
      200, {{"user", UserJson(user)},
            {"tenant", slug},
            {"csrf_token", tokens->csrf},
            {"password_change_required", user.password_change_required},
            {"two_factor_enabled", user.totp_enabled},
            {"two_factor_required", settings.require_2fa && !user.totp_enabled}});
  r.headers.push_back({"Set-Cookie", SessionCookie(tokens->id, tokens->max_age)});
  r.headers.push_back({"Cache-Control", "no-store"});
  return r;
}

}  // namespace

const Principal* CallerOf(const http::Request& request) {
  return std::any_cast<Principal>(&request.principal);
}

audit::Actor ActorOf(const http::Request& request) {
  audit::Actor a;
  a.ip = request.remote_ip;
  a.request_id = request.request_id;
  a.user_agent = std::string(request.Header("User-Agent"));
  if (const Principal* p = CallerOf(request)) {
    a.tenant_id = p->user.tenant_id;
    a.user_id = p->user.id;
    a.token_id = p->token_id;
  }
  return a;
}

std::optional<http::Response> RecordOrRefuse(audit::AuditSink& audit, const audit::Event& event) {
  if (Status s = audit.Record(event); !s.ok()) return http::Response::Error(s);
  return std::nullopt;
}

int64_t OnlyOwner(const Principal& p) {
  return p.user.role >= auth::Role::kManager ? 0 : p.user.id;
}

std::string CredentialOf(const Principal& p) {
  return p.token_id != 0 ? "token:" + std::to_string(p.token_id) : "session:" + p.session_hash;
}

std::string CredentialOf(const AuthDeps& deps, const http::Request& req) {
  const std::string_view authorization = req.Header("Authorization");
  if (!authorization.empty()) {
    if (!authorization.starts_with("Bearer ")) return "";
    auto token = deps.tokens.Resolve(authorization.substr(7));
    return token.ok() ? "token:" + std::to_string(token->token_id) : "";
  }
  const std::string_view cookie = CookieValue(req.Header("Cookie"), kSessionCookie);
  if (cookie.empty()) return "";
  auto session = deps.sessions.Resolve(cookie, ActorOf(req));
  return session.ok() ? "session:" + session->id_hash : "";
}

Status IpNotAllowed() {
  return Status(StatusCode::kPermissionDenied, "your address is not in this tenant's IP allowlist")
      .WithReason("ip_not_allowed");
}

bool AddressAllowed(const tenant::TenantSettings& settings, const std::string& ip) {
  if (settings.ip_allowlist.empty()) return true;
  auto address = IpAddress::Parse(ip);
  return address.ok() && settings.AllowsAddress(*address);
}

namespace {

// Authenticates the caller and applies the tenant's rules and the policy table; answers
// the refusal or passes on to `next`.
http::Response Guard(const AuthDeps& deps, http::Request& req, const http::Route& route,
                     const http::Next& next) {
  Principal caller;
  std::optional<auth::TokenCaller> token_caller;
  std::optional<auth::ActiveSession> session_caller;
  const std::string_view authorization = req.Header("Authorization");
  if (!authorization.empty()) {  // an API client: a bearer token, no cookie, no CSRF
    if (!authorization.starts_with("Bearer ")) {
      return http::Response::Error(Status(StatusCode::kUnauthenticated, "authentication required"));
    }
    auto token = deps.tokens.Resolve(authorization.substr(7));
    if (!token.ok()) return http::Response::Error(token.status());
    caller = Principal{token->user, "", token->token_id, nullptr};
    token_caller = std::move(token).value();
  } else {
    auto session =
        deps.sessions.Resolve(CookieValue(req.Header("Cookie"), kSessionCookie), ActorOf(req));
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
  auto settings = deps.settings.Get(caller.user.tenant_id);
  if (!settings.ok()) return http::Response::Error(settings.status());
  caller.settings = *settings;
  // Known from here on, for the record of a refusal; nothing runs unless admitted.
  req.principal = caller;
  if (!AddressAllowed(*caller.settings, req.remote_ip)) {
    return http::Response::Error(IpNotAllowed());
  }
  if (caller.token_id != 0 && SessionOnly(route)) {
    return http::Response::Error(
        Status(StatusCode::kPermissionDenied, "passwords and 2FA are managed in a login session"));
  }
  if (caller.token_id == 0) {
    if (caller.user.password_change_required && !AllowedBeforePasswordChange(route)) {
      return http::Response::Error(
          Status(StatusCode::kPermissionDenied,
                 "the password must be changed first: POST /api/v1/me/password")
              .WithReason("password_change_required"));
    }
    if (caller.settings->require_2fa && !caller.user.totp_enabled &&
        !AllowedBeforeTwoFactor(route)) {
      return http::Response::Error(
          Status(StatusCode::kPermissionDenied,
                 "this tenant requires two-factor login: enrol at POST /api/v1/me/totp")
              .WithReason("two_factor_required"));
    }
  }
  // Default deny: a route the policy table does not list is refused to every role.
  const auto minimum = auth::MinimumRole(http::MethodName(req.method), route.pattern);
  if (!minimum || caller.user.role < *minimum) {
    auto r = http::Response::Error(
        Status(StatusCode::kPermissionDenied, "your role does not allow this"));
    if (!minimum) r.log_detail = "route missing from the policy table: " + route.pattern;
    return r;
  }
  // Admitted: only now does the use count (refused requests keep nothing alive).
  const Status touched =
      token_caller ? deps.tokens.Touch(*token_caller) : deps.sessions.Touch(*session_caller);
  if (!touched.ok()) return http::Response::Error(touched);
  return next(req);
}

// A login step (auth.login, auth.mfa) from the request's address, in the tenant's chain
// (the platform's while no tenant is known). Never the password or code.
audit::Event LoginEvent(const http::Request& req, std::string action, int64_t tenant_id) {
  audit::Event e{.stream = audit::Stream::kAuth, .action = std::move(action)};
  e.actor = ActorOf(req);
  e.actor.tenant_id = tenant_id;
  return e;
}

// Records a refused login step and answers `answer`, or 503 when it cannot be recorded.
http::Response RefuseLogin(const AuthDeps& deps, audit::Event e, std::string reason,
                           http::Response answer) {
  audit::MarkFailed(e, std::move(reason));
  if (auto refused = RecordOrRefuse(deps.audit, e)) return std::move(*refused);
  return answer;
}

}  // namespace

void RegisterAuthRoutes(http::Router& router, AuthDeps deps) {
  // Routes that hash a password (argon2id) run on the CPU pool, apart from the workers.
  const http::RouteOptions kCpuBound{.execution = http::Execution::kCpuBound};
  router.Use([deps](http::Request& req, const http::Route& route,
                    const http::Next& next) -> http::Response {
    if (IsPublic(route)) return next(req);
    http::Response r = Guard(deps, req, route, next);
    // Every refused authorization, by this middleware or by a handler, is recorded.
    if (r.status == 403) {
      audit::Event e =
          audit::Failure(audit::Stream::kAction, "authz.denied", ActorOf(req),
                         r.error_code.empty() ? "forbidden" : r.error_code, route.pattern);
      e.details["method"] = req.method_text;
      if (auto refused = RecordOrRefuse(deps.audit, e)) return std::move(*refused);
    }
    return r;
  });

  const auto login = [deps](http::Request& req) {
    if (auto refused = RequireJson(req)) return std::move(*refused);
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auto slug = StringField(*body, "tenant");
    auto email = StringField(*body, "email");
    auto password = StringField(*body, "password");
    for (const Status* s : {&slug.status(), &email.status(), &password.status()}) {
      if (!s->ok()) return http::Response::Error(*s);
    }
    const Status wrong(StatusCode::kUnauthenticated, "email or password is wrong");
    // Input no account can have is answered at once and never kept by the throttle; what
    // was typed is not recorded (a password typed into the wrong field, say).
    if (!tenant::IsValidSlug(*slug) || !auth::IsValidEmail(*email) ||
        password->size() > 4 * crypto::kMaxPasswordChars) {
      return RefuseLogin(deps, LoginEvent(req, "auth.login", 0), "malformed",
                         http::Response::Error(wrong));
    }
    int64_t tenant_id = 0;
    if (auto t = deps.tenants.FindBySlug(*slug); t.ok()) {
      tenant_id = t->id;
    } else if (t.status().code() != StatusCode::kNotFound) {
      return http::Response::Error(t.status());
    }
    audit::Event attempt = LoginEvent(req, "auth.login", tenant_id);
    attempt.details = {{"tenant", *slug}, {"email", *email}};
    const std::string account = *slug + "/" + auth::EmailKey(*email);
    int64_t retry_after = 0;
    const std::string address = ThrottleAddress(req.remote_ip);
    if (Status s = deps.throttle.Check(account, address, &retry_after); !s.ok()) {
      return RefuseLogin(deps, attempt, "throttled", Throttled(s, retry_after));
    }
    auto user = deps.users.CheckCredentials(tenant_id, *email, *password, attempt);
    if (!user.ok()) {
      if (user.status().code() == StatusCode::kUnauthenticated) {
        deps.throttle.Failure(account, address);
      }
      return http::Response::Error(user.status());
    }
    deps.throttle.Success(account);
    auto settings = deps.settings.Get(user->tenant_id);
    if (!settings.ok()) return http::Response::Error(settings.status());
    attempt.actor.user_id = user->id;
    attempt.target = "user:" + std::to_string(user->id);
    // Only someone who knows the password learns that the address is the problem.
    if (!AddressAllowed(**settings, req.remote_ip)) {
      return RefuseLogin(deps, attempt, "ip_not_allowed", http::Response::Error(IpNotAllowed()));
    }
    if (user->totp_enabled) {
      auto challenge = deps.two_factor.StartChallenge(*user, attempt);
      if (!challenge.ok()) return http::Response::Error(challenge.status());
      auto r = http::Response::Json(200, {{"mfa_required", true}, {"mfa_token", *challenge}});
      r.headers.push_back({"Cache-Control", "no-store"});
      return r;
    }
    return SessionAnswer(deps, *user, *slug, **settings, attempt);
  };
  router.Add(http::Method::kPost, "/api/v1/auth/login", login, kCpuBound);

  router.Add(http::Method::kPost, "/api/v1/auth/mfa", [deps](http::Request& req) {
    if (auto refused = RequireJson(req)) return std::move(*refused);
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auto token = StringField(*body, "mfa_token");
    auto code = StringField(*body, "code");
    if (!token.ok()) return http::Response::Error(token.status());
    if (!code.ok()) return http::Response::Error(code.status());
    const Status refused(StatusCode::kUnauthenticated, "the code is wrong or the login expired");
    if (code->size() > 64) {
      return RefuseLogin(deps, LoginEvent(req, "auth.mfa", 0), "malformed",
                         http::Response::Error(refused));
    }
    // Wrong codes back off per address (the lenient policy: people share addresses and
    // no account is known before the lookup); per account, each challenge allows five
    // codes and every wrong one counts toward the account's lockout.
    const std::string address = ThrottleAddress(req.remote_ip);
    int64_t retry_after = 0;
    if (Status s = deps.throttle.Check("", address, &retry_after); !s.ok()) {
      return RefuseLogin(deps, LoginEvent(req, "auth.mfa", 0), "throttled",
                         Throttled(s, retry_after));
    }
    auto answered = deps.two_factor.AnswerChallenge(*token, *code, ActorOf(req));
    if (!answered.ok() || !answered->accepted) {
      if (!answered.ok() && answered.status().code() != StatusCode::kUnauthenticated) {
        return http::Response::Error(answered.status());
      }
      deps.throttle.Failure("", address);
      if (!answered.ok()) {  // no such challenge: nothing recorded it yet
        return RefuseLogin(deps, LoginEvent(req, "auth.mfa", 0), "unknown_challenge",
                           http::Response::Error(refused));
      }
      return http::Response::Error(refused);
    }
    auto user = deps.users.Find(answered->tenant_id, answered->user_id);
    if (!user.ok()) return http::Response::Error(user.status());
    audit::Event step = LoginEvent(req, "auth.mfa", user->tenant_id);
    step.actor.user_id = user->id;
    step.target = "user:" + std::to_string(user->id);
    step.details["factor"] =
        answered->factor == auth::SecondFactor::kRecoveryCode ? "recovery_code" : "totp";
    if (user->disabled) return RefuseLogin(deps, step, "disabled", http::Response::Error(refused));
    auto tenant = deps.tenants.FindById(user->tenant_id);
    if (!tenant.ok()) return http::Response::Error(tenant.status());
    auto settings = deps.settings.Get(user->tenant_id);
    if (!settings.ok()) return http::Response::Error(settings.status());
    if (!AddressAllowed(**settings, req.remote_ip)) {
      return RefuseLogin(deps, step, "ip_not_allowed", http::Response::Error(IpNotAllowed()));
    }
    return SessionAnswer(deps, *user, tenant->slug, **settings, step);
  });

  router.Add(http::Method::kPost, "/api/v1/auth/logout", [deps](http::Request& req) {
    if (Status s =
            deps.sessions.End(CookieValue(req.Header("Cookie"), kSessionCookie), ActorOf(req));
        !s.ok()) {
      return http::Response::Error(s);
    }
    http::Response r = NoContent();
    r.headers.push_back({"Set-Cookie", SessionCookie("", 0)});
    return r;
  });

  router.Add(http::Method::kGet, "/api/v1/me", [deps](http::Request& req) {
    const Principal* p = CallerOf(req);
    auto tenant = deps.tenants.FindById(p->user.tenant_id);
    if (!tenant.ok()) return http::Response::Error(tenant.status());
    nlohmann::json j{{"user", UserJson(p->user)},
                     {"tenant", tenant->slug},
                     {"tenant_id", p->user.tenant_id},
                     {"role", std::string(auth::RoleName(p->user.role))},
                     {"password_change_required", p->user.password_change_required}};
    if (p->token_id == 0) {  // a token's caller is its creator at the token's role
      j["two_factor_enabled"] = p->user.totp_enabled;
      j["two_factor_required"] = p->settings->require_2fa && !p->user.totp_enabled;
    } else {
      j["token_id"] = p->token_id;
    }
    return http::Response::Json(200, j);
  });

  const auto change_password = [deps](http::Request& req) {
    const Principal* p = CallerOf(req);
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auto current = StringField(*body, "current");
    auto fresh = StringField(*body, "new");
    if (!current.ok()) return http::Response::Error(current.status());
    if (!fresh.ok()) return http::Response::Error(fresh.status());
    // Guessing the current password through a borrowed session is throttled like logins.
    const std::string account = "password-change/" + std::to_string(p->user.id);
    const std::string address = ThrottleAddress(req.remote_ip);
    int64_t retry_after = 0;
    if (Status s = deps.throttle.Check(account, address, &retry_after); !s.ok()) {
      return Throttled(s, retry_after);
    }
    if (current->size() > 4 * crypto::kMaxPasswordChars) {
      return http::Response::Error(InvalidArgument("the current password is wrong"));
    }
    auto matches = deps.users.PasswordMatches(p->user.id, *current);
    if (!matches.ok()) return http::Response::Error(matches.status());
    if (!*matches) {
      deps.throttle.Failure(account, address);
      audit::Event e{.stream = audit::Stream::kAuth,
                     .action = "auth.password_change",
                     .target = "user:" + std::to_string(p->user.id)};
      e.actor = ActorOf(req);
      return RefuseLogin(deps, e, "wrong_password",
                         http::Response::Error(
                             Status(StatusCode::kPermissionDenied, "the current password is wrong")
                                 .WithReason("wrong_password")));
    }
    if (*fresh == *current) {
      return http::Response::Error(InvalidArgument("the new password must differ"));
    }
    if (Status s = deps.users.SetPassword(ActorOf(req), p->user.id, *fresh); !s.ok()) {
      return http::Response::Error(s);
    }
    if (Status s = deps.sessions.EndOthers(p->user.id, p->session_hash); !s.ok()) {
      return http::Response::Error(s);
    }
    return NoContent();
  };
  router.Add(http::Method::kPost, "/api/v1/me/password", change_password, kCpuBound);

  router.Add(http::Method::kGet, "/api/v1/users", [deps](http::Request& req) {
    auto users = deps.users.List(CallerOf(req)->user.tenant_id);
    if (!users.ok()) return http::Response::Error(users.status());
    auto list = nlohmann::json::array();
    for (const auto& u : *users) {
      auto j = UserJson(u);
      j["disabled"] = u.disabled;
      j["created_at"] = u.created_at;
      list.push_back(std::move(j));
    }
    return http::Response::Json(200, {{"users", list}});
  });

  const auto create_user = [deps](http::Request& req) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auto email = StringField(*body, "email");
    auto name = StringField(*body, "name");
    auto role_name = StringField(*body, "role");
    for (const Status* s : {&email.status(), &name.status(), &role_name.status()}) {
      if (!s->ok()) return http::Response::Error(*s);
    }
    const auto role = auth::ParseRole(*role_name);
    if (!role) {
      return http::Response::Error(
          InvalidArgument("\"role\" must be admin, manager, user or viewer"));
    }
    auto created =
        deps.users.Create(ActorOf(req), CallerOf(req)->user.tenant_id, *email, *name, *role);
    if (!created.ok()) return http::Response::Error(created.status());
    auto j = UserJson(created->first);
    j["one_time_password"] = created->second;
    j["password_change_required"] = true;
    auto r = http::Response::Json(201, j);
    r.headers.push_back({"Cache-Control", "no-store"});
    return r;
  };
  router.Add(http::Method::kPost, "/api/v1/users", create_user, kCpuBound);

  // Changes a user; a role change, disabling or a 2FA reset ends the user's sessions at
  // once.
  auto change_user = [deps](http::Request& req, const auth::UserService::Change& change,
                            bool reset_2fa) {
    const Principal* p = CallerOf(req);
    const int64_t id = ParseId(req.Param("id"));
    if (id == 0) return http::Response::Error(NotFound("no such user"));
    if (reset_2fa && id == p->user.id) {  // one's own 2FA goes off only with a code
      return http::Response::Error(
          Status(StatusCode::kConflict, "turn your own 2FA off with DELETE /api/v1/me/totp")
              .WithReason("own_two_factor"));
    }
    bool ends = false;
    auto updated = deps.users.Update(ActorOf(req), p->user.tenant_id, id, change, &ends);
    if (!updated.ok()) return http::Response::Error(updated.status());
    if (reset_2fa) {
      if (Status s = deps.two_factor.Reset(ActorOf(req), p->user.tenant_id, id); !s.ok()) {
        return http::Response::Error(s);
      }
    }
    if (ends || reset_2fa) {
      if (Status s = deps.sessions.EndOthers(id, ""); !s.ok()) return http::Response::Error(s);
    }
    auto j = UserJson(*updated);
    j["disabled"] = updated->disabled;
    if (reset_2fa) j["two_factor_enabled"] = false;
    return http::Response::Json(200, j);
  };

  router.Add(http::Method::kPatch, "/api/v1/users/{id}", [change_user](http::Request& req) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auth::UserService::Change change;
    bool reset_2fa = false;
    for (const auto& [key, value] : body->items()) {
      if (key == "role" && value.is_string()) {
        change.role = auth::ParseRole(value.get<std::string>());
        if (!change.role) {
          return http::Response::Error(
              InvalidArgument("\"role\" must be admin, manager, user or viewer"));
        }
      } else if (key == "disabled" && value.is_boolean()) {
        change.disabled = value.get<bool>();
      } else if (key == "name" && value.is_string()) {
        change.name = value.get<std::string>();
      } else if (key == "two_factor_enabled" && value.is_boolean() && !value.get<bool>()) {
        reset_2fa = true;  // an admin's reset for a user who lost every factor
      } else {
        return http::Response::Error(InvalidArgument("unknown or mistyped field \"" + key + "\""));
      }
    }
    return change_user(req, change, reset_2fa);
  });

  router.Add(http::Method::kDelete, "/api/v1/users/{id}", [change_user](http::Request& req) {
    auth::UserService::Change change;
    change.disabled = true;  // users stay as the authors of what they did; they cannot log in
    auto r = change_user(req, change, false);
    if (r.status == 200) {
      r.status = 204;
      r.body.clear();
    }
    return r;
  });

  router.Add(http::Method::kPost, "/api/v1/tokens", [deps](http::Request& req) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auto name = StringField(*body, "name");
    auto role_name = StringField(*body, "role");
    if (!name.ok()) return http::Response::Error(name.status());
    if (!role_name.ok()) return http::Response::Error(role_name.status());
    const auto role = auth::ParseRole(*role_name);
    if (!role) {
      return http::Response::Error(
          InvalidArgument("\"role\" must be admin, manager, user or viewer"));
    }
    const auto days = body->find("expires_in_days");
    if (days == body->end() || !days->is_number_integer()) {
      return http::Response::Error(InvalidArgument("\"expires_in_days\" must be an integer"));
    }
    const int64_t d = days->get<int64_t>();
    if (d < 1 || d > auth::TokenService::kMaxDays) {
      return http::Response::Error(InvalidArgument("\"expires_in_days\" must be 1-3650"));
    }
    auto created =
        deps.tokens.Create(ActorOf(req), CallerOf(req)->user, *name, *role, static_cast<int>(d));
    if (!created.ok()) return http::Response::Error(created.status());
    auto j = TokenJson(created->first);
    j["token"] = created->second;  // shown once
    auto r = http::Response::Json(201, j);
    r.headers.push_back({"Cache-Control", "no-store"});
    return r;
  });

  router.Add(http::Method::kGet, "/api/v1/tokens", [deps](http::Request& req) {
    auto tokens = deps.tokens.List(CallerOf(req)->user.tenant_id);
    if (!tokens.ok()) return http::Response::Error(tokens.status());
    auto list = nlohmann::json::array();
    for (const auto& t : *tokens) list.push_back(TokenJson(t));
    return http::Response::Json(200, {{"tokens", list}});
  });

  router.Add(http::Method::kDelete, "/api/v1/tokens/{id}", [deps](http::Request& req) {
    const int64_t id = ParseId(req.Param("id"));
    if (id == 0) return http::Response::Error(NotFound("no such token"));
    if (Status s = deps.tokens.Revoke(ActorOf(req), CallerOf(req)->user.tenant_id, id); !s.ok()) {
      return http::Response::Error(s);
    }
    return NoContent();
  });

  RegisterSecurityRoutes(router, deps);
}

}  // namespace pactum::api
