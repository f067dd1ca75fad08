// Logging in and out (DESIGN §4): the password step, the second-factor step, logout.

#include "api/routes.h"
#include "api/user_view.h"

namespace pactum::api {
namespace {

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

// A started session, or the second step: the answer of both login steps.
ObjectSpec SessionFields() {
  return {{
      Field("user", Json::kObject).Fields(UserFields()).Describe("who logged in"),
      Field("tenant", Json::kString).Describe("the organisation's slug").Example(R"("acme")"),
      Field("csrf_token", Json::kString)
          .Describe("send as X-CSRF-Token with every unsafe request of this session"),
      Field("password_change_required", Json::kBoolean)
          .Describe("true after a one-time password: only POST /api/v1/me/password is open"),
      Field("two_factor_enabled", Json::kBoolean),
      Field("two_factor_required", Json::kBoolean)
          .Describe("the tenant requires 2FA and the user has none yet: enrol first"),
      Field("mfa_required", Json::kBoolean)
          .Describe("the password was right and a second factor is needed: POST "
                    "/api/v1/auth/mfa with mfa_token"),
      Field("mfa_token", Json::kString).Describe("names the pending login for the second step"),
  }};
}

http::Response Login(const AuthDeps& deps, Call& call) {
  const http::Request& req = call.request;
  const std::string slug = call.body().String("tenant");
  const std::string email = call.body().String("email");
  const std::string password = call.body().String("password");
  const Status wrong(StatusCode::kUnauthenticated, "email or password is wrong");
  // Input no account can have is answered at once and never kept by the throttle; what
  // was typed is not recorded (a password typed into the wrong field, say).
  if (!tenant::IsValidSlug(slug) || !auth::IsValidEmail(email) ||
      password.size() > 4 * crypto::kMaxPasswordChars) {
    return RefuseLogin(deps, LoginEvent(req, "auth.login", 0), "malformed",
                       http::Response::Error(wrong));
  }
  int64_t tenant_id = 0;
  if (auto t = deps.tenants.FindBySlug(slug); t.ok()) {
    tenant_id = t->id;
  } else if (t.status().code() != StatusCode::kNotFound) {
    return http::Response::Error(t.status());
  }
  audit::Event attempt = LoginEvent(req, "auth.login", tenant_id);
  attempt.details = {{"tenant", slug}, {"email", email}};
  const std::string account = slug + "/" + auth::EmailKey(email);
  int64_t retry_after = 0;
  const std::string address = ThrottleAddress(req.remote_ip);
  if (Status s = deps.throttle.Check(account, address, &retry_after); !s.ok()) {
    return RefuseLogin(deps, attempt, "throttled", Throttled(s, retry_after));
  }
  auto user = deps.users.CheckCredentials(tenant_id, email, password, attempt);
  if (!user.ok()) {
    if (user.status().code() == StatusCode::kUnauthenticated)
      deps.throttle.Failure(account, address);
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
  return SessionAnswer(deps, *user, slug, **settings, attempt);
}

http::Response SecondFactor(const AuthDeps& deps, Call& call) {
  const http::Request& req = call.request;
  const std::string token = call.body().String("mfa_token");
  const std::string code = call.body().String("code");
  const Status refused(StatusCode::kUnauthenticated, "the code is wrong or the login expired");
  if (code.size() > 64) {
    return RefuseLogin(deps, LoginEvent(req, "auth.mfa", 0), "malformed",
                       http::Response::Error(refused));
  }
  // Wrong codes back off per address (the lenient policy: people share addresses and no
  // account is known before the lookup); per account, each challenge allows five codes
  // and every wrong one counts toward the account's lockout.
  const std::string address = ThrottleAddress(req.remote_ip);
  int64_t retry_after = 0;
  if (Status s = deps.throttle.Check("", address, &retry_after); !s.ok()) {
    return RefuseLogin(deps, LoginEvent(req, "auth.mfa", 0), "throttled",
                       Throttled(s, retry_after));
  }
  auto answered = deps.two_factor.AnswerChallenge(token, code, ActorOf(req));
  if (!answered.ok() || !answered->accepted) {
    if (!answered.ok() && answered.status().code() != StatusCode::kUnauthenticated) {
      return http::Response::Error(answered.status());
    }
    deps.throttle.Failure("", address);
    if (!answered.ok()) {  // no such challenge: nothing recorded it yet
      return RefuseLogin(deps, LoginEvent(req, "auth.mfa", 0), "unknown_challenge",
                         http::Response::Error(refused));
    }
    // Wrong, or right but of a time step already used (then it says to wait for the next).
    return http::Response::Error(answered->refusal);
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
}

}  // namespace

void AddLoginEndpoints(EndpointTable& api) {
  const AuthDeps& deps = api.deps();
  // Password hashing (argon2id) runs on the CPU pool, apart from the workers.
  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/auth/login",
      .group = "Authentication",
      .summary = "Log in with the organisation, email and password",
      .description =
          "Starts a session (cookie __Host-pactum_session, Secure, HttpOnly, SameSite=Strict) "
          "and returns its CSRF token, or, for a user with two-factor login, an mfa_token for "
          "POST /api/v1/auth/mfa. Failures are throttled per account and per address.",
      .who = Who::kAnyone,
      .execution = http::Execution::kCpuBound,
      .body = BodyKind::kJson,
      .request = {{
          Field("tenant", Json::kString)
              .Required()
              .Describe("the organisation's slug")
              .Example(R"("acme")"),
          Field("email", Json::kString).Required().Format("email").Example(R"("ann@example.com")"),
          Field("password", Json::kString)
              .Required()
              .Format("password")
              .Example(R"("correct horse battery staple")"),
      }},
      .response = SessionFields(),
      .errors = {{401, "unauthenticated", "the email or password is wrong"},
                 {403, "ip_not_allowed", "the tenant's IP allowlist does not admit the address"},
                 {429, "rate_limited", "too many failures; Retry-After says when"}},
      .audit = {"auth.login"},
      .handler = [&deps](Call& call) { return Login(deps, call); },
  });

  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/auth/mfa",
      .group = "Authentication",
      .summary = "Complete a login with a TOTP code or a recovery code",
      .who = Who::kAnyone,
      .body = BodyKind::kJson,
      .request = {{
          Field("mfa_token", Json::kString).Required().Describe("from the login's answer"),
          Field("code", Json::kString)
              .Required()
              .Describe("the 6-digit code of the authenticator app, or a recovery code")
              .Example(R"("123456")"),
      }},
      .response = SessionFields(),
      .errors = {{401, "unauthenticated", "the code is wrong or the login expired"},
                 {401, "code_already_used", "this code was already used; wait for the next one"},
                 {429, "rate_limited", "too many wrong codes"}},
      .audit = {"auth.mfa"},
      .handler = [&deps](Call& call) { return SecondFactor(deps, call); },
  });

  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/auth/logout",
      .group = "Authentication",
      .summary = "End the session",
      .who = Who::kViewer,
      .before_password_change = true,
      .before_two_factor = true,
      .success = 204,
      .audit = {"auth.logout"},
      .handler =
          [&deps](Call& call) {
            if (Status s = deps.sessions.End(
                    CookieValue(call.request.Header("Cookie"), kSessionCookie), call.actor());
                !s.ok()) {
              return http::Response::Error(s);
            }
            http::Response r = NoContent();
            r.headers.push_back({"Set-Cookie", SessionCookie("", 0)});
            return r;
          },
  });
}

}  // namespace pactum::api
