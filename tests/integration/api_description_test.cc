// The API's declarations against what the server does: every route is a declared
// endpoint and described in OpenAPI and docs/api.md; every JSON body is checked against
// its declared fields, and every declared field is read by the handler (the strict
// endpoint table answers 500 otherwise); answers have the declared shape; declared query
// parameters are accepted and others refused; the declared audit actions are recorded.

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "api/openapi.h"
#include "http/error_mapping.h"
#include "tests/support/api_test.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)
using nlohmann::json;

class ApiDescriptionTest : public ApiTest {
 protected:
  const api::Endpoint& EndpointOf(http::Method method, const std::string& path) {
    for (const auto& e : endpoints_->endpoints()) {
      if (e->method == method && e->path == path) return *e;
    }
    ADD_FAILURE() << "no endpoint " << path;
    std::abort();
  }

  // The value of `kind` a field must not accept.
  static json WrongTypeFor(const api::FieldSpec& f) {
    switch (f.type) {
      case api::Json::kString:
        return 12345;
      case api::Json::kInteger:
        return "12";
      case api::Json::kNumber:
      case api::Json::kBoolean:
      case api::Json::kArray:
      case api::Json::kObject:
        return "text";
      case api::Json::kAny:
        break;
    }
    return nullptr;
  }

  // Audit events of `tenant` with one of `actions`.
  size_t Recorded(int64_t tenant, const std::vector<std::string>& actions) {
    size_t n = 0;
    for (const auto& a : actions) {
      audit::ListQuery q;
      q.tenant_id = tenant;
      q.action = a;
      q.limit = 1000;
      n += audit_log_->List(q).value().size();
    }
    return n;
  }

  HttpResponse Raw(const std::string& method, const std::string& path, const std::string& body,
                   std::vector<std::string> headers) {
    HttpRequest r;
    r.method = method;
    r.url = srv_.Url(path);
    r.body = body;
    r.headers = std::move(headers);
    r.ca_file = srv_.ca_file;
    return Perform(r);
  }
};

