// The contract register over real HTTPS: every contract endpoint against every kind of
// caller, ownership for the `user` role, If-Match, the trash, list filters and pages, and
// tenant-defined custom fields.

#include "tests/support/api_test.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

class ContractApiTest : public ApiTest {
 protected:
  nlohmann::json Create(const std::vector<std::string>& as, const nlohmann::json& body) {
    auto r = Call("POST", "/api/v1/contracts", body.dump(), as);
    EXPECT_EQ(r.status, 201) << r.body;
    return nlohmann::json::parse(r.body);
  }
};

// Expectations written here, apart from the policy table: a mistake in either fails.
TEST_F(ContractApiTest, EveryContractEndpointAnswersEveryCallerAsExpected) {
  const auto ada = As("acme", "ada@example.com", auth::Role::kAdmin);
  struct Caller {
    std::string name, tenant, email;
    auth::Role role;
    std::vector<long> expected;  // list, create, get, patch, delete, restore
  };
  const std::vector<Caller> callers = {
      {"anonymous", "", "", auth::Role::kViewer, {401, 401, 401, 401, 401, 401}},
      {"viewer", "acme", "vera@example.com", auth::Role::kViewer, {200, 403, 200, 403, 403, 403}},
      {"user, not the owner",
       "acme",
       "uma@example.com",
       auth::Role::kUser,
       {200, 201, 200, 403, 403, 403}},
      {"manager", "acme", "max@example.com", auth::Role::kManager, {200, 201, 200, 200, 204, 200}},
      {"admin of another tenant",
       "globex",
       "bea@example.com",
       auth::Role::kAdmin,
       {200, 201, 404, 404, 404, 404}},
      {"admin", "acme", "ada@example.com", auth::Role::kAdmin, {200, 201, 200, 200, 204, 200}},
  };
  for (const Caller& c : callers) {
    std::vector<std::string> h;
    if (!c.email.empty()) h = As(c.tenant, c.email, c.role);
    // Two fresh contracts of Ada's: one to read, change and delete, one in the trash.
    const std::string path =
        "/api/v1/contracts/" + std::to_string(int64_t(Create(ada, {{"title", "A"}})["id"]));
    const std::string trashed =
        "/api/v1/contracts/" + std::to_string(int64_t(Create(ada, {{"title", "B"}})["id"]));
    ASSERT_EQ(Call("DELETE", trashed, "", ada).status, 204);
    std::vector<std::string> patch_headers = h;
    patch_headers.push_back("If-Match: \"1\"");
    const std::vector<long> got = {
        Call("GET", "/api/v1/contracts", "", h).status,
        Call("POST", "/api/v1/contracts", R"({"title":"New"})", h).status,
        Call("GET", path, "", h).status,
        Call("PATCH", path, R"({"status":"active"})", patch_headers).status,
        Call("DELETE", path, "", h).status,
        Call("POST", trashed + "/restore", "", h).status,
    };
    EXPECT_EQ(got, c.expected) << c.name;
  }
}

TEST_F(ContractApiTest, AUserChangesOnlyTheirOwnAndUpdatesNeedTheCurrentVersion) {
  const auto uma = As("acme", "uma@example.com", auth::Role::kUser);
  const auto max = As("acme", "max@example.com", auth::Role::kManager);
  auto own = Create(uma, {{"title", "Uma's NDA"}, {"counterparty", "Initech"}});
  EXPECT_EQ(own["owner_id"], ids_["uma@example.com"]);
  const std::string path = "/api/v1/contracts/" + std::to_string(int64_t(own["id"]));
  auto got = Call("GET", path, "", uma);
  EXPECT_EQ(got.headers["etag"], "\"1\"");
  auto with = [](std::vector<std::string> h, const std::string& extra) {
    h.push_back(extra);
    return h;
  };
  // No If-Match, a stale one, then the right one.
  EXPECT_EQ(Call("PATCH", path, R"({"status":"active"})", uma).status, 400);
  ASSERT_EQ(Call("PATCH", path, R"({"status":"active"})", with(uma, "If-Match: \"1\"")).status,
            200);
  auto stale = Call("PATCH", path, R"({"title":"lost"})", with(uma, "If-Match: 1"));
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(nlohmann::json::parse(stale.body)["error"]["code"], "version_mismatch");
  // A user cannot hand a contract over or create one for someone else; a manager can.
  const int64_t max_id = ids_["max@example.com"];
  EXPECT_EQ(
      Call("PATCH", path, nlohmann::json{{"owner_id", max_id}}.dump(), with(uma, "If-Match: 2"))
          .status,
      403);
  EXPECT_EQ(Call("POST", "/api/v1/contracts",
                 nlohmann::json{{"title", "x"}, {"owner_id", max_id}}.dump(), uma)
                .status,
            403);
  ASSERT_EQ(
      Call("PATCH", path, nlohmann::json{{"owner_id", max_id}}.dump(), with(max, "If-Match: 2"))
          .status,
      200);
  EXPECT_EQ(Call("PATCH", path, R"({"title":"mine again?"})", with(uma, "If-Match: 3")).status, 403)
      << "no longer Uma's";
  // Bad input: one clear 400, nothing changed.
  for (const char* body : {R"({"end_date":"2027-02-30"})", R"({"currency":"EURO","value_cents":1})",
                           R"({"color":"red"})", R"([1])", "not json"}) {
    EXPECT_EQ(Call("PATCH", path, body, with(max, "If-Match: 3")).status, 400) << body;
  }
  EXPECT_EQ(nlohmann::json::parse(Call("GET", path, "", max).body)["version"], 3);
}

