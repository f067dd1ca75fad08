// The login flow over real HTTPS: sessions, cookie flags, CSRF, the first-login password
// change, logout, fixation, disabled users, and answers that do not reveal accounts.

#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/api_test.h"
#include "tests/support/recording_audit_sink.h"
#include "tests/support/tls_client.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

using AuthTest = ApiTest;

// argon2id work runs on the CPU pool, so a burst of logins never holds the workers.
TEST_F(AuthTest, RoutesThatHashPasswordsRunOnTheCpuPool) {
  std::set<std::string> cpu_bound;
  for (const auto& r : srv_.router.routes()) {
    if (r->options.execution == http::Execution::kCpuBound) {
      cpu_bound.insert(std::string(http::MethodName(r->method)) + " " + r->pattern);
    }
  }
  EXPECT_EQ(cpu_bound, (std::set<std::string>{"POST /api/v1/auth/login", "POST /api/v1/me/password",
                                              "POST /api/v1/users"}));
}

// The endpoint table's precheck is answered from the head: an unauthenticated upload of a
// large body, or JSON sent as something else, is refused before a byte of the body comes.
// (Had the server waited for the body, the client's 5 s read would end empty.)
TEST_F(AuthTest, RefusalsThatNeedNoBodyComeBeforeTheBody) {
  TlsClient anonymous;
  ASSERT_TRUE(anonymous.Connect(srv_.port()));
  const std::string r = anonymous.RoundTrip(
      "POST /api/v1/contracts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 1000000\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 401) << r;
  EXPECT_EQ(HeaderOf(r, "Connection"), "close");
  const auto ada = As("acme", "ada@example.com", auth::Role::kAdmin);
  TlsClient text;
  ASSERT_TRUE(text.Connect(srv_.port()));
  const std::string t =
      text.RoundTrip("POST /api/v1/contracts HTTP/1.1\r\nHost: x\r\n" + ada[0] + "\r\n" + ada[1] +
                     "\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 1000000\r\n\r\n");
  EXPECT_EQ(StatusOf(t), 415) << t;
}

TEST_F(AuthTest, LoginSetsAHardenedSessionCookieAndACsrfToken) {
  Login l = LogIn("acme", "ANN@example.com", ann_otp_);
  ASSERT_EQ(l.response.status, 200) << l.response.body;
  const std::string set = l.response.headers["set-cookie"];
  EXPECT_TRUE(set.starts_with("__Host-pactum_session=")) << set;
  for (const char* flag : {"; Path=/", "; Secure", "; HttpOnly", "; SameSite=Strict"}) {
    EXPECT_NE(set.find(flag), std::string::npos) << flag << " in " << set;
  }
  EXPECT_EQ(set.find("Domain"), std::string::npos);
  auto j = nlohmann::json::parse(l.response.body);
  EXPECT_EQ(j["user"]["email"], "ann@example.com");
  EXPECT_EQ(j["user"]["role"], "admin");
  EXPECT_EQ(j["password_change_required"], true);
  EXPECT_EQ(l.csrf.size(), 43U);
  EXPECT_EQ(l.response.headers["cache-control"], "no-store");
}

TEST_F(AuthTest, WrongCredentialsAreOneAnswerThatRevealsNothing) {
  const auto wrong_password = LogIn("acme", "ann@example.com", "not the password at all");
  const auto unknown_user = LogIn("acme", "nobody@example.com", "not the password at all");
  const auto unknown_tenant = LogIn("nope", "ann@example.com", ann_otp_);
  const auto other_tenant = LogIn("globex", "ann@example.com", ann_otp_);
  for (const auto* r : {&wrong_password, &unknown_user, &unknown_tenant, &other_tenant}) {
    EXPECT_EQ(r->response.status, 401);
    EXPECT_EQ(r->response.body, wrong_password.response.body);
    EXPECT_EQ(r->response.headers.count("set-cookie"), 0U);
  }
  EXPECT_EQ(Call("POST", "/api/v1/auth/login", "{\"tenant\":1}").status, 400);
  // A form post (what a cross-site page can send without a preflight) is refused.
  HttpRequest form;
  form.method = "POST";
  form.url = srv_.Url("/api/v1/auth/login");
  form.ca_file = srv_.ca_file;
  form.headers = {"Content-Type: text/plain"};
  form.body =
      nlohmann::json{{"tenant", "acme"}, {"email", "ann@example.com"}, {"password", ann_otp_}}
          .dump();
  auto refused = Perform(form);
  EXPECT_EQ(refused.status, 415);
  EXPECT_EQ(refused.headers.count("set-cookie"), 0U);
  // Oversized or impossible input is answered like any wrong password.
  EXPECT_EQ(LogIn("acme", std::string(5000, 'a') + "@example.com", "x").response.body,
            wrong_password.response.body);
  EXPECT_EQ(LogIn(std::string(5000, 'a'), "ann@example.com", "x").response.body,
            wrong_password.response.body);
  EXPECT_EQ(LogIn("acme", "ann@example.com", std::string(100000, 'p')).response.body,
            wrong_password.response.body);
  EXPECT_EQ(Call("POST", "/api/v1/auth/login", "not json").status, 400);
}

TEST_F(AuthTest, AOneTimePasswordSessionCanOnlyChangeThePassword) {
  Login l = LogIn("acme", "ann@example.com", ann_otp_);
  const std::vector<std::string> auth = {"Cookie: " + l.cookie, "X-CSRF-Token: " + l.csrf};
  auto blocked = Call("GET", "/api/v1/users", "", auth);
  EXPECT_EQ(blocked.status, 403);
  EXPECT_EQ(nlohmann::json::parse(blocked.body)["error"]["code"], "password_change_required");
  EXPECT_EQ(Call("GET", "/api/v1/me", "", auth).status, 200);
  // Policy and the current password are checked.
  for (const auto& [current, fresh, status] :
       std::vector<std::tuple<std::string, std::string, long>>{
           {ann_otp_, "short", 400},
           {ann_otp_, "abbreviations", 400},
           {ann_otp_, ann_otp_, 400},
           {"wrong current password", kNewPassword, 403}}) {
    EXPECT_EQ(Call("POST", "/api/v1/me/password",
                   nlohmann::json{{"current", current}, {"new", fresh}}.dump(), auth)
                  .status,
              status)
        << fresh;
  }
  ASSERT_EQ(Call("POST", "/api/v1/me/password",
                 nlohmann::json{{"current", ann_otp_}, {"new", kNewPassword}}.dump(), auth)
                .status,
            204);
  EXPECT_EQ(Call("GET", "/api/v1/users", "", auth).status, 200);
  // The one-time password is gone; the new one works.
  EXPECT_EQ(LogIn("acme", "ann@example.com", ann_otp_).response.status, 401);
  EXPECT_EQ(LogIn("acme", "ann@example.com", kNewPassword).response.status, 200);
}

TEST_F(AuthTest, UnsafeMethodsNeedTheSessionsCsrfToken) {
  Login a = Ready();
  Login b = LogIn("acme", "ann@example.com", kNewPassword);
  ASSERT_EQ(b.response.status, 200);
  const std::string path = "/api/v1/users/" + std::to_string(ann_id_);
  const std::string body = R"({"name":"Ann A."})";
  EXPECT_EQ(Call("PATCH", path, body, {"Cookie: " + a.cookie}).status, 403);
  auto wrong = Call("PATCH", path, body, {"Cookie: " + a.cookie, "X-CSRF-Token: " + b.csrf});
  EXPECT_EQ(wrong.status, 403) << "another session's token";
  EXPECT_EQ(nlohmann::json::parse(wrong.body)["error"]["code"], "csrf_failed");
  EXPECT_EQ(Call("PATCH", path, body, {"Cookie: " + a.cookie, "X-CSRF-Token: x"}).status, 403);
  EXPECT_EQ(Call("PATCH", path, body, {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf}).status,
            200);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + a.cookie}).status, 200)
      << "safe methods need no token";
}