TEST_F(ApiDescriptionTest, EveryRouteIsDeclaredAndDescribed) {
  auto r = Call("GET", "/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body;
  const json doc = json::parse(r.body);
  EXPECT_EQ(doc["openapi"], "3.1.0");
  ASSERT_GT(srv_.router.routes().size(), 30U);
  for (const auto& route : srv_.router.routes()) {
    const api::Endpoint* e = endpoints_->Find(*route);
    ASSERT_NE(e, nullptr) << route->pattern;
    std::string method = http::MethodName(route->method);
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(doc["paths"].contains(route->pattern)) << route->pattern;
    const json& op = doc["paths"][route->pattern][method];
    EXPECT_FALSE(op.value("summary", "").empty()) << route->pattern;
    EXPECT_TRUE(op["responses"].contains(std::to_string(e->success))) << route->pattern;
    if (e->body == api::BodyKind::kJson) {
      // Every declared field is in the description, and nothing else.
      const json& props = op["requestBody"]["content"]["application/json"]["schema"]["properties"];
      EXPECT_EQ(props.size(), e->request.fields.size()) << route->pattern;
      for (const auto& f : e->request.fields) EXPECT_TRUE(props.contains(f.name)) << f.name;
    }
  }
}

// docs/api.md is generated from the declarations; `make api-docs` writes it anew.
TEST_F(ApiDescriptionTest, TheReferenceInDocsMatchesTheDeclarations) {
  const std::string path = std::string(PACTUM_SOURCE_DIR) + "/docs/api.md";
  const std::string generated = api::ApiMarkdown(endpoints_->endpoints());
  if (std::getenv("PACTUM_UPDATE_API_DOCS") != nullptr) {  // NOLINT(concurrency-mt-unsafe)
    std::ofstream(path, std::ios::trunc) << generated;
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(text.str() == generated)
      << "docs/api.md differs from the endpoint declarations: run `make api-docs`";
}

// Every error code the declarations document is one the server can answer: a status code's
// slug with its status, or a reason some code path gives (a WithReason literal in src/, or
// one a ...Refused("reason", ...) helper sets).
TEST_F(ApiDescriptionTest, EveryDocumentedErrorCodeExists) {
  std::set<std::string> reasons;
  const std::filesystem::path src = std::filesystem::path(PACTUM_SOURCE_DIR) / "src";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(src)) {
    if (entry.path().extension() != ".cc" || entry.path().string().ends_with("_test.cc")) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    // WithReason("x"), or a helper named ...Refused("x", ...) that sets it.
    for (const std::string marker : {"WithReason(\"", "Refused(\""}) {
      for (size_t at = s.find(marker); at != std::string::npos; at = s.find(marker, at + 1)) {
        const size_t start = at + marker.size();
        reasons.insert(s.substr(start, s.find('"', start) - start));
      }
    }
  }
  ASSERT_GT(reasons.size(), 10U);
  std::map<std::string, int> slugs;
  for (int c = static_cast<int>(StatusCode::kInvalidArgument);
       c <= static_cast<int>(StatusCode::kUnavailable); ++c) {
    const auto code = static_cast<StatusCode>(c);
    slugs[StatusCodeSlug(code)] = http::HttpStatusFor(code);
  }
  for (const auto& e : endpoints_->endpoints()) {
    auto cases = api::CommonErrors(*e);
    cases.insert(cases.end(), e->errors.begin(), e->errors.end());
    for (const auto& c : cases) {
      SCOPED_TRACE(e->path + " " + c.code);
      if (slugs.count(c.code) == 1) {
        EXPECT_EQ(slugs[c.code], c.status);
      } else {
        EXPECT_EQ(reasons.count(c.code), 1U) << "no code path answers this code";
      }
    }
  }
}

// Each JSON body: an undeclared field, a missing required one and a mistyped one are
// refused naming the field, a body not sent as JSON is 415, and the declared example
// (made true for this server) succeeds with every field read (strict table) and an answer
// of the declared shape, recording a declared audit action.
TEST_F(ApiDescriptionTest, EveryJsonBodyIsHeldToItsDeclaration) {
  const Login ready = Ready();
  const std::vector<std::string> ann = {"Cookie: " + ready.cookie, "X-CSRF-Token: " + ready.csrf};
  const int64_t acme = tenants_->FindBySlug("acme")->id;
  const auto bob = As("acme", "bob@example.com", auth::Role::kUser);
  const int64_t bob_id = ids_["bob@example.com"];
  auto contract = Call("POST", "/api/v1/contracts", R"({"title":"Lease"})", ann);
  ASSERT_EQ(contract.status, 201);
  const int64_t contract_id = json::parse(contract.body)["id"];

  // Two-factor set-ups: Tom begins an enrolment (confirmed by the probe); Mia has 2FA on,
  // and a pending login for the second step.
  const auto tom = As("acme", "tom@example.com", auth::Role::kViewer);
  auto begun = Call("POST", "/api/v1/me/totp", "", tom);
  ASSERT_EQ(begun.status, 200) << begun.body;
  const std::string tom_secret = json::parse(begun.body)["secret"];
  const auto mia = As("acme", "mia@example.com", auth::Role::kViewer);
  begun = Call("POST", "/api/v1/me/totp", "", mia);
  ASSERT_EQ(begun.status, 200) << begun.body;
  const std::string mia_secret = json::parse(begun.body)["secret"];
  ASSERT_EQ(
      Call("POST", "/api/v1/me/totp/confirm", json{{"code", Totp(mia_secret)}}.dump(), mia).status,
      200);
  clock_.Advance(std::chrono::seconds(30));
  auto pending = LogIn("acme", "mia@example.com", kNewPassword);
  ASSERT_EQ(pending.response.status, 200);
  const std::string mfa_token = json::parse(pending.response.body)["mfa_token"];
  const auto pat = As("acme", "pat@example.com", auth::Role::kViewer);

  struct Probe {
    std::string target;                // the concrete path
    std::vector<std::string> as;       // credentials
    std::function<void(json&)> fix;    // makes the example true for this server
    std::vector<std::string> headers;  // besides the credentials
  };
  const auto none = [](json&) {};
  std::map<std::pair<http::Method, std::string>, Probe> probes;
  const auto add = [&](http::Method m, const std::string& path, Probe p) {
    probes[{m, path}] = std::move(p);
  };
  using M = http::Method;
  add(M::kPost, "/api/v1/auth/login", {"/api/v1/auth/login", {}, [&](json& b) {
                                         b["tenant"] = "acme";
                                         b["email"] = "ann@example.com";
                                         b["password"] = kNewPassword;
                                       }});
  add(M::kPost, "/api/v1/auth/mfa", {"/api/v1/auth/mfa", {}, [&](json& b) {
                                       b["mfa_token"] = mfa_token;
                                       b["code"] = Totp(mia_secret);
                                     }});
  add(M::kPost, "/api/v1/me/password",
      {"/api/v1/me/password", pat, [&](json& b) { b["current"] = kNewPassword; }});
  add(M::kPost, "/api/v1/me/totp/confirm",
      {"/api/v1/me/totp/confirm", tom, [&](json& b) { b["code"] = Totp(tom_secret); }});
  add(M::kDelete, "/api/v1/me/totp", {"/api/v1/me/totp", mia, [&](json& b) {
                                        clock_.Advance(std::chrono::seconds(30));
                                        b["code"] = Totp(mia_secret);
                                      }});
  add(M::kPost, "/api/v1/users",
      {"/api/v1/users", ann, [](json& b) { b["email"] = "newcomer@example.com"; }});
  add(M::kPatch, "/api/v1/users/{id}", {"/api/v1/users/" + std::to_string(bob_id), ann, none});
  add(M::kPost, "/api/v1/tokens", {"/api/v1/tokens", ann, none});
  add(M::kPut, "/api/v1/settings", {"/api/v1/settings", ann, [](json& b) {
                                      b["require_2fa"] = false;
                                      b["ip_allowlist"] = {"127.0.0.0/8", "::1/128"};
                                    }});
  add(M::kPost, "/api/v1/contracts",
      {"/api/v1/contracts", ann, [&](json& b) { b["owner_id"] = ann_id_; }});
  add(M::kPatch, "/api/v1/contracts/{id}",
      {"/api/v1/contracts/" + std::to_string(contract_id),
       ann,
       [&](json& b) { b["owner_id"] = bob_id; },
       {"If-Match: \"1\""}});
  add(M::kPost, "/api/v1/custom-fields", {"/api/v1/custom-fields", ann, none});
  (void)bob;

  size_t probed = 0;
  for (const auto& ep : endpoints_->endpoints()) {
    const api::Endpoint& e = *ep;
    if (e.body != api::BodyKind::kJson) continue;
    SCOPED_TRACE(std::string(http::MethodName(e.method)) + " " + e.path);
    const auto it = probes.find({e.method, e.path});
    ASSERT_NE(it, probes.end()) << "a JSON endpoint without a probe in this test: add one";
    const Probe& p = it->second;
    const std::string method = http::MethodName(e.method);
    std::vector<std::string> headers = p.as;
    headers.insert(headers.end(), p.headers.begin(), p.headers.end());
    json example = api::ExampleOf(e.request);
    ASSERT_EQ(example.size(), e.request.fields.size());

    // Refusals first: they change nothing.
    json extra = example;
    extra["zz_undeclared"] = 1;
    auto r = Call(method, p.target, extra.dump(), headers);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("zz_undeclared"), std::string::npos) << r.body;
    for (const auto& f : e.request.fields) {
      if (f.required) {
        json missing = example;
        missing.erase(f.name);
        r = Call(method, p.target, missing.dump(), headers);
        EXPECT_EQ(r.status, 400) << f.name << ": " << r.body;
        EXPECT_NE(r.body.find("\"" + f.name + "\\\""), std::string::npos) << r.body;
      }
      if (f.type != api::Json::kAny) {
        json mistyped = example;
        mistyped[f.name] = WrongTypeFor(f);
        r = Call(method, p.target, mistyped.dump(), headers);
        EXPECT_EQ(r.status, 400) << f.name << ": " << r.body;
        EXPECT_NE(r.body.find(f.name), std::string::npos) << r.body;
      }
    }
    auto plain = headers;
    plain.push_back("Content-Type: text/plain");
    EXPECT_EQ(Raw(method, p.target, example.dump(), plain).status, 415);
    EXPECT_EQ(Raw(method, p.target, example.dump(), headers).status, 415) << "no Content-Type";

    // The example succeeds, every declared field read, the answer as declared.
    p.fix(example);
    const size_t before = Recorded(acme, e.audit);
    r = Call(method, p.target, example.dump(), headers);
    EXPECT_LT(r.status, 300) << r.body;
    EXPECT_EQ(r.status, e.success) << r.body;
    if (r.status < 300 && !r.body.empty() && !e.response.empty()) {
      const Status shape = api::CheckResponse(e.response, json::parse(r.body));
      EXPECT_TRUE(shape.ok()) << shape.message() << ": " << r.body;
    }
    if (!e.audit.empty()) {
      EXPECT_GT(Recorded(acme, e.audit), before) << "no declared action";
    }
    ++probed;
  }
  EXPECT_EQ(probed, probes.size()) << "a probe for an endpoint that takes no JSON body";
}

