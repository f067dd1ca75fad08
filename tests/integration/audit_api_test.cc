// The audit trail end to end over HTTPS: each listed auth and action event with its
// stored fields, no secret anywhere in the trail, fail-closed refusals that leave nothing
// behind, control characters stored escaped, and the admin API (list, export, verify).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "audit/verifier.h"
#include "tests/support/api_test.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

class AuditApiTest : public ApiTest {
 protected:
  int64_t Tenant(const std::string& slug) { return tenants_->FindBySlug(slug)->id; }

  std::vector<audit::StoredEvent> Events(int64_t tenant) {
    auto events = audit_log_->ReadChain(tenant, 0, 1000000);
    EXPECT_TRUE(events.ok());
    return events.ok() ? *events : std::vector<audit::StoredEvent>{};
  }

  // The newest event named `action` in the tenant's chain (an empty one when none).
  audit::StoredEvent Last(int64_t tenant, const std::string& action) {
    const auto events = Events(tenant);
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->action == action) return *it;
    }
    ADD_FAILURE() << "no " << action << " event in chain " << tenant;
    return {};
  }

  static nlohmann::json Details(const audit::StoredEvent& e) {
    return nlohmann::json::parse(e.details, nullptr, false);
  }

  // Every byte of every stored event of every chain.
  std::string EverythingStored() {
    std::string all;
    for (const int64_t t : {int64_t{0}, Tenant("acme"), Tenant("globex")}) {
      for (const auto& e : Events(t)) {
        for (const std::string* s :
             {&e.stream, &e.actor, &e.ip, &e.action, &e.target, &e.outcome, &e.details}) {
          all += *s;
          all += '\n';
        }
      }
    }
    return all;
  }

  int64_t Count(const store::Sql& sql, std::initializer_list<store::Value> params = {}) {
    int64_t n = -1;
    EXPECT_TRUE(db_->Read([&](store::Session& s) -> Status {
                     ASSIGN_OR_RETURN(auto rows, s.Query(sql, params));
                     n = rows.at(0).Int(0);
                     return Status::Ok();
                   })
                    .ok());
    return n;
  }

  std::vector<std::string> Session(const Login& l) {
    return {"Cookie: " + l.cookie, "X-CSRF-Token: " + l.csrf};
  }

  // Enrols `as` in TOTP; returns the secret.
  std::string Enrol(const std::vector<std::string>& as) {
    auto begun = Call("POST", "/api/v1/me/totp", "", as);
    EXPECT_EQ(begun.status, 200) << begun.body;
    std::string secret = nlohmann::json::parse(begun.body)["secret"];
    auto done =
        Call("POST", "/api/v1/me/totp/confirm", nlohmann::json{{"code", Totp(secret)}}.dump(), as);
    EXPECT_EQ(done.status, 200) << done.body;
    return secret;
  }

  HttpResponse Mfa(const std::string& token, const std::string& code) {
    return Call("POST", "/api/v1/auth/mfa",
                nlohmann::json{{"mfa_token", token}, {"code", code}}.dump());
  }
};

void ExpectFailure(const audit::StoredEvent& e, const std::string& reason) {
  EXPECT_EQ(e.outcome, "failure") << e.action;
  EXPECT_EQ(nlohmann::json::parse(e.details)["reason"], reason) << e.action << " " << e.details;
}

