// The request and api audit streams over real HTTPS: each request's stored event with its
// fields, the api event of a token call, no secret anywhere in what is stored, control
// characters stored escaped and read back intact, and requests refused (503) while the
// request stream cannot be written, with no event lost.

#include <map>
#include <set>

#include "audit/verifier.h"
#include "tests/support/api_test.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

class RequestAuditTest : public ApiTest {
 protected:
  bool RecordsRequests() const override { return true; }

  // Every stored event of every chain, the platform's and each tenant's.
  std::vector<audit::StoredEvent> AllEvents() {
    std::vector<audit::StoredEvent> out;
    const std::vector<int64_t> chains = audit_log_->Chains().value();
    for (const int64_t chain : chains) {
      auto events = audit_log_->ReadChain(chain, 0, 100000).value();
      out.insert(out.end(), events.begin(), events.end());
    }
    return out;
  }

  // The one event of `stream` for request `id`; fails the test unless exactly one.
  audit::StoredEvent EventOf(const std::string& stream, const std::string& id) {
    audit::StoredEvent found;
    int n = 0;
    for (const auto& e : AllEvents()) {
      if (e.stream == stream && Details(e).value("request_id", "") == id) {
        found = e;
        ++n;
      }
    }
    EXPECT_EQ(n, 1) << stream << " events of " << id;
    return found;
  }

  static nlohmann::json Details(const audit::StoredEvent& e) {
    return nlohmann::json::parse(e.details);
  }

  // The headers of a call with request id `id` and a user agent of our own.
  static std::vector<std::string> With(const std::string& id, std::vector<std::string> h = {}) {
    h.push_back("X-Request-Id: " + id);
    h.push_back("User-Agent: " + std::string(kAgent));
    return h;
  }

  static constexpr const char* kAgent = "pactum-audit-test/1.0 (request stream)";
};