TEST_F(AuthTest, SessionsAreNewAtEveryLoginEndAtLogoutAndExpire) {
  Login a = Ready();  // the password change ended no session of its own
  Login b = LogIn("acme", "ann@example.com", kNewPassword);
  EXPECT_NE(a.cookie, b.cookie) << "a new id at every login (no fixation)";
  // A cookie the server never issued is refused.
  EXPECT_EQ(Call("GET", "/api/v1/me", "",
                 {"Cookie: __Host-pactum_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
                .status,
            401);
  EXPECT_EQ(Call("GET", "/api/v1/me").status, 401);
  // Logout ends exactly that session.
  EXPECT_EQ(
      Call("POST", "/api/v1/auth/logout", "", {"Cookie: " + b.cookie, "X-CSRF-Token: " + b.csrf})
          .status,
      204);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + b.cookie}).status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + a.cookie}).status, 200);
  // Idle for an hour: over.
  clock_.Advance(std::chrono::minutes(61));
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + a.cookie}).status, 401);
}

TEST_F(AuthTest, AUserHasAtMostTwentySessionsAndTheLeastRecentlyUsedEndsFirst) {
  Login first = Ready();
  clock_.Advance(std::chrono::seconds(1));
  std::vector<Login> later;
  for (int i = 0; i < auth::SessionService::kMaxSessionsPerUser; ++i) {
    clock_.Advance(std::chrono::seconds(1));
    later.push_back(LogIn("acme", "ann@example.com", kNewPassword));
    ASSERT_EQ(later.back().response.status, 200);
  }
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + first.cookie}).status, 401)
      << "the twenty-first login ended the oldest session";
  for (const Login& l : later) {
    EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + l.cookie}).status, 200);
  }
}

TEST_F(AuthTest, APasswordChangeEndsTheUsersOtherSessions) {
  Login a = Ready();
  Login b = LogIn("acme", "ann@example.com", kNewPassword);
  ASSERT_EQ(
      Call("POST", "/api/v1/me/password",
           nlohmann::json{{"current", kNewPassword}, {"new", "another long passphrase"}}.dump(),
           {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf})
          .status,
      204);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + a.cookie}).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + b.cookie}).status, 401);
}

TEST_F(AuthTest, AnAddressGetsTwentyFailuresBeforeTheFirst429) {
  // docs/security.md: per source address 20 free failures (each account here fails once).
  for (int i = 0; i < 20; ++i) {
    const std::string email = "guess" + std::to_string(i) + "@example.com";
    ASSERT_EQ(LogIn("acme", email, "not the password at all").response.status, 401) << i;
  }
  const auto slowed = LogIn("acme", "guess20@example.com", "not the password at all");
  EXPECT_EQ(slowed.response.status, 429);
  EXPECT_EQ(slowed.response.headers.at("retry-after"), "1");
}