TEST_F(AuditApiTest, EveryLoginAttemptIsRecordedWithItsReason) {
  Login ann = Ready();
  const int64_t acme = Tenant("acme");
  auto ok = Last(acme, "auth.login");
  EXPECT_EQ(ok.stream, "auth");
  EXPECT_EQ(ok.outcome, "success");
  EXPECT_EQ(ok.actor, "user:" + std::to_string(ann_id_));
  EXPECT_EQ(ok.target, "user:" + std::to_string(ann_id_));
  EXPECT_EQ(ok.ip, "127.0.0.1");
  EXPECT_EQ(Details(ok)["email"], "ann@example.com");
  EXPECT_EQ(Details(ok)["tenant"], "acme");
  EXPECT_FALSE(Details(ok).value("request_id", "").empty());
  EXPECT_EQ(Last(acme, "auth.password_change").outcome, "success");

  // Apart in time, so the throttle lets each attempt reach the password check.
  const auto attempt = [&](const std::string& tenant, const std::string& email,
                           const std::string& password) {
    clock_.Advance(std::chrono::minutes(20));
    return LogIn(tenant, email, password).response.status;
  };
  EXPECT_EQ(attempt("acme", "ann@example.com", "not her password"), 401);
  auto bad = Last(acme, "auth.login");
  ExpectFailure(bad, "bad_password");
  EXPECT_EQ(bad.actor, "anonymous");
  EXPECT_EQ(bad.target, "user:" + std::to_string(ann_id_));

  EXPECT_EQ(attempt("acme", "nobody@example.com", "whatever it is"), 401);
  auto unknown = Last(acme, "auth.login");
  ExpectFailure(unknown, "unknown_account");
  EXPECT_EQ(Details(unknown)["email"], "nobody@example.com");

  EXPECT_EQ(attempt("no-such-tenant", "ann@example.com", "whatever it is"), 401);
  auto platform = Last(0, "auth.login");
  ExpectFailure(platform, "unknown_account");
  EXPECT_EQ(Details(platform)["tenant"], "no-such-tenant");

  // What cannot be an email is not kept (it may be a password in the wrong field).
  EXPECT_EQ(attempt("acme", "hunter2-secret", "x"), 401);
  auto malformed = Last(0, "auth.login");
  ExpectFailure(malformed, "malformed");
  EXPECT_EQ(malformed.details.find("hunter2-secret"), std::string::npos);

  ASSERT_TRUE(db_->Write([&](store::Session& s) {
                   return s
                       .Execute("UPDATE users SET locked_until = $1 WHERE id = $2",
                                {UnixSeconds(clock_.Now()) + 3600, ann_id_})
                       .status();
                 })
                  .ok());
  EXPECT_EQ(attempt("acme", "ann@example.com", kNewPassword), 401);
  ExpectFailure(Last(acme, "auth.login"), "locked");
  ASSERT_TRUE(
      db_->Write([&](store::Session& s) {
           return s.Execute("UPDATE users SET locked_until = 0 WHERE id = $1", {ann_id_}).status();
         })
          .ok());

  tenant::TenantSettings fenced;
  fenced.ip_allowlist = {IpNetwork::Parse("192.0.2.0/24").value()};
  ASSERT_TRUE(settings_->Put(TestActor(), acme, fenced).ok());
  EXPECT_EQ(attempt("acme", "ann@example.com", kNewPassword), 403);
  auto fenced_out = Last(acme, "auth.login");
  ExpectFailure(fenced_out, "ip_not_allowed");
  EXPECT_EQ(fenced_out.actor, "user:" + std::to_string(ann_id_));
  ASSERT_TRUE(settings_->Put(TestActor(), acme, tenant::TenantSettings{}).ok());

  // Throttled attempts are recorded too.
  for (int i = 0; i < 6; ++i) LogIn("acme", "ann@example.com", "wrong again, quickly");
  ExpectFailure(Last(acme, "auth.login"), "throttled");
}

TEST_F(AuditApiTest, SecondFactorStepsAreRecordedIncludingReplays) {
  Login ann = Ready();
  const int64_t acme = Tenant("acme");
  auto wrong = Call("POST", "/api/v1/me/totp", "", Session(ann));
  ASSERT_EQ(wrong.status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/me/totp/confirm", R"({"code":"000000"})", Session(ann)).status,
            403);
  ExpectFailure(Last(acme, "auth.mfa_enrol"), "wrong_code");
  const std::string secret = Enrol(Session(ann));
  auto enrolled = Last(acme, "auth.mfa_enrol");
  EXPECT_EQ(enrolled.outcome, "success");
  EXPECT_EQ(enrolled.stream, "auth");

  clock_.Advance(std::chrono::seconds(30));
  Login step1 = LogIn("acme", "ann@example.com", kNewPassword);
  const std::string token = nlohmann::json::parse(step1.response.body)["mfa_token"];
  auto password_step = Last(acme, "auth.login");
  EXPECT_EQ(password_step.outcome, "success");
  EXPECT_EQ(Details(password_step)["mfa_required"], true);
  EXPECT_EQ(Mfa(token, "000000").status, 401);
  ExpectFailure(Last(acme, "auth.mfa"), "wrong_code");
  const std::string code = Totp(secret);
  auto done = Mfa(token, code);
  ASSERT_EQ(done.status, 200) << done.body;
  auto second = Last(acme, "auth.mfa");
  EXPECT_EQ(second.outcome, "success");
  EXPECT_EQ(Details(second)["factor"], "totp");
  EXPECT_EQ(second.actor, "user:" + std::to_string(ann_id_));

  // The same code again, in a new login: a replay.
  Login again = LogIn("acme", "ann@example.com", kNewPassword);
  EXPECT_EQ(Mfa(nlohmann::json::parse(again.response.body)["mfa_token"], code).status, 401);
  ExpectFailure(Last(acme, "auth.mfa"), "replay");
  EXPECT_EQ(Mfa("not-a-challenge-token-at-all-000000000000000", code).status, 401);
  ExpectFailure(Last(0, "auth.mfa"), "unknown_challenge");

  clock_.Advance(std::chrono::seconds(30));
  EXPECT_EQ(
      Call("DELETE", "/api/v1/me/totp", nlohmann::json{{"code", Totp(secret)}}.dump(), Session(ann))
          .status,
      204);
  EXPECT_EQ(Last(acme, "auth.mfa_disable").outcome, "success");
  // No code and no secret in the trail.
  const std::string all = EverythingStored();
  EXPECT_EQ(all.find(secret), std::string::npos);
  EXPECT_EQ(all.find(code), std::string::npos);
  EXPECT_EQ(all.find(token), std::string::npos);
}