// Each GET answers in its declared shape; each declared query parameter is accepted (the
// handler answers 500 for one it does not handle) and an undeclared one refused.
TEST_F(ApiDescriptionTest, EveryReadAnswersInItsDeclaredShapeAndTakesItsDeclaredParameters) {
  const Login ready = Ready();
  const std::vector<std::string> ann = {"Cookie: " + ready.cookie, "X-CSRF-Token: " + ready.csrf};
  int64_t contract_id = 0;
  for (const char* title : {"Lease", "Supply"}) {
    auto c =
        Call("POST", "/api/v1/contracts",
             json{{"title", title}, {"tags", {"office"}}, {"end_date", "2027-06-30"}}.dump(), ann);
    ASSERT_EQ(c.status, 201);
    contract_id = json::parse(c.body)["id"];
  }
  auto up = Upload(ann, contract_id, "terms");
  ASSERT_EQ(up.status, 201) << up.body;
  const int64_t document_id = json::parse(up.body)["id"];
  auto page = Call("GET", "/api/v1/contracts?limit=1", "", ann);
  ASSERT_EQ(page.status, 200);
  const std::string contract_cursor = json::parse(page.body)["next_cursor"];
  auto events = Call("GET", "/api/v1/audit?limit=1", "", ann);
  ASSERT_EQ(events.status, 200);
  const std::string audit_cursor = json::parse(events.body)["next_cursor"];

  const std::map<std::string, std::string> targets = {
      {"/api/v1/contracts/{id}", "/api/v1/contracts/" + std::to_string(contract_id)},
      {"/api/v1/contracts/{id}/documents",
       "/api/v1/contracts/" + std::to_string(contract_id) + "/documents"},
      {"/api/v1/documents/{id}", "/api/v1/documents/" + std::to_string(document_id)},
  };
  // Values of this server for parameters whose example would not name anything here.
  const std::map<std::string, std::string> values = {
      {"cursor", ""},  // per endpoint, below
      {"owner_id", std::to_string(ann_id_)},
      {"actor", "user:" + std::to_string(ann_id_)},
  };
  size_t read = 0;
  for (const auto& ep : endpoints_->endpoints()) {
    const api::Endpoint& e = *ep;
    if (e.method != http::Method::kGet || e.path.starts_with("/files/")) continue;
    SCOPED_TRACE(e.path);
    std::string target = e.path;
    if (target.find('{') != std::string::npos) {
      ASSERT_TRUE(targets.count(e.path) == 1) << "a GET with parameters without a target here";
      target = targets.at(e.path);
    }
    auto r = Call("GET", target, "", ann);
    ASSERT_EQ(r.status, 200) << r.body;
    if (e.produces == "application/json" && !e.response.empty()) {
      const Status shape = api::CheckResponse(e.response, json::parse(r.body));
      EXPECT_TRUE(shape.ok()) << shape.message() << ": " << r.body.substr(0, 500);
    }
    for (const auto& q : e.query) {
      std::string value;
      if (q.name == "cursor") {
        value = e.path == "/api/v1/contracts" ? contract_cursor : audit_cursor;
      } else if (values.count(q.name) == 1) {
        value = values.at(q.name);
      } else {
        const json example = api::ExampleOf(q);
        value = example.is_string() ? example.get<std::string>() : example.dump();
      }
      std::string with_param = target;
      with_param += "?" + q.name;
      with_param += "=" + value;
      r = Call("GET", with_param, "", ann);
      EXPECT_EQ(r.status, 200) << q.name << "=" << value << ": " << r.body;
    }
    r = Call("GET", target + "?zz_undeclared=1", "", ann);
    EXPECT_EQ(r.status, 400) << r.body;
    ++read;
  }
  EXPECT_GE(read, 10U);
}

}  // namespace
}  // namespace pactum
