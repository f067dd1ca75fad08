#include "api/auth_routes.h"

#include <nlohmann/json.hpp>

namespace pactum::api {
namespace {

bool IsPublic(const http::Route& route) {
  return !route.pattern.starts_with("/api/v1/") || route.pattern == "/api/v1/auth/login" ||
         route.pattern == "/api/v1/auth/mfa";
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

}  // namespace

const Principal* CallerOf(const http::Request& request) {
  return std::any_cast<Principal>(&request.principal);
}

void RegisterAuthRoutes(http::Router& router, AuthDeps deps) {
  router.Use([deps](http::Request& req, const http::Route& route,
                    const http::Next& next) -> http::Response {
    if (IsPublic(route)) return next(req);
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
    req.principal = Principal{session->user, session->id_hash};
    return next(req);
  });

  router.Add(http::Method::kPost, "/api/v1/auth/login", [deps](http::Request& req) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auto slug = StringField(*body, "tenant");
    auto email = StringField(*body, "email");
    auto password = StringField(*body, "password");
    for (const Status* s : {&slug.status(), &email.status(), &password.status()}) {
      if (!s->ok()) return http::Response::Error(*s);
    }
    int64_t tenant_id = 0;
    if (auto t = deps.tenants.FindBySlug(*slug); t.ok()) {
      tenant_id = t->id;
    } else if (t.status().code() != StatusCode::kNotFound) {
      return http::Response::Error(t.status());
    }
    const std::string account = *slug + "/" + auth::EmailKey(*email);
    int64_t retry_after = 0;
    if (Status s = deps.throttle.Check(account, req.remote_ip, &retry_after); !s.ok()) {
      auto r = http::Response::Error(s);
      r.headers.push_back({"Retry-After", std::to_string(retry_after)});
      return r;
    }
    auto user = deps.users.CheckCredentials(tenant_id, *email, *password);
    if (!user.ok()) {
      if (user.status().code() == StatusCode::kUnauthenticated) {
        deps.throttle.Failure(account, req.remote_ip);
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
  });

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

  router.Add(http::Method::kPost, "/api/v1/me/password", [deps](http::Request& req) {
    const Principal* p = CallerOf(req);
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auto current = StringField(*body, "current");
    auto fresh = StringField(*body, "new");
    if (!current.ok()) return http::Response::Error(current.status());
    if (!fresh.ok()) return http::Response::Error(fresh.status());
    auto matches = deps.users.PasswordMatches(p->user.id, *current);
    if (!matches.ok()) return http::Response::Error(matches.status());
    if (!*matches) {
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
  });
}

}  // namespace pactum::api