TEST_F(AuditApiTest, LogoutAndSessionExpiryAreRecorded) {
  Login ann = Ready();
  const int64_t acme = Tenant("acme");
  ASSERT_EQ(Call("POST", "/api/v1/auth/logout", "", Session(ann)).status, 204);
  auto out = Last(acme, "auth.logout");
  EXPECT_EQ(out.outcome, "success");
  EXPECT_EQ(out.actor, "user:" + std::to_string(ann_id_));

  Login later = LogIn("acme", "ann@example.com", kNewPassword);
  clock_.Advance(std::chrono::minutes(61));  // past the default 60 idle minutes
  EXPECT_EQ(Call("GET", "/api/v1/me", "", Session(later)).status, 401);
  auto expired = Last(acme, "auth.session_expired");
  EXPECT_EQ(expired.stream, "auth");
  EXPECT_EQ(expired.target, "user:" + std::to_string(ann_id_));
  EXPECT_EQ(expired.ip, "127.0.0.1");
  // Once: the session is gone.
  EXPECT_EQ(Call("GET", "/api/v1/me", "", Session(later)).status, 401);
  int n = 0;
  for (const auto& e : Events(acme)) n += e.action == "auth.session_expired" ? 1 : 0;
  EXPECT_EQ(n, 1);
}