TEST_F(AuthTest, RepeatedFailuresBackOffAndTenLockTheAccountForFifteenMinutes) {
  Ready();
  // Back-off after three failures (docs/security.md), the same for an account that does
  // not exist.
  for (const char* email : {"ann@example.com", "nobody@example.com"}) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(LogIn("acme", email, "not the password at all").response.status, 401) << email;
    }
    auto slowed = LogIn("acme", email, kNewPassword);
    EXPECT_EQ(slowed.response.status, 429) << email;
    EXPECT_EQ(slowed.response.headers["retry-after"], "1");
    EXPECT_EQ(nlohmann::json::parse(slowed.response.body)["error"]["code"], "rate_limited");
  }
  // Ten consecutive failures (waiting out each back-off) lock the account.
  for (int i = 3; i < 10; ++i) {
    clock_.Advance(std::chrono::minutes(16));
    EXPECT_EQ(LogIn("acme", "ann@example.com", "not the password at all").response.status, 401);
  }
  clock_.Advance(std::chrono::minutes(3));  // past the back-off (128 s), well within the lock
  const auto locked = LogIn("acme", "ann@example.com", kNewPassword);
  EXPECT_EQ(locked.response.status, 401) << "locked: the right password does not open it";
  EXPECT_EQ(locked.response.body,
            LogIn("acme", "nobody@example.com", "whatever it is").response.body);
  clock_.Advance(std::chrono::minutes(15));
  EXPECT_EQ(LogIn("acme", "ann@example.com", kNewPassword).response.status, 200)
      << "the lock ends after fifteen minutes";
}

// Every endpoint x every kind of caller, against expectations written here and not
// derived from the policy table: a mistake in either fails.
TEST_F(AuthTest, EveryEndpointAnswersEveryCallerAsExpected) {
  const int64_t acme = tenants_->FindBySlug("acme")->id;
  const int64_t globex = tenants_->FindBySlug("globex")->id;
  auto make = [&](int64_t tenant, const std::string& email, auth::Role role) {
    auto u = users_->Create(testing_support::TestActor(), tenant, email, email, role);
    EXPECT_TRUE(u.ok());
    EXPECT_TRUE(users_->SetPassword(testing_support::TestActor(), u->first.id, kNewPassword).ok());
    return u->first.id;
  };
  const int64_t vera = make(acme, "vera@example.com", auth::Role::kViewer);
  make(acme, "uma@example.com", auth::Role::kUser);
  make(acme, "max@example.com", auth::Role::kManager);
  make(acme, "ada@example.com", auth::Role::kAdmin);
  make(globex, "bea@example.com", auth::Role::kAdmin);
  const std::string vera_path = "/api/v1/users/" + std::to_string(vera);
  struct Endpoint {
    std::string method, path, body;
  };
  const std::vector<Endpoint> endpoints = {
      {"GET", "/api/v1/me", ""},
      {"POST", "/api/v1/me/password", "{}"},
      {"GET", "/api/v1/users", ""},
      {"POST", "/api/v1/users", "{}"},
      {"GET", "/api/v1/tokens", ""},
      {"POST", "/api/v1/tokens", "{}"},
      {"DELETE", "/api/v1/tokens/999", ""},
      {"POST", "/api/v1/me/totp", ""},
      {"POST", "/api/v1/me/totp/confirm", "{}"},
      {"DELETE", "/api/v1/me/totp", "{}"},
      {"GET", "/api/v1/settings", ""},
      {"PUT", "/api/v1/settings", "{}"},
      {"GET", "/api/v1/custom-fields", ""},
      {"POST", "/api/v1/custom-fields", "{}"},
      {"DELETE", "/api/v1/custom-fields/nope", ""},
      {"PATCH", vera_path, R"({"name":"vera@example.com"})"},
      {"DELETE", vera_path, ""},
  };
  struct Caller {
    std::string name, tenant, email;
    std::vector<long> expected;  // one per endpoint
  };
  //  me, password, users GET/POST, tokens GET/POST/DELETE, totp POST/confirm/DELETE,
  //  settings GET/PUT, custom fields GET/POST/DELETE, user PATCH/DELETE
  const std::vector<Caller> callers = {
      {"anonymous",
       "",
       "",
       {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401}},
      {"viewer",
       "acme",
       "vera@example.com",
       {200, 400, 403, 403, 403, 403, 403, 200, 400, 400, 403, 403, 200, 403, 403, 403, 403}},
      {"user",
       "acme",
       "uma@example.com",
       {200, 400, 403, 403, 403, 403, 403, 200, 400, 400, 403, 403, 200, 403, 403, 403, 403}},
      {"manager",
       "acme",
       "max@example.com",
       {200, 400, 403, 403, 403, 403, 403, 200, 400, 400, 403, 403, 200, 403, 403, 403, 403}},
      {"admin of another tenant",
       "globex",
       "bea@example.com",
       {200, 400, 200, 400, 200, 400, 404, 200, 400, 400, 200, 200, 200, 400, 404, 404, 404}},
      {"admin",
       "acme",
       "ada@example.com",
       {200, 400, 200, 400, 200, 400, 404, 200, 400, 400, 200, 200, 200, 400, 404, 200, 204}},
  };
  for (const Caller& c : callers) {
    std::vector<std::string> headers;
    if (!c.email.empty()) {
      Login l = LogIn(c.tenant, c.email, kNewPassword);
      ASSERT_EQ(l.response.status, 200) << c.name << ": " << l.response.body;
      headers = {"Cookie: " + l.cookie, "X-CSRF-Token: " + l.csrf};
    }
    for (size_t i = 0; i < endpoints.size(); ++i) {
      const Endpoint& e = endpoints[i];
      EXPECT_EQ(Call(e.method, e.path, e.body, headers).status, c.expected[i])
          << c.name << " " << e.method << " " << e.path;
    }
  }
  // The admin's DELETE disabled Vera: her login now fails like any wrong password.
  EXPECT_EQ(LogIn("acme", "vera@example.com", kNewPassword).response.status, 401);
}

