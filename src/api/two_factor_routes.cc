// Two-factor enrolment of one's own account: begin (a TOTP secret and its QR code),
// confirm with a first code (ten recovery codes), turn off with a code.

#include "api/routes.h"

namespace pactum::api {
namespace {

// Wrong codes while enrolling or turning 2FA off back off like password guesses. The
// answer to give instead of going on, if any.
std::optional<http::Response> Throttle(const AuthDeps& deps, const http::Request& req,
                                       const std::string& account,
                                       const std::function<Status()>& attempt) {
  const std::string address = ThrottleAddress(req.remote_ip);
  int64_t retry_after = 0;
  if (Status s = deps.throttle.Check(account, address, &retry_after); !s.ok()) {
    return Throttled(s, retry_after);
  }
  const Status s = attempt();
  if (s.code() == StatusCode::kPermissionDenied) deps.throttle.Failure(account, address);
  if (!s.ok()) return http::Response::Error(s);
  deps.throttle.Success(account);
  return std::nullopt;
}

FieldSpec CodeField(std::string description) {
  return Field("code", Json::kString)
      .Required()
      .Max(64)
      .Describe(std::move(description))
      .Example(R"("123456")");
}

}  // namespace

void AddTwoFactorEndpoints(EndpointTable& api) {
  const AuthDeps& deps = api.deps();
  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/me/totp",
      .group = "Account",
      .summary = "Begin two-factor enrolment: a TOTP secret and its QR code",
      .description = "Nothing changes until the first code is confirmed.",
      .who = Who::kViewer,
      .session_only = true,
      .before_two_factor = true,
      .response = {{
          Field("secret", Json::kString).Required().Describe("base32, for typing in by hand"),
          Field("otpauth_uri", Json::kString).Required().Format("uri"),
          Field("qr_svg", Json::kString).Required().Describe("the otpauth URI as an SVG QR code"),
      }},
      .errors = {{409, "two_factor_active", "two-factor login is on already"}},
      .handler =
          [&deps](Call& call) {
            const Principal& p = call.caller();
            auto tenant = deps.tenants.FindById(p.user.tenant_id);
            if (!tenant.ok()) return http::Response::Error(tenant.status());
            auto e = deps.two_factor.Begin(p.user, "Pactum (" + tenant->slug + ")");
            if (!e.ok()) return http::Response::Error(e.status());
            auto r = http::Response::Json(
                200,
                {{"secret", e->secret}, {"otpauth_uri", e->otpauth_uri}, {"qr_svg", e->qr_svg}});
            r.headers.push_back({"Cache-Control", "no-store"});
            return r;
          },
  });

  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/me/totp/confirm",
      .group = "Account",
      .summary = "Confirm enrolment with a first code; returns ten recovery codes once",
      .description = "Every other session of the user ends.",
      .who = Who::kViewer,
      .session_only = true,
      .before_two_factor = true,
      .body = BodyKind::kJson,
      .request = {{CodeField("the current code of the authenticator app")}},
      .response = {{Field("recovery_codes", Json::kArray)
                        .Required()
                        .Describe("single-use codes for when the app is lost; shown once")}},
      .errors = {{403, "wrong_code", "the code is wrong or was used already"},
                 {409, "no_pending_enrolment", "no enrolment was begun"},
                 {429, "rate_limited", "too many wrong codes"}},
      .audit = {"auth.mfa_enrol"},
      .handler =
          [&deps](Call& call) {
            const Principal& p = call.caller();
            std::vector<std::string> recovery;
            auto refused =
                Throttle(deps, call.request, "totp/" + std::to_string(p.user.id), [&]() -> Status {
                  ASSIGN_OR_RETURN(recovery, deps.two_factor.Confirm(call.actor(), p.user,
                                                                     call.body().String("code")));
                  return Status::Ok();
                });
            if (refused) return std::move(*refused);
            // A new second factor: every other session of the user ends.
            if (Status s = deps.sessions.EndOthers(p.user.id, p.session_hash); !s.ok()) {
              return http::Response::Error(s);
            }
            auto r = http::Response::Json(200, {{"recovery_codes", recovery}});
            r.headers.push_back({"Cache-Control", "no-store"});
            return r;
          },
  });

  api.Add({
      .method = http::Method::kDelete,
      .path = "/api/v1/me/totp",
      .group = "Account",
      .summary = "Turn two-factor login off, with a current code",
      .who = Who::kViewer,
      .session_only = true,
      .body = BodyKind::kJson,
      .request = {{CodeField("a current code or a recovery code")}},
      .success = 204,
      .errors = {{403, "wrong_code", "the code is wrong or was used already"},
                 {409, "two_factor_off", "two-factor login is off"},
                 {429, "rate_limited", "too many wrong codes"}},
      .audit = {"auth.mfa_disable"},
      .handler =
          [&deps](Call& call) {
            const Principal& p = call.caller();
            auto refused = Throttle(deps, call.request, "totp/" + std::to_string(p.user.id), [&] {
              return deps.two_factor.Disable(call.actor(), p.user, call.body().String("code"));
            });
            if (refused) return std::move(*refused);
            if (Status s = deps.sessions.EndOthers(p.user.id, p.session_hash); !s.ok()) {
              return http::Response::Error(s);
            }
            return NoContent();
          },
  });
}

}  // namespace pactum::api