TEST_F(ContractApiTest, TheTrashHidesAndRestoresAndTheListPages) {
  const auto max = As("acme", "max@example.com", auth::Role::kManager);
  const auto vera = As("acme", "vera@example.com", auth::Role::kViewer);
  for (int i = 0; i < 7; ++i) {
    Create(max, {{"title", "C" + std::to_string(i)},
                 {"counterparty", i < 3 ? "Globex Corp" : "Hooli"},
                 {"end_date", "2027-0" + std::to_string(i + 1) + "-01"},
                 {"tags", i == 2 ? nlohmann::json{"renewal", "it"} : nlohmann::json{"it"}}});
  }
  auto list = [&](const std::string& query, const std::vector<std::string>& as) {
    auto r = Call("GET", "/api/v1/contracts" + query, "", as);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    return nlohmann::json::parse(r.body);
  };
  EXPECT_EQ(list("?counterparty=globex", vera)["contracts"].size(), 3U);
  EXPECT_EQ(list("?tag=renewal", vera)["contracts"].size(), 1U);
  EXPECT_EQ(list("?end_from=2027-02-01&end_to=2027-04-30", vera)["contracts"].size(), 3U);
  // Pages of three, sorted by end date, until next_cursor is null.
  std::vector<std::string> ends;
  std::string cursor;
  for (int i = 0; i < 5; ++i) {
    auto page = list("?sort=end_date&limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor), vera);
    for (const auto& c : page["contracts"]) ends.push_back(c["end_date"]);
    if (page["next_cursor"].is_null()) break;
    cursor = page["next_cursor"];
  }
  EXPECT_EQ(ends.size(), 7U);
  EXPECT_TRUE(std::is_sorted(ends.begin(), ends.end()));
  for (const char* bad : {"?sort=evil", "?limit=0", "?status=signed", "?cursor=zz", "?x=1",
                          "?end_from=yesterday", "?status=a&status=b"}) {
    EXPECT_EQ(Call("GET", std::string("/api/v1/contracts") + bad, "", vera).status, 400) << bad;
  }
  // Delete to the trash: gone from reads, visible to managers in the trash, restorable.
  const int64_t id = list("?limit=1", vera)["contracts"][0]["id"];
  const std::string path = "/api/v1/contracts/" + std::to_string(id);
  ASSERT_EQ(Call("DELETE", path, "", max).status, 204);
  EXPECT_EQ(Call("GET", path, "", vera).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/contracts?trash=true", "", vera).status, 403);
  EXPECT_EQ(list("?trash=true", max)["contracts"].size(), 1U);
  auto restored = Call("POST", path + "/restore", "", max);
  ASSERT_EQ(restored.status, 200) << restored.body;
  EXPECT_EQ(Call("GET", path, "", vera).status, 200);
  EXPECT_EQ(Call("POST", path + "/restore", "", max).status, 404) << "not in the trash";
}

TEST_F(ContractApiTest, AdminsDefineCustomFieldsThatEveryContractIsCheckedAgainst) {
  const auto ada = As("acme", "ada@example.com", auth::Role::kAdmin);
  const auto vera = As("acme", "vera@example.com", auth::Role::kViewer);
  const auto uma = As("acme", "uma@example.com", auth::Role::kUser);
  const auto bea = As("globex", "bea@example.com", auth::Role::kAdmin);
  const nlohmann::json po = {
      {"key", "po"}, {"label", "PO number"}, {"type", "text"}, {"required", true}};
  EXPECT_EQ(Call("POST", "/api/v1/custom-fields", po.dump(), vera).status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/custom-fields", po.dump(), uma).status, 403);
  auto defined = Call("POST", "/api/v1/custom-fields", po.dump(), ada);
  ASSERT_EQ(defined.status, 201) << defined.body;
  nlohmann::json shown = po;
  shown["options"] = nlohmann::json::array();
  EXPECT_EQ(nlohmann::json::parse(defined.body), shown);
  auto again = Call("POST", "/api/v1/custom-fields", po.dump(), ada);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(nlohmann::json::parse(again.body)["error"]["code"], "already_exists");
  for (const nlohmann::json& field : {
           nlohmann::json{{"key", "tier"},
                          {"label", "Tier"},
                          {"type", "select"},
                          {"options", {"gold", "silver"}}},
           nlohmann::json{{"key", "fee"}, {"label", "Fee"}, {"type", "money"}},
           nlohmann::json{{"key", "score"}, {"label", "Score"}, {"type", "number"}},
       }) {
    clock_.Advance(std::chrono::seconds(1));
    ASSERT_EQ(Call("POST", "/api/v1/custom-fields", field.dump(), ada).status, 201) << field;
  }
  EXPECT_EQ(
      Call("POST", "/api/v1/custom-fields", R"({"key":"Bad Key","label":"x","type":"text"})", ada)
          .status,
      400);
  auto listed = Call("GET", "/api/v1/custom-fields", "", vera);
  ASSERT_EQ(listed.status, 200) << listed.body;
  const auto fields = nlohmann::json::parse(listed.body)["fields"];
  std::vector<std::string> keys;
  keys.reserve(fields.size());
  for (const auto& f : fields) keys.push_back(f["key"]);
  EXPECT_EQ(keys, (std::vector<std::string>{"po", "tier", "fee", "score"}));
  // Another tenant does not see them, cannot remove them, and cannot use them.
  EXPECT_EQ(Call("GET", "/api/v1/custom-fields", "", bea).body, R"({"fields":[]})");
  EXPECT_EQ(Call("DELETE", "/api/v1/custom-fields/po", "", bea).status, 404);
  EXPECT_EQ(Call("POST", "/api/v1/contracts", R"({"title":"x","custom":{"po":"1"}})", bea).status,
            400);

  // Contracts: valid values are stored and shown; each bad one is one 400 naming its key.
  const nlohmann::json fee = {{"amount_cents", 12345}, {"currency", "EUR"}};
  auto made = Create(
      uma, {{"title", "Supply"}, {"custom", {{"po", "PO-7"}, {"tier", "gold"}, {"fee", fee}}}});
  EXPECT_EQ(made["custom"], nlohmann::json({{"po", "PO-7"}, {"tier", "gold"}, {"fee", fee}}));
  for (const auto& [custom, key] : std::vector<std::pair<nlohmann::json, std::string>>{
           {{{"tier", "gold"}}, "po"},  // required
           {{{"po", "1"}, {"tier", "platinum"}}, "tier"},
           {{{"po", "1"}, {"fee", {{"amount_cents", 1}, {"currency", "EURO"}}}}, "fee"},
           {{{"po", "1"}, {"score", "3"}}, "score"},
           {{{"po", "1"}, {"color", "red"}}, "color"},
       }) {
    auto r = Call("POST", "/api/v1/contracts",
                  nlohmann::json{{"title", "x"}, {"custom", custom}}.dump(), uma);
    EXPECT_EQ(r.status, 400) << custom;
    EXPECT_NE(
        nlohmann::json::parse(r.body)["error"]["message"].get<std::string>().find("custom." + key),
        std::string::npos)
        << r.body;
  }
  // PATCH merges key by key; null removes, except for a required field.
  const std::string path = "/api/v1/contracts/" + std::to_string(int64_t(made["id"]));
  auto patched = Call("PATCH", path, R"({"custom":{"tier":null,"score":4.5}})",
                      {uma[0], uma[1], "If-Match: \"1\""});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(nlohmann::json::parse(patched.body)["custom"],
            nlohmann::json({{"po", "PO-7"}, {"fee", fee}, {"score", 4.5}}));
  EXPECT_EQ(
      Call("PATCH", path, R"({"custom":{"po":null}})", {uma[0], uma[1], "If-Match: \"2\""}).status,
      400);
  // A field with values cannot go; one without can.
  auto in_use = Call("DELETE", "/api/v1/custom-fields/po", "", ada);
  EXPECT_EQ(in_use.status, 409);
  EXPECT_EQ(nlohmann::json::parse(in_use.body)["error"]["code"], "field_in_use");
  EXPECT_EQ(Call("DELETE", "/api/v1/custom-fields/tier", "", vera).status, 403);
  EXPECT_EQ(Call("DELETE", "/api/v1/custom-fields/tier", "", ada).status, 204);
  EXPECT_EQ(Call("DELETE", "/api/v1/custom-fields/tier", "", ada).status, 404);
}

}  // namespace
}  // namespace pactum