TEST_F(AuthTest, AdminsManageUsersOfTheirTenant) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  auto created = Call("POST", "/api/v1/users",
                      R"({"email":"Carl@Example.com","name":"Carl","role":"user"})", auth);
  ASSERT_EQ(created.status, 201) << created.body;
  auto j = nlohmann::json::parse(created.body);
  const std::string otp = j["one_time_password"];
  const int64_t carl = j["id"];
  EXPECT_EQ(j["role"], "user");
  EXPECT_EQ(Call("POST", "/api/v1/users",
                 R"({"email":"carl@example.com","name":"Carl 2","role":"user"})", auth)
                .status,
            409)
      << "same address, other case";
  EXPECT_EQ(
      Call("POST", "/api/v1/users", R"({"email":"x@example.com","name":"X","role":"root"})", auth)
          .status,
      400);
  auto list = nlohmann::json::parse(Call("GET", "/api/v1/users", "", auth).body)["users"];
  EXPECT_EQ(list.size(), 2U);
  // Carl logs in; a role change ends his session at once.
  Login c = LogIn("acme", "carl@example.com", otp);
  ASSERT_EQ(c.response.status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + c.cookie}).status, 200);
  auto promoted =
      Call("PATCH", "/api/v1/users/" + std::to_string(carl), R"({"role":"manager"})", auth);
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(nlohmann::json::parse(promoted.body)["role"], "manager");
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + c.cookie}).status, 401);
  // The last enabled admin cannot demote or disable herself.
  const std::string me = "/api/v1/users/" + std::to_string(ann_id_);
  auto last = Call("PATCH", me, R"({"role":"viewer"})", auth);
  EXPECT_EQ(last.status, 409);
  EXPECT_EQ(nlohmann::json::parse(last.body)["error"]["code"], "last_admin");
  EXPECT_EQ(Call("DELETE", me, "", auth).status, 409);
  // Junk ids and fields.
  for (const char* id : {"abc", "-1", "99999999999999999999", "0"}) {
    EXPECT_EQ(Call("PATCH", std::string("/api/v1/users/") + id, R"({"name":"x"})", auth).status,
              404)
        << id;
  }
  EXPECT_EQ(Call("PATCH", me, R"({"role":7})", auth).status, 400);
  EXPECT_EQ(Call("PATCH", me, R"({"password":"x"})", auth).status, 400);
}

TEST_F(AuthTest, ApiTokensActAtTheirRoleUntilRevokedExpiredOrTheirCreatorIsDisabled) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  auto make = [&](const std::string& role, int days) {
    auto r = Call(
        "POST", "/api/v1/tokens",
        nlohmann::json{{"name", "ci " + role}, {"role", role}, {"expires_in_days", days}}.dump(),
        auth);
    EXPECT_EQ(r.status, 201) << r.body;
    return nlohmann::json::parse(r.body);
  };
  auto user_token = make("user", 30);
  auto admin_token = make("admin", 1);
  const std::string secret = user_token["token"];
  EXPECT_TRUE(secret.starts_with("pct_"));
  EXPECT_EQ(secret.size(), 47U);
  const std::string bearer = "Authorization: Bearer " + secret;
  const std::string admin_bearer = "Authorization: Bearer " + std::string(admin_token["token"]);
  auto me = Call("GET", "/api/v1/me", "", {bearer});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(nlohmann::json::parse(me.body)["role"], "user");
  EXPECT_EQ(Call("GET", "/api/v1/users", "", {bearer}).status, 403) << "the token's role";
  EXPECT_EQ(Call("GET", "/api/v1/users", "", {admin_bearer}).status, 200);
  EXPECT_EQ(
      Call("PATCH", "/api/v1/users/" + std::to_string(ann_id_), R"({"name":"Ann"})", {admin_bearer})
          .status,
      200)
      << "no CSRF token for bearer calls";
  EXPECT_EQ(Call("POST", "/api/v1/me/password", "{}", {admin_bearer}).status, 403);
  // The list never shows secrets.
  auto list = Call("GET", "/api/v1/tokens", "", auth);
  EXPECT_EQ(list.body.find(secret), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(list.body)["tokens"].size(), 2U);
  EXPECT_FALSE(nlohmann::json::parse(list.body)["tokens"][0]["last_used_at"].is_null());
  // Malformed or unknown bearers.
  for (const std::string& h : {std::string("Authorization: Bearer pct_nope"),
                               std::string("Authorization: Basic YWxhZGRpbjpvcGVu"),
                               "Authorization: Bearer pct_" + std::string(43, 'A')}) {
    EXPECT_EQ(Call("GET", "/api/v1/me", "", {h}).status, 401) << h;
  }
  EXPECT_EQ(
      Call("POST", "/api/v1/tokens", R"({"name":"x","role":"user","expires_in_days":0})", auth)
          .status,
      400);
  // Revoked: refused at once.
  const int64_t user_token_id = user_token["id"];
  ASSERT_EQ(Call("DELETE", "/api/v1/tokens/" + std::to_string(user_token_id), "", auth).status,
            204);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {bearer}).status, 401);
  // Expired after its day.
  clock_.Advance(std::chrono::hours(25));
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {admin_bearer}).status, 401);
}