TEST_F(RequestAuditTest, EveryRequestIsStoredWithItsFieldsAndTokenCallsInTheApiStream) {
  const Login ready = Ready();
  const int64_t acme = tenants_->FindBySlug("acme")->id;

  // A login: anonymous, so the platform's chain.
  const std::string login_body = nlohmann::json{
      {"tenant", "acme"},
      {"email", "ann@example.com"},
      {"password", kNewPassword}}.dump();
  auto login = Call("POST", "/api/v1/auth/login", login_body, With("audit-login-0001"));
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string set_cookie = login.headers["set-cookie"];
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string cookie_value = cookie.substr(cookie.find('=') + 1);
  const std::string csrf = nlohmann::json::parse(login.body)["csrf_token"];
  const std::vector<std::string> session = {"Cookie: " + cookie, "X-CSRF-Token: " + csrf};

  // The session's caller, with query values that must not be kept (undeclared, so the
  // request is refused; it is recorded all the same).
  auto me = Call("GET", "/api/v1/me?view=full&secret=query-value-never-stored", "",
                 With("audit-me-session", session));
  ASSERT_EQ(me.status, 400) << me.body;

  // An API token and a call with it.
  auto made = Call("POST", "/api/v1/tokens", R"({"name":"ci","role":"viewer","expires_in_days":1})",
                   session);
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string token = nlohmann::json::parse(made.body)["token"];
  const int64_t token_id = nlohmann::json::parse(made.body)["id"];
  auto by_token =
      Call("GET", "/api/v1/me", "", With("audit-me-token", {"Authorization: Bearer " + token}));
  ASSERT_EQ(by_token.status, 200) << by_token.body;

  auto missing = Call("GET", "/api/v1/no-such-thing", "", With("audit-missing-01"));
  ASSERT_EQ(missing.status, 404);

  // A document, a link, a download through it, and the link with a wrong method.
  auto contract = Call("POST", "/api/v1/contracts", R"({"title":"Supply"})", session);
  ASSERT_EQ(contract.status, 201) << contract.body;
  const int64_t contract_id = nlohmann::json::parse(contract.body)["id"];
  const std::string content = "the terms of supply";
  HttpRequest up;
  up.method = "POST";
  up.url = srv_.Url("/api/v1/contracts/" + std::to_string(contract_id) + "/documents");
  up.headers = With("audit-upload-01", {session[0], session[1], "X-Filename: terms.txt",
                                        "Content-Type: application/octet-stream"});
  up.body = content;
  up.ca_file = srv_.ca_file;
  auto upload = Perform(up);
  ASSERT_EQ(upload.status, 201) << upload.body;
  const int64_t document_id = nlohmann::json::parse(upload.body)["id"];
  auto link =
      Call("POST", "/api/v1/documents/" + std::to_string(document_id) + "/link", "", session);
  ASSERT_EQ(link.status, 200) << link.body;
  const std::string url = nlohmann::json::parse(link.body)["url"];
  const std::string link_path = url.substr(url.find("/files/"));
  const std::string link_token = link_path.substr(7);
  auto download = Call("GET", link_path, "", With("audit-download-1", {session[0]}));
  ASSERT_EQ(download.status, 200) << download.body;
  ASSERT_EQ(download.body, content);
  auto wrong_method = Call("POST", link_path, "", With("audit-link-post1", {session[0]}));
  ASSERT_EQ(wrong_method.status, 405);

  ASSERT_TRUE(FlushRequests().ok());

  // The login.
  auto e = EventOf("request", "audit-login-0001");
  EXPECT_EQ(e.tenant_id, 0);
  EXPECT_EQ(e.action, "http.request");
  EXPECT_EQ(e.target, "/api/v1/auth/login");
  EXPECT_EQ(e.actor, "anonymous");
  EXPECT_EQ(e.ip, "127.0.0.1");
  EXPECT_EQ(e.outcome, "success");
  auto d = Details(e);
  EXPECT_EQ(d["method"], "POST");
  EXPECT_EQ(d["path"], "/api/v1/auth/login");
  EXPECT_EQ(d["status"], 200);
  EXPECT_EQ(d["bytes_in"], login_body.size());
  EXPECT_EQ(d["bytes_out"], login.body.size());
  EXPECT_EQ(d["user_agent"], kAgent);
  EXPECT_GT(d["duration_us"].get<int64_t>(), 0);
  EXPECT_FALSE(d.contains("query_keys"));

  // The session's GET: the tenant's chain, the user, the query's names only.
  e = EventOf("request", "audit-me-session");
  EXPECT_EQ(e.tenant_id, acme);
  EXPECT_EQ(e.target, "/api/v1/me");
  EXPECT_EQ(e.actor, "user:" + std::to_string(ann_id_));
  d = Details(e);
  EXPECT_EQ(d["method"], "GET");
  EXPECT_EQ(d["path"], "/api/v1/me");
  EXPECT_EQ(d["query_keys"], nlohmann::json::array({"view", "secret"}));
  EXPECT_EQ(d["status"], 400);
  EXPECT_EQ(d["bytes_in"], 0);
  EXPECT_EQ(d["bytes_out"], me.body.size());
  EXPECT_EQ(d["user_agent"], kAgent);

  // The token call, in both streams.
  e = EventOf("request", "audit-me-token");
  EXPECT_EQ(e.tenant_id, acme);
  EXPECT_EQ(e.actor, "token:" + std::to_string(token_id));
  EXPECT_EQ(Details(e)["bytes_out"], by_token.body.size());
  e = EventOf("api", "audit-me-token");
  EXPECT_EQ(e.tenant_id, acme);
  EXPECT_EQ(e.action, "api.call");
  EXPECT_EQ(e.target, "/api/v1/me");
  EXPECT_EQ(e.actor, "token:" + std::to_string(token_id));
  EXPECT_EQ(e.ip, "127.0.0.1");
  EXPECT_EQ(e.outcome, "success");
  d = Details(e);
  EXPECT_EQ(d["token_id"], token_id);
  EXPECT_EQ(d["method"], "GET");
  EXPECT_EQ(d["status"], 200);
  EXPECT_EQ(d["bytes_in"], 0);
  EXPECT_EQ(d["bytes_out"], by_token.body.size());
  // Session calls have no api event.
  for (const auto& any : AllEvents()) {
    if (any.stream == "api") {
      EXPECT_EQ(Details(any)["request_id"], "audit-me-token");
    }
  }

  e = EventOf("request", "audit-missing-01");
  EXPECT_EQ(e.tenant_id, 0);
  EXPECT_EQ(e.target, "unmatched");
  EXPECT_EQ(e.outcome, "failure");
  EXPECT_EQ(Details(e)["path"], "/api/v1/no-such-thing");
  EXPECT_EQ(Details(e)["status"], 404);

  // A streamed upload counts its body.
  e = EventOf("request", "audit-upload-01");
  EXPECT_EQ(e.target, "/api/v1/contracts/{id}/documents");
  EXPECT_EQ(Details(e)["bytes_in"], content.size());
  EXPECT_EQ(Details(e)["status"], 201);

  // The link's token is stored only as its HMAC, also when the route did not match.
  const std::string redacted = "/files/" + request_log_->Redact(link_token);
  e = EventOf("request", "audit-download-1");
  EXPECT_EQ(e.target, "/files/{token}");
  EXPECT_EQ(Details(e)["path"], redacted);
  EXPECT_EQ(Details(e)["bytes_out"], content.size());
  e = EventOf("request", "audit-link-post1");
  EXPECT_EQ(e.target, "unmatched");
  EXPECT_EQ(Details(e)["path"], redacted);
  EXPECT_EQ(Details(e)["status"], 405);

  // No secret anywhere, in any column of any event.
  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"one-time password", ann_otp_},
      {"password", kNewPassword},
      {"first session cookie", ready.cookie.substr(ready.cookie.find('=') + 1)},
      {"first CSRF token", ready.csrf},
      {"session cookie", cookie_value},
      {"CSRF token", csrf},
      {"API token", token},
      {"API token without its prefix", token.substr(4)},
      {"link token", link_token},
      {"query value", "query-value-never-stored"},
  };
  const auto events = AllEvents();
  ASSERT_GE(events.size(), 13U);  // 12 requests, one with a token
  for (const auto& ev : events) {
    for (const std::string* column :
         {&ev.stream, &ev.actor, &ev.ip, &ev.action, &ev.target, &ev.outcome, &ev.details}) {
      for (const auto& [name, secret] : secrets) {
        ASSERT_FALSE(secret.empty()) << name;
        EXPECT_EQ(column->find(secret), std::string::npos)
            << "the " << name << " is stored in event " << ev.tenant_id << "/" << ev.seq;
      }
    }
  }
}