TEST_F(AuditApiTest, SensitiveActionsAreRecordedWithActorAndTarget) {
  const auto as = Session(Ready());
  const int64_t acme = Tenant("acme");
  const std::string ann = "user:" + std::to_string(ann_id_);
  const auto expect = [&](const std::string& action, const std::string& target) {
    auto e = Last(acme, action);
    EXPECT_EQ(e.stream, "action") << action;
    EXPECT_EQ(e.outcome, "success") << action;
    EXPECT_EQ(e.actor, ann) << action;
    EXPECT_EQ(e.ip, "127.0.0.1") << action;
    if (!target.empty()) {
      EXPECT_EQ(e.target, target) << action;
    }
    return e;
  };

  auto bob = Call("POST", "/api/v1/users",
                  R"({"email":"bob@example.com","name":"Bob","role":"user"})", as);
  ASSERT_EQ(bob.status, 201) << bob.body;
  const std::string bob_target =
      "user:" + std::to_string(nlohmann::json::parse(bob.body)["id"].get<int64_t>());
  EXPECT_EQ(Details(expect("user.create", bob_target))["role"], "user");
  const std::string bob_path = "/api/v1/users/" + bob_target.substr(5);
  ASSERT_EQ(Call("PATCH", bob_path, R"({"role":"manager"})", as).status, 200);
  auto role = expect("user.role_change", bob_target);
  EXPECT_EQ(Details(role)["from"], "user");
  EXPECT_EQ(Details(role)["to"], "manager");
  ASSERT_EQ(Call("DELETE", bob_path, "", as).status, 204);
  expect("user.disable", bob_target);

  auto token =
      Call("POST", "/api/v1/tokens", R"({"name":"ci","role":"viewer","expires_in_days":7})", as);
  ASSERT_EQ(token.status, 201);
  const auto tj = nlohmann::json::parse(token.body);
  const std::string token_target = "token:" + std::to_string(tj["id"].get<int64_t>());
  expect("token.create", token_target);
  ASSERT_EQ(Call("DELETE", "/api/v1/tokens/" + token_target.substr(6), "", as).status, 204);
  expect("token.revoke", token_target);

  ASSERT_EQ(Call("PUT", "/api/v1/settings", R"({"link_minutes":7})", as).status, 200);
  EXPECT_EQ(Details(expect("settings.update", ""))["link_minutes"], 7);

  auto created = Call("POST", "/api/v1/contracts", R"({"title":"Supply"})", as);
  ASSERT_EQ(created.status, 201);
  const int64_t cid = nlohmann::json::parse(created.body)["id"];
  const std::string contract = "contract:" + std::to_string(cid);
  const std::string cpath = "/api/v1/contracts/" + std::to_string(cid);
  expect("contract.create", contract);
  auto patched = Call("PATCH", cpath, R"({"counterparty":"Acme Supplies"})",
                      {as[0], as[1], "If-Match: \"1\""});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(Details(expect("contract.update", contract))["fields"],
            nlohmann::json::array({"counterparty"}));

  auto uploaded = Upload(as, cid, "the terms of supply");
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;
  const int64_t did = nlohmann::json::parse(uploaded.body)["id"];
  const std::string document = "document:" + std::to_string(did);
  auto upload = expect("document.upload", document);
  EXPECT_EQ(Details(upload)["name"], "terms.txt");
  EXPECT_EQ(Details(upload)["size"], 19);
  const std::string link = LinkPath(as, did);
  expect("document.link", document);
  ASSERT_EQ(Call("GET", link, "", {as[0]}).body, "the terms of supply");
  EXPECT_EQ(Details(expect("document.download", document))["status"], 200);
  ASSERT_EQ(Call("DELETE", "/api/v1/documents/" + std::to_string(did), "", as).status, 204);
  expect("document.delete", document);

  ASSERT_EQ(Call("DELETE", cpath, "", as).status, 204);
  expect("contract.delete", contract);
  ASSERT_EQ(Call("POST", cpath + "/restore", "", as).status, 200);
  expect("contract.restore", contract);

  ASSERT_EQ(Call("POST", "/api/v1/custom-fields",
                 R"({"key":"region","label":"Region","type":"text"})", as)
                .status,
            201);
  expect("custom_field.create", "custom_field:region");
  ASSERT_EQ(Call("DELETE", "/api/v1/custom-fields/region", "", as).status, 204);
  expect("custom_field.delete", "custom_field:region");

  // A refused authorization, by the policy table.
  const auto viewer = As("acme", "vic@example.com", auth::Role::kViewer);
  EXPECT_EQ(Call("POST", "/api/v1/contracts", R"({"title":"x"})", viewer).status, 403);
  auto denied = Last(acme, "authz.denied");
  EXPECT_EQ(denied.outcome, "failure");
  EXPECT_EQ(denied.target, "/api/v1/contracts");
  EXPECT_EQ(denied.actor, "user:" + std::to_string(ids_["vic@example.com"]));
  EXPECT_EQ(Details(denied)["method"], "POST");
  // A link that was tampered with: recorded in the platform's chain.
  std::string forged = link;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(Call("GET", forged, "").status, 403);
  ExpectFailure(Last(0, "document.download"), "link_invalid");
  // Every chain is intact.
  for (const int64_t t : {int64_t{0}, acme}) {
    auto r = audit::VerifyChain(*audit_log_, {}, signer_->public_key(), t);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->problem) << r->problem->message;
  }
}