TEST_F(AuthTest, ATokenNeverOutranksItsCreatorAndDiesWithTheCreatorsAccount) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  auto made = Call("POST", "/api/v1/users",
                   R"({"email":"eve@example.com","name":"Eve","role":"admin"})", auth);
  ASSERT_EQ(made.status, 201);
  const int64_t eve = nlohmann::json::parse(made.body)["id"];
  ASSERT_TRUE(users_->SetPassword(testing_support::TestActor(), eve, kNewPassword).ok());
  Login e = LogIn("acme", "eve@example.com", kNewPassword);
  auto token =
      Call("POST", "/api/v1/tokens", R"({"name":"eve's","role":"admin","expires_in_days":30})",
           {"Cookie: " + e.cookie, "X-CSRF-Token: " + e.csrf});
  ASSERT_EQ(token.status, 201);
  const std::string bearer =
      "Authorization: Bearer " + std::string(nlohmann::json::parse(token.body)["token"]);
  EXPECT_EQ(Call("GET", "/api/v1/users", "", {bearer}).status, 200);
  // Eve demoted to viewer: her admin token acts as a viewer.
  ASSERT_EQ(
      Call("PATCH", "/api/v1/users/" + std::to_string(eve), R"({"role":"viewer"})", auth).status,
      200);
  EXPECT_EQ(Call("GET", "/api/v1/users", "", {bearer}).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {bearer}).status, 200);
  // A viewer cannot mint tokens at all, let alone above her role.
  Login v = LogIn("acme", "eve@example.com", kNewPassword);
  EXPECT_EQ(Call("POST", "/api/v1/tokens", R"({"name":"x","role":"admin","expires_in_days":1})",
                 {"Cookie: " + v.cookie, "X-CSRF-Token: " + v.csrf})
                .status,
            403);
  // Eve disabled: the token stops at once.
  ASSERT_EQ(Call("DELETE", "/api/v1/users/" + std::to_string(eve), "", auth).status, 204);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {bearer}).status, 401);
}

TEST_F(AuthTest, ADisabledUsersSessionStopsWorkingAtOnce) {
  Login a = Ready();
  ASSERT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + a.cookie}).status, 200);
  ASSERT_TRUE(
      db_->Write([&](store::Session& s) {
           return s.Execute("UPDATE users SET disabled = 1 WHERE id = $1", {ann_id_}).status();
         })
          .ok());
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + a.cookie}).status, 401);
  EXPECT_EQ(LogIn("acme", "ann@example.com", kNewPassword).response.status, 401);
}

// Enrols the session's user in 2FA; returns {secret, recovery codes}.
std::pair<std::string, std::vector<std::string>> EnrolOver(
    const std::function<HttpResponse(const std::string&, const std::string&, const std::string&)>&
        call,
    const std::function<std::string(const std::string&)>& code_for) {
  auto begun = call("POST", "/api/v1/me/totp", "");
  EXPECT_EQ(begun.status, 200) << begun.body;
  const auto j = nlohmann::json::parse(begun.body);
  const std::string secret = j["secret"];
  auto confirmed =
      call("POST", "/api/v1/me/totp/confirm", nlohmann::json{{"code", code_for(secret)}}.dump());
  EXPECT_EQ(confirmed.status, 200) << confirmed.body;
  return {secret, nlohmann::json::parse(confirmed.body)["recovery_codes"]};
}

TEST_F(AuthTest, TwoFactorLoginNeedsTheCodeStepAndRefusesReplays) {
  Login a = Ready();
  Login other = LogIn("acme", "ann@example.com", kNewPassword);
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  auto call = [&](const std::string& m, const std::string& p, const std::string& b) {
    return Call(m, p, b, auth);
  };
  auto begun = call("POST", "/api/v1/me/totp", "");
  ASSERT_EQ(begun.status, 200) << begun.body;
  const auto enrolment = nlohmann::json::parse(begun.body);
  const std::string secret = enrolment["secret"];
  EXPECT_NE(std::string(enrolment["otpauth_uri"]).find("issuer=Pactum%20%28acme%29"),
            std::string::npos)
      << enrolment["otpauth_uri"];
  EXPECT_TRUE(std::string(enrolment["qr_svg"]).starts_with("<svg"));
  EXPECT_EQ(begun.headers["cache-control"], "no-store");
  // Not active before it is confirmed: the password alone still logs in.
  EXPECT_EQ(LogIn("acme", "ann@example.com", kNewPassword).response.headers.count("set-cookie"),
            1U);
  auto bad = call("POST", "/api/v1/me/totp/confirm", nlohmann::json{{"code", "12"}}.dump());
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(nlohmann::json::parse(bad.body)["error"]["code"], "wrong_code");
  auto confirmed =
      call("POST", "/api/v1/me/totp/confirm", nlohmann::json{{"code", Totp(secret)}}.dump());
  ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  const auto recovery = nlohmann::json::parse(confirmed.body)["recovery_codes"];
  ASSERT_EQ(recovery.size(), 10U);
  // Turning 2FA on ended the other session, not this one.
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + other.cookie}).status, 401);
  auto me = nlohmann::json::parse(Call("GET", "/api/v1/me", "", auth).body);
  EXPECT_EQ(me["two_factor_enabled"], true);
  EXPECT_EQ(me["tenant"], "acme");
  EXPECT_EQ(me["role"], "admin");

  // The password step gives a challenge, never a session.
  clock_.Advance(std::chrono::seconds(30));
  Login step1 = LogIn("acme", "ann@example.com", kNewPassword);
  ASSERT_EQ(step1.response.status, 200);
  EXPECT_EQ(step1.response.headers.count("set-cookie"), 0U);
  auto challenge = nlohmann::json::parse(step1.response.body);
  EXPECT_EQ(challenge["mfa_required"], true);
  EXPECT_FALSE(challenge.contains("csrf_token"));
  const std::string token = challenge["mfa_token"];
  auto mfa = [&](const std::string& t, const std::string& code) {
    return Call("POST", "/api/v1/auth/mfa",
                nlohmann::json{{"mfa_token", t}, {"code", code}}.dump());
  };
  EXPECT_EQ(mfa(token, "000000").status, 401);
  const std::string code = Totp(secret);
  auto done = mfa(token, code);
  ASSERT_EQ(done.status, 200) << done.body;
  const std::string cookie = done.headers["set-cookie"];
  EXPECT_TRUE(cookie.starts_with("__Host-pactum_session="));
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos);
  const std::string csrf = nlohmann::json::parse(done.body)["csrf_token"];
  EXPECT_EQ(Call("GET", "/api/v1/users", "",
                 {"Cookie: " + cookie.substr(0, cookie.find(';')), "X-CSRF-Token: " + csrf})
                .status,
            200);
  EXPECT_EQ(mfa(token, Totp(secret, 1)).status, 401) << "a challenge is used once";
  // The same code in a new login, within its 30 s: a replay.
  Login again = LogIn("acme", "ann@example.com", kNewPassword);
  const std::string token2 = nlohmann::json::parse(again.response.body)["mfa_token"];
  auto replay = mfa(token2, code);
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(replay.headers.count("set-cookie"), 0U);
  // A recovery code works once.
  EXPECT_EQ(mfa(token2, recovery[0]).status, 200);
  Login third = LogIn("acme", "ann@example.com", kNewPassword);
  const std::string token3 = nlohmann::json::parse(third.response.body)["mfa_token"];
  EXPECT_EQ(mfa(token3, recovery[0]).status, 401) << "recovery code reuse";
  EXPECT_EQ(mfa(token3, recovery[1]).status, 200);
  // A challenge expires.
  Login late = LogIn("acme", "ann@example.com", kNewPassword);
  clock_.Advance(std::chrono::minutes(6));
  EXPECT_EQ(mfa(nlohmann::json::parse(late.response.body)["mfa_token"], Totp(secret)).status, 401);
  EXPECT_EQ(Call("POST", "/api/v1/auth/mfa", "{\"mfa_token\":1}").status, 400);
}

