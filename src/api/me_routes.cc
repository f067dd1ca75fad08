// The caller's own account: who am I, and changing one's password.

#include "api/routes.h"
#include "api/user_view.h"

namespace pactum::api {
namespace {

http::Response Me(const AuthDeps& deps, Call& call) {
  const Principal& p = call.caller();
  auto tenant = deps.tenants.FindById(p.user.tenant_id);
  if (!tenant.ok()) return http::Response::Error(tenant.status());
  nlohmann::json j{{"user", UserJson(p.user)},
                   {"tenant", tenant->slug},
                   {"tenant_id", p.user.tenant_id},
                   {"role", std::string(auth::RoleName(p.user.role))},
                   {"password_change_required", p.user.password_change_required}};
  if (p.token_id == 0) {  // a token's caller is its creator at the token's role
    j["two_factor_enabled"] = p.user.totp_enabled;
    j["two_factor_required"] = p.settings->require_2fa && !p.user.totp_enabled;
  } else {
    j["token_id"] = p.token_id;
  }
  return http::Response::Json(200, j);
}

http::Response ChangePassword(const AuthDeps& deps, Call& call) {
  const http::Request& req = call.request;
  const Principal& p = call.caller();
  const std::string current = call.body().String("current");
  const std::string fresh = call.body().String("new");
  // Guessing the current password through a borrowed session is throttled like logins.
  const std::string account = "password-change/" + std::to_string(p.user.id);
  const std::string address = ThrottleAddress(req.remote_ip);
  int64_t retry_after = 0;
  if (Status s = deps.throttle.Check(account, address, &retry_after); !s.ok()) {
    return Throttled(s, retry_after);
  }
  if (current.size() > 4 * crypto::kMaxPasswordChars) {
    return http::Response::Error(InvalidArgument("the current password is wrong"));
  }
  auto matches = deps.users.PasswordMatches(p.user.id, current);
  if (!matches.ok()) return http::Response::Error(matches.status());
  if (!*matches) {
    deps.throttle.Failure(account, address);
    audit::Event e{.stream = audit::Stream::kAuth,
                   .action = "auth.password_change",
                   .target = "user:" + std::to_string(p.user.id)};
    e.actor = call.actor();
    audit::MarkFailed(e, "wrong_password");
    if (auto refused = RecordOrRefuse(deps.audit, e)) return std::move(*refused);
    return http::Response::Error(
        Status(StatusCode::kPermissionDenied, "the current password is wrong")
            .WithReason("wrong_password"));
  }
  if (fresh == current) {
    return http::Response::Error(InvalidArgument("the new password must differ"));
  }
  if (Status s = deps.users.SetPassword(call.actor(), p.user.id, fresh); !s.ok()) {
    return http::Response::Error(s);
  }
  if (Status s = deps.sessions.EndOthers(p.user.id, p.session_hash); !s.ok()) {
    return http::Response::Error(s);
  }
  return NoContent();
}

}  // namespace

void AddMeEndpoints(EndpointTable& api) {
  const AuthDeps& deps = api.deps();
  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/me",
      .group = "Account",
      .summary = "The caller: user, tenant and role",
      .who = Who::kViewer,
      .before_password_change = true,
      .before_two_factor = true,
      .response = {{
          Field("user", Json::kObject).Required().Fields(UserFields()),
          Field("tenant", Json::kString).Required().Example(R"("acme")"),
          Field("tenant_id", Json::kInteger).Required(),
          Field("role", Json::kString)
              .Required()
              .OneOf(RoleNames())
              .Describe("for an API token: the token's role"),
          Field("password_change_required", Json::kBoolean).Required(),
          Field("two_factor_enabled", Json::kBoolean).Describe("sessions only"),
          Field("two_factor_required", Json::kBoolean).Describe("sessions only"),
          Field("token_id", Json::kInteger).Describe("API tokens only: the token used"),
      }},
      .handler = [&deps](Call& call) { return Me(deps, call); },
  });

  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/me/password",
      .group = "Account",
      .summary = "Change one's own password",
      .description = "Ends every other session of the user. The new password must be at least "
                     "12 characters and not common or easily guessed.",
      .who = Who::kViewer,
      .session_only = true,
      .before_password_change = true,
      .before_two_factor = true,
      .execution = http::Execution::kCpuBound,
      .body = BodyKind::kJson,
      .request = {{
          Field("current", Json::kString)
              .Required()
              .Format("password")
              .Describe("the password in use (or the one-time password)"),
          Field("new", Json::kString)
              .Required()
              .Format("password")
              .Describe("the new password")
              .Example(R"("violet staple orbit lantern")"),
      }},
      .success = 204,
      .errors = {{403, "wrong_password", "the current password is wrong"},
                 {400, "invalid_argument", "the new password is too weak or equals the current"},
                 {429, "rate_limited", "too many wrong current passwords"}},
      .audit = {"auth.password_change"},
      .handler = [&deps](Call& call) { return ChangePassword(deps, call); },
  });
}

}  // namespace pactum::api
