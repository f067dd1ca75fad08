#include "api/auth_routes.h"

#include <arpa/inet.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "auth/policy.h"
#include "common/clock.h"

namespace pactum::api {
namespace {

// The routes anyone may call; every other route needs a session or a token.
bool IsPublic(const http::Route& route) {
  static constexpr std::string_view kPublic[] = {"/healthz", "/metrics", "/api/v1/auth/login",
                                                 "/api/v1/auth/mfa"};
  for (const std::string_view p : kPublic) {
    if (route.pattern == p) return true;
  }
  return false;
}

// The address a throttle counts: IPv4 as is, IPv6 by its /64 (one subscriber's prefix).
std::string ThrottleAddress(const std::string& ip) {
  in6_addr a{};
  if (ip.find(':') == std::string::npos || ::inet_pton(AF_INET6, ip.c_str(), &a) != 1) return ip;
  std::memset(&a.s6_addr[8], 0, 8);
  char out[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, &a, out, sizeof out);
  return std::string(out) + "/64";
}

// Routes a session may use while its password must be changed.
bool AllowedBeforePasswordChange(const http::Route& route) {
  return route.pattern == "/api/v1/me/password" || route.pattern == "/api/v1/me" ||
         route.pattern == "/api/v1/auth/logout";
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

Result<std::string> StringField(const nlohmann::json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || !it->is_string()) {
    return InvalidArgument(std::string("\"") + key + "\" must be a string");
  }
  return it->get<std::string>();
}

// A positive decimal id from a path parameter, or 0.
int64_t ParseId(std::string_view text) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    return 0;
  }
  return std::stoll(std::string(text));
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

}  // namespace

const Principal* CallerOf(const http::Request& request) {
  return std::any_cast<Principal>(&request.principal);
}

