// Two-factor enrolment (POST /api/v1/me/totp, POST /api/v1/me/totp/confirm,
// DELETE /api/v1/me/totp) and the tenant's security settings (GET/PUT /api/v1/settings).

#include <nlohmann/json.hpp>

#include "api/auth_routes.h"
#include "api/route_util.h"

namespace pactum::api {
namespace {

// Applies the fields present in `body` onto `s`; any other field, or a wrong type, is an
// error naming the field.
Status ApplySettings(const nlohmann::json& body, tenant::TenantSettings& s) {
  for (const auto& [key, value] : body.items()) {
    Status mistyped = InvalidArgument("unknown or mistyped field \"" + key + "\"");
    if (key == "require_2fa" || key == "links_bound_to_session" || key == "ai_enabled") {
      if (!value.is_boolean()) return mistyped;
      bool& field = key == "require_2fa"              ? s.require_2fa
                    : key == "links_bound_to_session" ? s.links_bound_to_session
                                                      : s.ai_enabled;
      field = value.get<bool>();
    } else if (key == "session_minutes" || key == "session_max_hours" || key == "link_minutes") {
      if (!value.is_number_integer()) return mistyped;
      int64_t& field = key == "session_minutes"     ? s.session_minutes
                       : key == "session_max_hours" ? s.session_max_hours
                                                    : s.link_minutes;
      field = value.get<int64_t>();
    } else if (key == "ip_allowlist") {
      if (!value.is_array()) return mistyped;
      if (value.size() > tenant::TenantSettings::kMaxAllowlistEntries) {
        return InvalidArgument("\"ip_allowlist\" holds at most 100 networks");
      }
      std::vector<IpNetwork> networks;
      for (const auto& entry : value) {
        if (!entry.is_string()) return InvalidArgument("\"ip_allowlist\" holds CIDR strings");
        auto n = IpNetwork::Parse(entry.get<std::string>());
        if (!n.ok()) {
          return InvalidArgument("\"ip_allowlist\": " + entry.get<std::string>() +
                                 " is not an IPv4 or IPv6 network");
        }
        networks.push_back(*n);
      }
      s.ip_allowlist = std::move(networks);
    } else {
      return mistyped;
    }
  }
  return s.Validate();
}

// The code in a request body {code}; kInvalidArgument otherwise.
Result<std::string> CodeField(const http::Request& req) {
  auto body = http::ParseJsonObject(req.body);
  if (!body.ok()) return body.status();
  ASSIGN_OR_RETURN(std::string code, StringField(*body, "code"));
  if (code.size() > 64) return InvalidArgument("\"code\" is too long");
  return code;
}

}  // namespace

void RegisterSecurityRoutes(http::Router& router, AuthDeps deps) {
  router.Add(http::Method::kPost, "/api/v1/me/totp", [deps](http::Request& req) {
    const Principal* p = CallerOf(req);
    auto tenant = deps.tenants.FindById(p->user.tenant_id);
    if (!tenant.ok()) return http::Response::Error(tenant.status());
    auto e = deps.two_factor.Begin(p->user, "Pactum (" + tenant->slug + ")");
    if (!e.ok()) return http::Response::Error(e.status());
    auto r = http::Response::Json(
        200, {{"secret", e->secret}, {"otpauth_uri", e->otpauth_uri}, {"qr_svg", e->qr_svg}});
    r.headers.push_back({"Cache-Control", "no-store"});
    return r;
  });

  // Wrong codes while enrolling or turning 2FA off back off like password guesses.
  auto throttled = [deps](const http::Request& req, const std::string& account,
                          const std::function<Status()>& attempt) {
    const std::string address = ThrottleAddress(req.remote_ip);
    int64_t retry_after = 0;
    if (Status s = deps.throttle.Check(account, address, &retry_after); !s.ok()) {
      return std::optional<http::Response>(Throttled(s, retry_after));
    }
    const Status s = attempt();
    if (s.code() == StatusCode::kPermissionDenied) deps.throttle.Failure(account, address);
    if (!s.ok()) return std::optional<http::Response>(http::Response::Error(s));
    deps.throttle.Success(account);
    return std::optional<http::Response>();
  };

  router.Add(http::Method::kPost, "/api/v1/me/totp/confirm", [deps, throttled](http::Request& req) {
    const Principal* p = CallerOf(req);
    auto code = CodeField(req);
    if (!code.ok()) return http::Response::Error(code.status());
    std::vector<std::string> recovery;
    auto refused = throttled(req, "totp/" + std::to_string(p->user.id), [&]() -> Status {
      ASSIGN_OR_RETURN(recovery, deps.two_factor.Confirm(ActorOf(req), p->user, *code));
      return Status::Ok();
    });
    if (refused) return std::move(*refused);
    // A new second factor: every other session of the user ends.
    if (Status s = deps.sessions.EndOthers(p->user.id, p->session_hash); !s.ok()) {
      return http::Response::Error(s);
    }
    auto r = http::Response::Json(200, {{"recovery_codes", recovery}});
    r.headers.push_back({"Cache-Control", "no-store"});
    return r;
  });

  router.Add(http::Method::kDelete, "/api/v1/me/totp", [deps, throttled](http::Request& req) {
    const Principal* p = CallerOf(req);
    auto code = CodeField(req);
    if (!code.ok()) return http::Response::Error(code.status());
    auto refused = throttled(req, "totp/" + std::to_string(p->user.id),
                             [&] { return deps.two_factor.Disable(ActorOf(req), p->user, *code); });
    if (refused) return std::move(*refused);
    if (Status s = deps.sessions.EndOthers(p->user.id, p->session_hash); !s.ok()) {
      return http::Response::Error(s);
    }
    return NoContent();
  });

  router.Add(http::Method::kGet, "/api/v1/settings", [](http::Request& req) {
    return http::Response::Json(200, tenant::ToJson(*CallerOf(req)->settings));
  });

  // Changes the fields given; the others keep their values.
  router.Add(http::Method::kPut, "/api/v1/settings", [deps](http::Request& req) {
    const Principal* p = CallerOf(req);
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auto updated =
        deps.settings.Update(ActorOf(req), p->user.tenant_id,
                             [&](tenant::TenantSettings& s) { return ApplySettings(*body, s); });
    if (!updated.ok()) return http::Response::Error(updated.status());
    return http::Response::Json(200, tenant::ToJson(*updated));
  });
}

}  // namespace pactum::api
