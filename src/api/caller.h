#pragma once

// Who is calling the API: the session (cookie `__Host-pactum_session` + X-CSRF-Token on
// unsafe methods) or API token (`Authorization: Bearer`) a request carries, resolved into
// a Principal by the endpoint table (api/endpoint.h) before a handler runs, and the
// services authentication needs. Helpers the handlers share: the audit actor of a
// request, recording or refusing (fail closed), the owner rule, the IP allowlist.
//
// Tenant settings apply to every caller: requests of a tenant with an ip_allowlist are
// refused from other addresses (403 ip_not_allowed, also at login), and a tenant that
// requires 2FA confines sessions of users without it to enrolment (403
// two_factor_required). API tokens are machine credentials: 2FA does not apply to them,
// the allowlist does.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "audit/audit_sink.h"
#include "auth/login_throttle.h"
#include "auth/session_service.h"
#include "auth/token_service.h"
#include "auth/two_factor.h"
#include "auth/user_service.h"
#include "http/message.h"
#include "tenant/settings_service.h"
#include "tenant/tenant_service.h"

namespace pactum::api {

inline constexpr std::string_view kSessionCookie = "__Host-pactum_session";

struct Principal {
  auth::User user;           // for a token: its creator, at the token's role
  std::string session_hash;  // raw SHA-256 of the session id; empty for a token
  int64_t token_id = 0;      // the API token used, or 0 for a session
  std::shared_ptr<const tenant::TenantSettings> settings;  // the caller's tenant's
};

struct AuthDeps {
  tenant::TenantService& tenants;
  auth::UserService& users;
  auth::SessionService& sessions;
  auth::LoginThrottle& throttle;
  auth::TokenService& tokens;
  auth::TwoFactorService& two_factor;
  tenant::SettingsService& settings;
  audit::AuditSink& audit;  // refusals and reads; changes are recorded by the services
};

// The caller of an authenticated endpoint; nullptr on a public one.
const Principal* CallerOf(const http::Request& request);

// Who is asking, for the audit trail: the caller (tenant, user, token) when there is one,
// else anonymous; always the address, the request id and the user agent.
audit::Actor ActorOf(const http::Request& request);

// Records `event`; on failure the 503 to answer instead (fail closed).
std::optional<http::Response> RecordOrRefuse(audit::AuditSink& audit, const audit::Event& event);

// A `user` may only change what they own; managers and admins anything. The owner a
// service must require for `p`, or 0.
int64_t OnlyOwner(const Principal& p);

// What a caller authenticated with, for binding download links to it: "session:<raw
// hash>" or "token:<id>".
std::string CredentialOf(const Principal& p);

// The same for a request on a public route (a download): its valid session cookie or
// bearer token, or "" when it has none that is valid. Reads only; nothing is touched.
std::string CredentialOf(const AuthDeps& deps, const http::Request& request);

// Whether a request carries a credential at all (a bearer token or the session cookie),
// valid or not: a cheap check on the request head, before its body is read.
bool HasCredential(const http::Request& request);

// Whether the tenant's ip_allowlist admits `ip` (fail closed: an address that does not
// parse is admitted only where there is no allowlist).
bool AddressAllowed(const tenant::TenantSettings& settings, const std::string& ip);

// 403 ip_not_allowed.
Status IpNotAllowed();

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or "".
std::string_view CookieValue(std::string_view header, std::string_view name);

// The Set-Cookie value of the session cookie; max_age 0 clears it.
std::string SessionCookie(std::string_view value, int64_t max_age);

}  // namespace pactum::api