TEST_F(AuditApiTest, NoSecretEverReachesTheTrail) {
  const std::string one_time = ann_otp_;
  Login ann = Ready();
  const auto as = Session(ann);
  const std::string secret = Enrol(as);
  auto token =
      Call("POST", "/api/v1/tokens", R"({"name":"ci","role":"viewer","expires_in_days":7})", as);
  const std::string bearer = nlohmann::json::parse(token.body)["token"];
  ASSERT_EQ(Call("GET", "/api/v1/me", "", {"Authorization: Bearer " + bearer}).status, 200);
  auto created = Call("POST", "/api/v1/contracts", R"({"title":"Supply"})", as);
  const int64_t cid = nlohmann::json::parse(created.body)["id"];
  auto uploaded = Upload(as, cid, "document content marker 7f3a9c", "note.txt");
  ASSERT_EQ(uploaded.status, 201);
  const std::string link_token = LinkPath(as, nlohmann::json::parse(uploaded.body)["id"])
                                     .substr(std::string("/files/").size());
  ASSERT_EQ(Call("GET", "/files/" + link_token, "", {as[0]}).status, 200);
  clock_.Advance(std::chrono::seconds(30));
  LogIn("acme", "ann@example.com", "a wrong passphrase here");  // a failed attempt's password

  const std::string all = EverythingStored();
  ASSERT_FALSE(all.empty());
  const std::string cookie_value = ann.cookie.substr(ann.cookie.find('=') + 1);
  for (const std::string& s :
       {one_time, std::string(kNewPassword), std::string("a wrong passphrase here"), secret, bearer,
        bearer.substr(bearer.size() - 20), cookie_value, ann.csrf, link_token,
        std::string("document content marker")}) {
    EXPECT_EQ(all.find(s), std::string::npos) << "found in the audit trail: " << s;
  }
}

TEST_F(AuditApiTest, WhenTheTrailCannotRecordNothingHappens) {
  Login ann = Ready();
  const auto as = Session(ann);
  auto created = Call("POST", "/api/v1/contracts", R"({"title":"Supply"})", as);
  const int64_t cid = nlohmann::json::parse(created.body)["id"];
  const std::string cpath = "/api/v1/contracts/" + std::to_string(cid);
  auto uploaded = Upload(as, cid, "the terms of supply");
  ASSERT_EQ(uploaded.status, 201);
  const std::string link = LinkPath(as, nlohmann::json::parse(uploaded.body)["id"]);
  const int64_t sessions_before = Count("SELECT count(*) FROM sessions");
  const int64_t failures_before = Count("SELECT failed_logins FROM users WHERE id = $1", {ann_id_});
  const int64_t events_before = audit_log_->Head(Tenant("acme"))->seq;

  audit_->fail = true;
  // A login with the right password: no session.
  Login refused = LogIn("acme", "ann@example.com", kNewPassword);
  EXPECT_EQ(refused.response.status, 503);
  EXPECT_EQ(nlohmann::json::parse(refused.response.body)["error"]["code"], "audit_unavailable");
  EXPECT_EQ(refused.response.headers.count("set-cookie"), 0U);
  EXPECT_EQ(Count("SELECT count(*) FROM sessions"), sessions_before);
  // A wrong password: not even the failure counts toward a lockout.
  clock_.Advance(std::chrono::minutes(20));
  EXPECT_EQ(LogIn("acme", "ann@example.com", "not the password").response.status, 503);
  EXPECT_EQ(Count("SELECT failed_logins FROM users WHERE id = $1", {ann_id_}), failures_before);
  // A contract change.
  auto patched = Call("PATCH", cpath, R"({"title":"Changed"})", {as[0], as[1], "If-Match: \"1\""});
  EXPECT_EQ(patched.status, 503);
  // A download: not one byte of the document.
  auto download = Call("GET", link, "", {as[0]});
  EXPECT_EQ(download.status, 503);
  EXPECT_EQ(download.body.find("the terms"), std::string::npos);
  audit_->fail = false;

  auto c = nlohmann::json::parse(Call("GET", cpath, "", as).body);
  EXPECT_EQ(c["title"], "Supply");
  EXPECT_EQ(c["version"], 1);
  EXPECT_EQ(audit_log_->Head(Tenant("acme"))->seq, events_before);
}