TEST_F(AuthTest, WrongSecondFactorsLockTheAccountEvenWithTheRightPassword) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  const std::string secret = EnrolOver([&](const std::string& m, const std::string& p,
                                           const std::string& b) { return Call(m, p, b, auth); },
                                       [&](const std::string& s) { return Totp(s); })
                                 .first;
  // Ten wrong codes over fresh challenges (the right password each time) lock the account.
  for (int i = 0; i < auth::UserService::kLockoutFailures; ++i) {
    clock_.Advance(std::chrono::minutes(16));  // past any throttle back-off
    Login l = LogIn("acme", "ann@example.com", kNewPassword);
    ASSERT_EQ(l.response.status, 200) << i << ": " << l.response.body;
    const std::string t = nlohmann::json::parse(l.response.body)["mfa_token"];
    EXPECT_EQ(Call("POST", "/api/v1/auth/mfa",
                   nlohmann::json{{"mfa_token", t}, {"code", "000000"}}.dump())
                  .status,
              401);
  }
  clock_.Advance(std::chrono::minutes(1));
  EXPECT_EQ(LogIn("acme", "ann@example.com", kNewPassword).response.status, 401) << "locked";
  // After the lock, the password and a right code log in (and start the count over).
  clock_.Advance(std::chrono::minutes(15));
  Login l = LogIn("acme", "ann@example.com", kNewPassword);
  ASSERT_EQ(l.response.status, 200);
  const std::string t = nlohmann::json::parse(l.response.body)["mfa_token"];
  EXPECT_EQ(Call("POST", "/api/v1/auth/mfa",
                 nlohmann::json{{"mfa_token", t}, {"code", Totp(secret)}}.dump())
                .status,
            200);
}

TEST_F(AuthTest, DisablingTwoFactorNeedsACodeAndAnAdminCanResetIt) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  auto call = [&](const std::string& m, const std::string& p, const std::string& b) {
    return Call(m, p, b, auth);
  };
  auto [secret, recovery] = EnrolOver(call, [&](const std::string& s) { return Totp(s); });
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_EQ(call("DELETE", "/api/v1/me/totp", R"({"code":"000000"})").status, 403);
  EXPECT_EQ(call("POST", "/api/v1/me/totp", "").status, 409) << "already on";
  ASSERT_EQ(call("DELETE", "/api/v1/me/totp", nlohmann::json{{"code", Totp(secret)}}.dump()).status,
            204);
  EXPECT_EQ(LogIn("acme", "ann@example.com", kNewPassword).response.headers.count("set-cookie"), 1U)
      << "back to password-only login";
  // An admin resets another admin's lost 2FA.
  auto made =
      call("POST", "/api/v1/users", R"({"email":"bob@example.com","name":"Bob","role":"admin"})");
  const int64_t bob = nlohmann::json::parse(made.body)["id"];
  ASSERT_TRUE(users_->SetPassword(testing_support::TestActor(), bob, kNewPassword).ok());
  Login b = LogIn("acme", "bob@example.com", kNewPassword);
  EnrolOver(
      [&](const std::string& m, const std::string& p, const std::string& body) {
        return Call(m, p, body, {"Cookie: " + b.cookie, "X-CSRF-Token: " + b.csrf});
      },
      [&](const std::string& s) { return Totp(s, 1); });
  EXPECT_TRUE(nlohmann::json::parse(LogIn("acme", "bob@example.com", kNewPassword).response.body)
                  .contains("mfa_token"));
  EXPECT_EQ(call("PATCH", "/api/v1/users/" + std::to_string(bob), R"({"two_factor_enabled":true})")
                .status,
            400)
      << "an admin can only turn it off";
  // A refused change (Bob keeps a name of at most 200 bytes) resets nothing.
  EXPECT_EQ(
      call("PATCH", "/api/v1/users/" + std::to_string(bob),
           nlohmann::json{{"two_factor_enabled", false}, {"name", std::string(201, 'b')}}.dump())
          .status,
      400);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + b.cookie}).status, 200);
  EXPECT_TRUE(nlohmann::json::parse(LogIn("acme", "bob@example.com", kNewPassword).response.body)
                  .contains("mfa_token"));
  // Nobody resets her own 2FA this way: that needs a code (DELETE /api/v1/me/totp).
  auto own =
      Call("PATCH", "/api/v1/users/" + std::to_string(bob), R"({"two_factor_enabled":false})",
           {"Cookie: " + b.cookie, "X-CSRF-Token: " + b.csrf});
  EXPECT_EQ(own.status, 409);
  EXPECT_EQ(nlohmann::json::parse(own.body)["error"]["code"], "own_two_factor");
  ASSERT_EQ(call("PATCH", "/api/v1/users/" + std::to_string(bob), R"({"two_factor_enabled":false})")
                .status,
            200);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {"Cookie: " + b.cookie}).status, 401)
      << "a 2FA reset ends the user's sessions";
  EXPECT_EQ(LogIn("acme", "bob@example.com", kNewPassword).response.headers.count("set-cookie"),
            1U);
}

