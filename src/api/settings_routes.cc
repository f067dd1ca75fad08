// The tenant's security settings, for admins.

#include "api/routes.h"

namespace pactum::api {
namespace {

std::vector<FieldSpec> SettingsFields(bool answer) {
  auto f = [answer](FieldSpec spec) {
    return answer ? std::move(spec).Required() : std::move(spec);
  };
  return {
      f(Field("require_2fa", Json::kBoolean)
            .Describe("every user must log in with a second factor")
            .Example("true")),
      f(Field("ip_allowlist", Json::kArray)
            .Max(tenant::TenantSettings::kMaxAllowlistEntries)
            .Format("cidr")
            .Describe("networks (CIDR) the tenant is reached from; empty: anywhere")
            .Example(R"(["192.0.2.0/24", "2001:db8::/32"])")),
      f(Field("session_minutes", Json::kInteger)
            .Range(5, 1440)
            .Describe("idle lifetime of a session")
            .Example("60")),
      f(Field("session_max_hours", Json::kInteger)
            .Range(1, 720)
            .Describe("absolute lifetime of a session")
            .Example("12")),
      f(Field("link_minutes", Json::kInteger)
            .Range(1, 60)
            .Describe("lifetime of a download link")
            .Example("5")),
      f(Field("links_bound_to_session", Json::kBoolean)
            .Describe("a download link works only with the session or token that made it")
            .Example("true")),
      f(Field("ai_enabled", Json::kBoolean)
            .Describe("AI features may read this tenant's data")
            .Example("false")),
  };
}

// Applies the fields present in `body` onto `s` and validates the result.
Status ApplySettings(const Body& body, tenant::TenantSettings& s) {
  if (auto v = body.OptBool("require_2fa")) s.require_2fa = *v;
  if (auto v = body.OptBool("links_bound_to_session")) s.links_bound_to_session = *v;
  if (auto v = body.OptBool("ai_enabled")) s.ai_enabled = *v;
  if (auto v = body.OptInt("session_minutes")) s.session_minutes = *v;
  if (auto v = body.OptInt("session_max_hours")) s.session_max_hours = *v;
  if (auto v = body.OptInt("link_minutes")) s.link_minutes = *v;
  if (body.Has("ip_allowlist")) {
    std::vector<IpNetwork> networks;
    for (const auto& entry : body.Value("ip_allowlist")) {
      auto n = IpNetwork::Parse(entry.get<std::string>());
      if (!n.ok()) {
        const std::string text = entry.get<std::string>();
        return InvalidArgument("\"ip_allowlist\": " + text.substr(0, 64) +
                               " is not an IPv4 or IPv6 network");
      }
      networks.push_back(*n);
    }
    s.ip_allowlist = std::move(networks);
  }
  return s.Validate();
}

}  // namespace

void AddSettingsEndpoints(EndpointTable& api) {
  const AuthDeps& deps = api.deps();
  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/settings",
      .group = "Settings",
      .summary = "The tenant's security settings",
      .who = Who::kAdmin,
      .response = {SettingsFields(/*answer=*/true)},
      .handler =
          [](Call& call) {
            return http::Response::Json(200, tenant::ToJson(*call.caller().settings));
          },
  });

  api.Add({
      .method = http::Method::kPut,
      .path = "/api/v1/settings",
      .group = "Settings",
      .summary = "Change the tenant's security settings",
      .description = "Changes the fields given; the others keep their values. An allowlist that "
                     "would lock the caller out is refused.",
      .who = Who::kAdmin,
      .body = BodyKind::kJson,
      .request = {SettingsFields(/*answer=*/false)},
      .response = {SettingsFields(/*answer=*/true)},
      .audit = {"settings.update"},
      .handler =
          [&deps](Call& call) {
            auto updated = deps.settings.Update(
                call.actor(), call.caller().user.tenant_id,
                [&](tenant::TenantSettings& s) { return ApplySettings(call.body(), s); });
            if (!updated.ok()) return http::Response::Error(updated.status());
            return http::Response::Json(200, tenant::ToJson(*updated));
          },
  });
}

}  // namespace pactum::api