TEST_F(AuditApiTest, ControlCharactersAreStoredEscapedAndShownIntact) {
  const auto as = Session(Ready());
  // Names keep the text rule (common/text.h): control characters never get that far.
  auto refused = Call(
      "POST", "/api/v1/tokens",
      nlohmann::json{
          {"name", "ci\r\nX-Injected: yes\x1b[31m"}, {"role", "viewer"}, {"expires_in_days", 1}}
          .dump(),
      as);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_NE(refused.body.find("control character"), std::string::npos) << refused.body;
  // A user agent may hold a tab and bytes that are not UTF-8.
  const std::string name = "ci bot";
  auto created =
      Call("POST", "/api/v1/tokens",
           nlohmann::json{{"name", name}, {"role", "viewer"}, {"expires_in_days", 1}}.dump(),
           {as[0], as[1], "User-Agent: probe\tagent \xff\xfe"});
  ASSERT_EQ(created.status, 201) << created.body;
  auto e = Last(Tenant("acme"), "token.create");
  for (const char c : e.details) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "a raw control byte in " << e.details;
  }
  EXPECT_TRUE(nlohmann::json::parse(e.details, nullptr, false).is_object()) << e.details;
  auto listed = Call("GET", "/api/v1/audit?action=token.create", "", as);
  ASSERT_EQ(listed.status, 200);
  const auto shown = nlohmann::json::parse(listed.body)["events"][0]["details"];
  EXPECT_EQ(shown["name"], name);
  EXPECT_EQ(shown["user_agent"], "probe\tagent \xef\xbf\xbd\xef\xbf\xbd");  // U+FFFD each
  // A file name with CR/LF (percent-encoded, as X-Filename allows) and an email with CR/LF.
  auto contract = Call("POST", "/api/v1/contracts", R"({"title":"Supply"})", as);
  ASSERT_EQ(Upload(as, nlohmann::json::parse(contract.body)["id"], "text",
                   "evil%0D%0AX-Injected%3A%20yes%1B.txt")
                .status,
            201);
  clock_.Advance(std::chrono::minutes(20));
  EXPECT_EQ(Call("POST", "/api/v1/auth/login",
                 nlohmann::json{{"tenant", "acme"},
                                {"email", "ann@example.com\r\nX-Injected: yes"},
                                {"password", "x"}}
                     .dump())
                .status,
            401);
  const std::string all = EverythingStored();
  for (const char c : all) {
    if (c != '\n') {
      EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "a raw control byte";
    }
  }
  EXPECT_EQ(all.find("X-Injected: yes\r"), std::string::npos);
  auto exported = Call("GET", "/api/v1/audit/export?action=token.create", "", as);
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(std::count(exported.body.begin(), exported.body.end(), '\n'), 1);
  EXPECT_EQ(
      nlohmann::json::parse(exported.body.substr(0, exported.body.find('\n')))["details"]["name"],
      name);
}

TEST_F(AuditApiTest, AdminsListFilterPageExportAndVerifyTheirOwnTenantOnly) {
  const auto as = Session(Ready());
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(std::chrono::seconds(10));
    ASSERT_EQ(Call("POST", "/api/v1/contracts",
                   nlohmann::json{{"title", "C" + std::to_string(i)}}.dump(), as)
                  .status,
              201);
  }
  auto page1 = Call("GET", "/api/v1/audit?action=contract.create&limit=2", "", as);
  ASSERT_EQ(page1.status, 200) << page1.body;
  auto j1 = nlohmann::json::parse(page1.body);
  ASSERT_EQ(j1["events"].size(), 2U);
  EXPECT_EQ(j1["events"][0]["details"]["title"], "C4");  // newest first
  const auto& ev = j1["events"][0];
  for (const char* key :
       {"seq", "time", "stream", "actor", "ip", "action", "target", "outcome", "details"}) {
    EXPECT_TRUE(ev.contains(key)) << key;
  }
  EXPECT_EQ(ev.size(), 9U);
  EXPECT_TRUE(ev["time"].get<std::string>().ends_with("Z"));
  ASSERT_TRUE(j1["next_cursor"].is_string());
  auto page2 = nlohmann::json::parse(Call("GET",
                                          "/api/v1/audit?action=contract.create&limit=2&cursor=" +
                                              j1["next_cursor"].get<std::string>(),
                                          "", as)
                                         .body);
  EXPECT_EQ(page2["events"][0]["details"]["title"], "C2");
  auto auth_only = nlohmann::json::parse(Call("GET", "/api/v1/audit?stream=auth", "", as).body);
  ASSERT_FALSE(auth_only["events"].empty());
  for (const auto& e : auth_only["events"]) EXPECT_EQ(e["stream"], "auth");
  const std::string t2 = FormatRfc3339(clock_.Now() - std::chrono::seconds(25));
  auto recent = nlohmann::json::parse(
      Call("GET", "/api/v1/audit?action=contract.create&from=" + t2, "", as).body);
  EXPECT_EQ(recent["events"].size(), 3U);  // C2 (at -20 s), C3, C4
  auto by_actor = nlohmann::json::parse(
      Call("GET", "/api/v1/audit?actor=user:" + std::to_string(ann_id_), "", as).body);
  EXPECT_FALSE(by_actor["events"].empty());
  for (const char* bad :
       {"stream=nope", "from=yesterday", "cursor=abc", "limit=0", "limit=1001", "secret=1"}) {
    EXPECT_EQ(Call("GET", std::string("/api/v1/audit?") + bad, "", as).status, 400) << bad;
  }

  auto exported = Call("GET", "/api/v1/audit/export?action=contract.create", "", as);
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(exported.headers["content-type"], "application/x-ndjson");
  EXPECT_EQ(std::count(exported.body.begin(), exported.body.end(), '\n'), 5);
  EXPECT_EQ(
      nlohmann::json::parse(exported.body.substr(0, exported.body.find('\n')))["details"]["title"],
      "C0");  // oldest first
  EXPECT_EQ(Last(Tenant("acme"), "audit.export").actor, "user:" + std::to_string(ann_id_));

  auto verified = nlohmann::json::parse(Call("GET", "/api/v1/audit/verify", "", as).body);
  EXPECT_EQ(verified["ok"], true) << verified;
  EXPECT_GT(verified["events"].get<int64_t>(), 5);

  // Another tenant's admin sees only theirs; a non-admin nothing.
  const auto gus = As("globex", "gus2@example.com", auth::Role::kAdmin);
  auto theirs =
      nlohmann::json::parse(Call("GET", "/api/v1/audit?action=contract.create", "", gus).body);
  EXPECT_TRUE(theirs["events"].empty());
  const auto manager = As("acme", "max@example.com", auth::Role::kManager);
  for (const char* path : {"/api/v1/audit", "/api/v1/audit/export", "/api/v1/audit/verify"}) {
    EXPECT_EQ(Call("GET", path, "", manager).status, 403) << path;
  }

  // Tampering shows in the API's verification.
  ASSERT_TRUE(db_->Write([&](store::Session& s) {
                   return s
                       .Execute("DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 3",
                                {Tenant("acme")})
                       .status();
                 })
                  .ok());
  auto broken = nlohmann::json::parse(Call("GET", "/api/v1/audit/verify", "", as).body);
  EXPECT_EQ(broken["ok"], false);
  EXPECT_EQ(broken["problem"]["kind"], "missing");
  EXPECT_EQ(broken["problem"]["seq"], 3);
}

}  // namespace
}  // namespace pactum