TEST_F(AuthTest, TheAllowlistAppliesToTheCodeStepToo) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  const std::string secret = EnrolOver([&](const std::string& m, const std::string& p,
                                           const std::string& b) { return Call(m, p, b, auth); },
                                       [&](const std::string& s) { return Totp(s); })
                                 .first;
  Login step1 = LogIn("acme", "ann@example.com", kNewPassword);
  const std::string token = nlohmann::json::parse(step1.response.body)["mfa_token"];
  // Between the two steps the tenant's allowlist changes to exclude this address.
  tenant::TenantSettings s;
  s.ip_allowlist = {IpNetwork::Parse("192.0.2.0/24").value()};
  ASSERT_TRUE(
      settings_->Put(testing_support::TestActor(), tenants_->FindBySlug("acme")->id, s).ok());
  auto refused = Call("POST", "/api/v1/auth/mfa",
                      nlohmann::json{{"mfa_token", token}, {"code", Totp(secret, 1)}}.dump());
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(nlohmann::json::parse(refused.body)["error"]["code"], "ip_not_allowed");
  EXPECT_EQ(refused.headers.count("set-cookie"), 0U);
}

TEST_F(AuthTest, ATenantThatRequiresTwoFactorConfinesUsersUntilTheyEnrol) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  auto token =
      Call("POST", "/api/v1/tokens", R"({"name":"ci","role":"admin","expires_in_days":1})", auth);
  const std::string bearer =
      "Authorization: Bearer " + std::string(nlohmann::json::parse(token.body)["token"]);
  auto put = Call("PUT", "/api/v1/settings", R"({"require_2fa":true})", auth);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(nlohmann::json::parse(put.body)["require_2fa"], true);
  auto blocked = Call("GET", "/api/v1/users", "", auth);
  EXPECT_EQ(blocked.status, 403);
  EXPECT_EQ(nlohmann::json::parse(blocked.body)["error"]["code"], "two_factor_required");
  EXPECT_EQ(nlohmann::json::parse(Call("GET", "/api/v1/me", "", auth).body)["two_factor_required"],
            true);
  EXPECT_EQ(Call("GET", "/api/v1/users", "", {bearer}).status, 200) << "tokens are exempt";
  Login fresh = LogIn("acme", "ann@example.com", kNewPassword);
  EXPECT_EQ(nlohmann::json::parse(fresh.response.body)["two_factor_required"], true);
  EnrolOver([&](const std::string& m, const std::string& p,
                const std::string& b) { return Call(m, p, b, auth); },
            [&](const std::string& s) { return Totp(s); });
  EXPECT_EQ(Call("GET", "/api/v1/users", "", auth).status, 200);
  // Another tenant is not affected.
  EXPECT_FALSE(settings_->Get(tenants_->FindBySlug("globex")->id).value()->require_2fa);
}

TEST_F(AuthTest, SettingsAreValidatedAndSessionLifetimesFollowThem) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  auto defaults = nlohmann::json::parse(Call("GET", "/api/v1/settings", "", auth).body);
  EXPECT_EQ(defaults["require_2fa"], false);
  EXPECT_EQ(defaults["ip_allowlist"], nlohmann::json::array());
  EXPECT_EQ(defaults["session_minutes"], 60);
  EXPECT_EQ(defaults["link_minutes"], 5);
  EXPECT_EQ(defaults["links_bound_to_session"], true);
  EXPECT_EQ(defaults["ai_enabled"], false);
  for (const char* body :
       {R"({"session_minutes":4})", R"({"session_minutes":"60"})", R"({"link_minutes":61})",
        R"({"ip_allowlist":["nope"]})", R"({"ip_allowlist":"10.0.0.0/8"})",
        R"({"ip_allowlist":["10.0.0.0/33"]})", R"({"color":"blue"})", R"({"ai_enabled":1})",
        R"([])"}) {
    EXPECT_EQ(Call("PUT", "/api/v1/settings", body, auth).status, 400) << body;
  }
  auto put = Call("PUT", "/api/v1/settings",
                  R"({"session_minutes":5,"ai_enabled":true,
                      "ip_allowlist":["127.0.0.1","10.1.2.3/8","2001:DB8::/32"]})",
                  auth);
  ASSERT_EQ(put.status, 200) << put.body;
  auto now = nlohmann::json::parse(Call("GET", "/api/v1/settings", "", auth).body);
  EXPECT_EQ(now["session_minutes"], 5);
  EXPECT_EQ(now["ai_enabled"], true);
  EXPECT_EQ(now["link_minutes"], 5) << "fields not given keep their values";
  EXPECT_EQ(now["ip_allowlist"],
            nlohmann::json::array({"127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32"}));
  // A shorter idle lifetime applies to the live session.
  clock_.Advance(std::chrono::minutes(6));
  EXPECT_EQ(Call("GET", "/api/v1/me", "", auth).status, 401);
}