TEST_F(RequestAuditTest, EveryRequestIsStoredOnceInTheRequestStream) {
  Ready();                                           // a login and a password change
  EXPECT_EQ(Call("GET", "/api/v1/me").status, 401);  // refused credentials: anonymous
  EXPECT_EQ(Call("GET", "/nowhere").status, 404);
  EXPECT_EQ(Call("PUT", "/api/v1/auth/login").status, 405);
  ASSERT_TRUE(FlushRequests().ok());
  std::multiset<std::string> targets;
  std::set<std::string> ids;
  for (const auto& e : AllEvents()) {
    if (e.stream != "request") continue;
    targets.insert(e.target);
    ids.insert(Details(e)["request_id"].get<std::string>());
  }
  EXPECT_EQ(targets, (std::multiset<std::string>{"/api/v1/auth/login", "/api/v1/me/password",
                                                 "/api/v1/me", "unmatched", "unmatched"}));
  EXPECT_EQ(ids.size(), 5U);  // a request id of its own each
}

TEST_F(RequestAuditTest, ControlCharactersAreStoredEscapedAndReadBackIntact) {
  // Through the server: a header value can hold a tab and bytes above 0x7f (here a C1
  // control, CSI), not CR, LF or DEL.
  const std::string agent = "agent\twith tab \xc3\xa9 \xc2\x9b[31m csi";
  auto r =
      Call("GET", "/api/v1/me", "", {"X-Request-Id: audit-agent-0001", "User-Agent: " + agent});
  ASSERT_EQ(r.status, 401) << r.body;
  // What a client could only slip in through a proxy or a future protocol, given to the
  // observer directly: CR, LF, ESC, DEL, NUL.
  std::string evil = "evil\r\nX-Injected: 1\x1b[31mred\x1b[0m\x01\x7f";
  evil += '\0';
  http::Request req;
  req.method_text = "GET";
  req.path = "/api/v1/me";
  req.remote_ip = "192.0.2.1";
  req.peer_ip = "192.0.2.1";
  req.request_id = "audit-agent-0002";
  req.headers.push_back({"User-Agent", evil});
  request_audit_->Finished(req, nullptr, {.status = 200});
  // Beyond U+FFFF (a surrogate pair in JSON), and bytes that are no UTF-8 (U+FFFD each).
  req.request_id = "audit-agent-0003";
  req.headers[0].value = "emoji \xf0\x9f\x98\x80 quote \" backslash \\ bad \xff\xc3 end";
  request_audit_->Finished(req, nullptr, {.status = 200});
  ASSERT_TRUE(FlushRequests().ok());

  const std::vector<std::pair<std::string, std::string>> expected_agents = {
      {"audit-agent-0001", agent},
      {"audit-agent-0002", evil},
      {"audit-agent-0003",
       "emoji \xf0\x9f\x98\x80 quote \" backslash \\ bad \xef\xbf\xbd\xef\xbf\xbd end"}};
  for (const auto& [id, expected] : expected_agents) {
    const auto e = EventOf("request", id);
    for (const unsigned char c : e.details) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << id << ": raw byte " << int(c) << " in " << e.details;
    }
    EXPECT_EQ(audit::EventJson(e)["details"]["user_agent"], expected) << id;
  }
}