void RegisterAuthRoutes(http::Router& router, AuthDeps deps) {
  // Routes that hash a password (argon2id) run on the CPU pool, apart from the workers.
  const http::RouteOptions kCpuBound{.execution = http::Execution::kCpuBound};
  router.Use([deps](http::Request& req, const http::Route& route,
                    const http::Next& next) -> http::Response {
    if (IsPublic(route)) return next(req);
    Principal caller;
    const std::string_view authorization = req.Header("Authorization");
    if (!authorization.empty()) {  // an API client: a bearer token, no cookie, no CSRF
      if (!authorization.starts_with("Bearer ")) {
        return http::Response::Error(
            Status(StatusCode::kUnauthenticated, "authentication required"));
      }
      auto token = deps.tokens.Resolve(authorization.substr(7));
      if (!token.ok()) return http::Response::Error(token.status());
      if (route.pattern == "/api/v1/me/password") {
        return http::Response::Error(
            Status(StatusCode::kPermissionDenied, "a password is changed in a login session"));
      }
      caller = Principal{token->user, "", token->token_id};
    } else {
      auto session = deps.sessions.Resolve(CookieValue(req.Header("Cookie"), kSessionCookie));
      if (!session.ok()) return http::Response::Error(session.status());
      if (IsUnsafe(req.method) &&
          !auth::SessionService::CsrfMatches(*session, req.Header("X-CSRF-Token"))) {
        return http::Response::Error(
            Status(StatusCode::kPermissionDenied, "missing or wrong X-CSRF-Token")
                .WithReason("csrf_failed"));
      }
      if (session->user.password_change_required && !AllowedBeforePasswordChange(route)) {
        return http::Response::Error(
            Status(StatusCode::kPermissionDenied,
                   "the password must be changed first: POST /api/v1/me/password")
                .WithReason("password_change_required"));
      }
      caller = Principal{session->user, session->id_hash, 0};
    }
    // Default deny: a route the policy table does not list is refused to every role.
    const auto minimum = auth::MinimumRole(http::MethodName(req.method), route.pattern);
    if (!minimum || caller.user.role < *minimum) {
      auto r = http::Response::Error(
          Status(StatusCode::kPermissionDenied, "your role does not allow this"));
      if (!minimum) r.log_detail = "route missing from the policy table: " + route.pattern;
      return r;
    }
    req.principal = std::move(caller);
    return next(req);
  });

  const auto login = [deps](http::Request& req) {
    // JSON only: a cross-site form cannot send it without a CORS preflight (login CSRF).
    if (!req.Header("Content-Type").starts_with("application/json")) {
      return http::Response::Error(
          Status(StatusCode::kUnsupportedMediaType, "send the login as application/json"));
    }
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auto slug = StringField(*body, "tenant");
    auto email = StringField(*body, "email");
    auto password = StringField(*body, "password");
    for (const Status* s : {&slug.status(), &email.status(), &password.status()}) {
      if (!s->ok()) return http::Response::Error(*s);
    }
    const Status wrong(StatusCode::kUnauthenticated, "email or password is wrong");
    // Input no account can have is answered at once and never kept by the throttle.
    if (!tenant::IsValidSlug(*slug) || !auth::IsValidEmail(*email) ||
        password->size() > 4 * crypto::kMaxPasswordChars) {
      return http::Response::Error(wrong);
    }
    int64_t tenant_id = 0;
    if (auto t = deps.tenants.FindBySlug(*slug); t.ok()) {
      tenant_id = t->id;
    } else if (t.status().code() != StatusCode::kNotFound) {
      return http::Response::Error(t.status());
    }
    const std::string account = *slug + "/" + auth::EmailKey(*email);
    int64_t retry_after = 0;
    const std::string address = ThrottleAddress(req.remote_ip);
    if (Status s = deps.throttle.Check(account, address, &retry_after); !s.ok()) {
      auto r = http::Response::Error(s);
      r.headers.push_back({"Retry-After", std::to_string(retry_after)});
      return r;
    }
    auto user = deps.users.CheckCredentials(tenant_id, *email, *password);
    if (!user.ok()) {
      if (user.status().code() == StatusCode::kUnauthenticated) {
        deps.throttle.Failure(account, address);
      }
      return http::Response::Error(user.status());
    }
    deps.throttle.Success(account);
    auto tokens = deps.sessions.Start(user->tenant_id, user->id);
    if (!tokens.ok()) return http::Response::Error(tokens.status());
    auto r =
        http::Response::Json(200, {{"user", UserJson(*user)},
                                   {"tenant", *slug},
                                   {"csrf_token", tokens->csrf},
                                   {"password_change_required", user->password_change_required}});
    r.headers.push_back(
        {"Set-Cookie", SessionCookie(tokens->id, deps.sessions.lifetimes().absolute.count())});
    r.headers.push_back({"Cache-Control", "no-store"});
    return r;
  };
  router.Add(http::Method::kPost, "/api/v1/auth/login", login, kCpuBound);

  router.Add(http::Method::kPost, "/api/v1/auth/logout", [deps](http::Request& req) {
    if (Status s = deps.sessions.End(CookieValue(req.Header("Cookie"), kSessionCookie)); !s.ok()) {
      return http::Response::Error(s);
    }
    http::Response r;
    r.status = 204;
    r.headers.push_back({"Set-Cookie", SessionCookie("", 0)});
    return r;
  });

  router.Add(http::Method::kGet, "/api/v1/me", [](http::Request& req) {
    const Principal* p = CallerOf(req);
    return http::Response::Json(200,
                                {{"user", UserJson(p->user)},
                                 {"tenant_id", p->user.tenant_id},
                                 {"role", std::string(auth::RoleName(p->user.role))},
                                 {"password_change_required", p->user.password_change_required}});
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
      auto r = http::Response::Error(s);
      r.headers.push_back({"Retry-After", std::to_string(retry_after)});
      return r;
    }
    if (current->size() > 4 * crypto::kMaxPasswordChars) {
      return http::Response::Error(InvalidArgument("the current password is wrong"));
    }
    auto matches = deps.users.PasswordMatches(p->user.id, *current);
    if (!matches.ok()) return http::Response::Error(matches.status());
    if (!*matches) {
      deps.throttle.Failure(account, address);
      return http::Response::Error(
          Status(StatusCode::kPermissionDenied, "the current password is wrong")
              .WithReason("wrong_password"));
    }
    if (*fresh == *current) {
      return http::Response::Error(InvalidArgument("the new password must differ"));
    }
    if (Status s = deps.users.SetPassword(p->user.id, *fresh); !s.ok()) {
      return http::Response::Error(s);
    }
    if (Status s = deps.sessions.EndOthers(p->user.id, p->session_hash); !s.ok()) {
      return http::Response::Error(s);
    }
    http::Response r;
    r.status = 204;
    return r;
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
    auto created = deps.users.Create(CallerOf(req)->user.tenant_id, *email, *name, *role);
    if (!created.ok()) return http::Response::Error(created.status());
    auto j = UserJson(created->first);
    j["one_time_password"] = created->second;
    j["password_change_required"] = true;
    auto r = http::Response::Json(201, j);
    r.headers.push_back({"Cache-Control", "no-store"});
    return r;
  };
  router.Add(http::Method::kPost, "/api/v1/users", create_user, kCpuBound);

  // Changes a user; a role change or disabling ends the user's sessions at once.
  auto change_user = [deps](http::Request& req, const auth::UserService::Change& change) {
    const Principal* p = CallerOf(req);
    const int64_t id = ParseId(req.Param("id"));
    if (id == 0) return http::Response::Error(NotFound("no such user"));
    bool ends = false;
    auto updated = deps.users.Update(p->user.tenant_id, id, change, &ends);
    if (!updated.ok()) return http::Response::Error(updated.status());
    if (ends) {
      if (Status s = deps.sessions.EndOthers(id, ""); !s.ok()) return http::Response::Error(s);
    }
    auto j = UserJson(*updated);
    j["disabled"] = updated->disabled;
    return http::Response::Json(200, j);
  };

  router.Add(http::Method::kPatch, "/api/v1/users/{id}", [change_user](http::Request& req) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auth::UserService::Change change;
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
      } else {
        return http::Response::Error(InvalidArgument("unknown or mistyped field \"" + key + "\""));
      }
    }
    return change_user(req, change);
  });

  router.Add(http::Method::kDelete, "/api/v1/users/{id}", [change_user](http::Request& req) {
    auth::UserService::Change change;
    change.disabled = true;  // users stay as the authors of what they did; they cannot log in
    auto r = change_user(req, change);
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
    auto created = deps.tokens.Create(CallerOf(req)->user, *name, *role, static_cast<int>(d));
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
    if (Status s = deps.tokens.Revoke(CallerOf(req)->user.tenant_id, id); !s.ok()) {
      return http::Response::Error(s);
    }
    http::Response r;
    r.status = 204;
    return r;
  });
}

}  // namespace pactum::api
