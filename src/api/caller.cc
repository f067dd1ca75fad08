#include "api/caller.h"

namespace pactum::api {

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

bool HasCredential(const http::Request& request) {
  return !request.Header("Authorization").empty() ||
         !CookieValue(request.Header("Cookie"), kSessionCookie).empty();
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

}  // namespace pactum::api