TEST_F(RequestAuditTest, RequestsAreRefusedWhileTheStreamCannotBeWrittenAndNothingIsLost) {
  const Login ann = Ready();
  const std::vector<std::string> session = {"Cookie: " + ann.cookie};
  ASSERT_EQ(Call("GET", "/api/v1/me", "", With("audit-before-0001", session)).status, 200);

  request_db_->fail_writes = true;
  ASSERT_EQ(FlushRequests().reason(), "audit_unavailable");
  auto refused = Call("GET", "/api/v1/me", "", With("audit-refused-001", session));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(nlohmann::json::parse(refused.body)["error"]["code"], "audit_unavailable");
  // Public routes too.
  EXPECT_EQ(Call("POST", "/api/v1/auth/login", "{}", With("audit-refused-002")).status, 503);
  ASSERT_EQ(FlushRequests().reason(), "audit_unavailable");  // still failing: still refused
  EXPECT_EQ(Call("GET", "/api/v1/me", "", With("audit-refused-003", session)).status, 503);

  request_db_->fail_writes = false;
  ASSERT_TRUE(FlushRequests().ok());
  ASSERT_EQ(Call("GET", "/api/v1/me", "", With("audit-after-00001", session)).status, 200);
  ASSERT_TRUE(FlushRequests().ok());

  // Every request is there once (the refused ones, never authenticated, as anonymous), and
  // each chain still verifies.
  std::map<std::string, int> status_of;
  for (const auto& e : AllEvents()) {
    const auto d = Details(e);
    const std::string id = d.value("request_id", "");
    if (e.stream == "request" && id.starts_with("audit-")) {
      EXPECT_TRUE(status_of.emplace(id, d["status"].get<int>()).second) << id;
    }
  }
  EXPECT_EQ(status_of, (std::map<std::string, int>{{"audit-before-0001", 200},
                                                   {"audit-refused-001", 503},
                                                   {"audit-refused-002", 503},
                                                   {"audit-refused-003", 503},
                                                   {"audit-after-00001", 200}}));
  const std::vector<int64_t> chains = audit_log_->Chains().value();
  for (const int64_t chain : chains) {
    auto report = audit::VerifyChain(*audit_log_, {}, signer_->public_key(), chain);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_FALSE(report->problem.has_value()) << audit::ReportJson(*report).dump();
  }
}

}  // namespace
}  // namespace pactum