namespace pactum {
namespace {

using testing_support::ApiTest;

// The server's background work is built by the composition root with the API (app/app.h)
// and timed by its clock only: with the fake one nothing runs until a test says so.
class ServerJobsTest : public ApiTest {};

TEST_F(ServerJobsTest, TheCheckpointJobSignsTheTrailOnTheInjectedClock) {
  std::vector<std::string> names;
  for (const auto& job : app_->jobs().Jobs()) names.push_back(job.name);
  EXPECT_EQ(names, (std::vector<std::string>{"housekeeping", "audit-checkpoint"}));
  const auto session = Ready();  // events in acme's chain
  EXPECT_TRUE(checkpoints_->ReadAll()->empty());
  // Both are due at once; a chain never signed is signed at its first run.
  EXPECT_EQ(app_->jobs().RunDue(), 2);
  const size_t first = checkpoints_->ReadAll()->size();
  EXPECT_GE(first, 1U);
  EXPECT_EQ(app_->jobs().RunDue(), 0) << "nothing is due before the clock moves";
  // The chain grows; 5 s later the job runs but its last checkpoint is not a minute old.
  ASSERT_EQ(Call("POST", "/api/v1/contracts", R"({"title":"Lease"})",
                 {"Cookie: " + session.cookie, "X-CSRF-Token: " + session.csrf})
                .status,
            201);
  clock_.Advance(std::chrono::seconds(5));
  EXPECT_EQ(app_->jobs().RunDue(), 1);
  EXPECT_EQ(checkpoints_->ReadAll()->size(), first);
  clock_.Advance(std::chrono::seconds(60));
  EXPECT_EQ(app_->jobs().RunDue(), 1);
  EXPECT_EQ(checkpoints_->ReadAll()->size(), first + 1);
  const auto job = app_->jobs().Job("audit-checkpoint");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->runs_ok, 3U);
  EXPECT_EQ(job->last_start_ms, UnixMillis(clock_.Now()));
  EXPECT_GT(job->next_run_ms, job->last_start_ms);
}

}  // namespace
}  // namespace pactum