TEST_F(AuthTest, AnIpAllowlistRefusesSessionsTokensAndLoginsFromOtherAddresses) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  auto token =
      Call("POST", "/api/v1/tokens", R"({"name":"ci","role":"viewer","expires_in_days":1})", auth);
  const std::string bearer =
      "Authorization: Bearer " + std::string(nlohmann::json::parse(token.body)["token"]);
  ASSERT_EQ(
      Call("PUT", "/api/v1/settings", R"({"ip_allowlist":["10.0.0.0/8","::1"]})", auth).status,
      200);
  // The test client is 127.0.0.1: outside.
  for (const auto& headers : {auth, std::vector<std::string>{bearer}}) {
    auto refused = Call("GET", "/api/v1/me", "", headers);
    EXPECT_EQ(refused.status, 403);
    EXPECT_EQ(nlohmann::json::parse(refused.body)["error"]["code"], "ip_not_allowed");
  }
  auto login = LogIn("acme", "ann@example.com", kNewPassword);
  EXPECT_EQ(login.response.status, 403);
  EXPECT_EQ(login.response.headers.count("set-cookie"), 0U);
  EXPECT_EQ(LogIn("acme", "ann@example.com", "not the password at all").response.status, 401)
      << "a wrong password learns nothing about the allowlist";
  // Another tenant's users are not affected.
  EXPECT_EQ(LogIn("globex", "gus@example.com", "whatever it is").response.status, 401);
  // The operator widens the list (the admin is locked out by her own setting).
  tenant::TenantSettings s;
  s.ip_allowlist = {IpNetwork::Parse("127.0.0.0/8").value()};
  ASSERT_TRUE(
      settings_->Put(testing_support::TestActor(), tenants_->FindBySlug("acme")->id, s).ok());
  EXPECT_EQ(Call("GET", "/api/v1/me", "", auth).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/me", "", {bearer}).status, 200);
}

TEST_F(AuthTest, AForwardedForFromAnUntrustedPeerIsIgnored) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  ASSERT_EQ(Call("PUT", "/api/v1/settings", R"({"ip_allowlist":["203.0.113.0/24"]})", auth).status,
            200);
  // No proxy is trusted here: the header is the client's own claim.
  std::vector<std::string> spoofed = auth;
  spoofed.push_back("X-Forwarded-For: 203.0.113.5");
  auto refused = Call("GET", "/api/v1/me", "", spoofed);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(nlohmann::json::parse(refused.body)["error"]["code"], "ip_not_allowed");
  auto login = Call(
      "POST", "/api/v1/auth/login",
      nlohmann::json{{"tenant", "acme"}, {"email", "ann@example.com"}, {"password", kNewPassword}}
          .dump(),
      {"X-Forwarded-For: 203.0.113.5"});
  EXPECT_EQ(login.status, 403);
}

// The server behind a reverse proxy at 127.0.0.1 (the test client's address).
class AuthBehindProxyTest : public AuthTest {
 protected:
  void Configure(config::Config& config) override {
    config.server.trusted_proxies = {"127.0.0.1/32"};
  }
};

TEST_F(AuthBehindProxyTest, TheAllowlistSeesTheClientBehindATrustedProxyV4AndV6) {
  Login a = Ready();
  const std::vector<std::string> auth = {"Cookie: " + a.cookie, "X-CSRF-Token: " + a.csrf};
  ASSERT_EQ(Call("PUT", "/api/v1/settings",
                 R"({"ip_allowlist":["203.0.113.0/24","2001:db8::/32"]})", auth)
                .status,
            200);
  auto from = [&](const std::string& forwarded_for) {
    std::vector<std::string> h = auth;
    if (!forwarded_for.empty()) h.push_back("X-Forwarded-For: " + forwarded_for);
    return Call("GET", "/api/v1/me", "", h).status;
  };
  EXPECT_EQ(from("203.0.113.5"), 200) << "v4 inside";
  EXPECT_EQ(from("::ffff:203.0.113.9"), 200) << "v4-mapped v6 inside";
  EXPECT_EQ(from("2001:db8:1::5"), 200) << "v6 inside";
  EXPECT_EQ(from("2001:db9::5"), 403) << "v6 outside";
  EXPECT_EQ(from("198.51.100.7"), 403) << "v4 outside";
  // A client outside writes an allowed address itself; the proxy appends the real one.
  EXPECT_EQ(from("203.0.113.5, 198.51.100.7"), 403) << "spoofed leftmost entry";
  EXPECT_EQ(from(""), 403) << "the proxy's own address is not allowed";
  EXPECT_EQ(from("not-an-address"), 403) << "a garbled header is not believed";
  // Logins see the client address too.
  auto login = Call(
      "POST", "/api/v1/auth/login",
      nlohmann::json{{"tenant", "acme"}, {"email", "ann@example.com"}, {"password", kNewPassword}}
          .dump(),
      {"X-Forwarded-For: 2001:db8::77"});
  EXPECT_EQ(login.status, 200) << login.body;
}

}  // namespace
}  // namespace pactum
