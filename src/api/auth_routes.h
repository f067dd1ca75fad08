#pragma once

// Authentication for the API (DESIGN §4): POST /api/v1/auth/login, POST
// /api/v1/auth/logout, GET /api/v1/me, POST /api/v1/me/password, and the middleware that
// every /api/v1 route passes: it resolves the session cookie, requires X-CSRF-Token on
// unsafe methods, confines a session whose password must change to the password
// endpoint, and puts the caller into Request::principal (an api::Principal).

#include "auth/login_throttle.h"
#include "auth/session_service.h"
#include "auth/user_service.h"
#include "http/router.h"
#include "tenant/tenant_service.h"

namespace pactum::api {

inline constexpr std::string_view kSessionCookie = "__Host-pactum_session";

struct Principal {
  auth::User user;
  std::string session_hash;  // raw SHA-256 of the session id
};

struct AuthDeps {
  tenant::TenantService& tenants;
  auth::UserService& users;
  auth::SessionService& sessions;
  auth::LoginThrottle& throttle;
};

// Registers the routes and the middleware (call before routes that need a caller).
void RegisterAuthRoutes(http::Router& router, AuthDeps deps);

// The caller of an authenticated route; nullptr on a public route.
const Principal* CallerOf(const http::Request& request);

}  // namespace pactum::api
