#include "contract/contract_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "auth/user_service.h"
#include "crypto/local_key_provider.h"
#include "store/sqlite_database.h"
#include "tenant/tenant_service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/recording_audit_sink.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::contract {
namespace {

class ContractServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.path = dir_.File("p.db");
    o.key = testing_support::RandomKey();
    db_ = std::move(store::OpenSqliteDatabase(o)).value();
    provider_ = std::move(crypto::LocalKeyProvider::Create(dir_.File("master.key"), "dev")).value();
    keys_ = std::make_unique<tenant::TenantKeys>(*provider_, clock_);
    tenant::TenantService tenants(*db_, clock_, *keys_);
    acme_ = tenants.Create("acme")->id;
    globex_ = tenants.Create("globex")->id;
    auth::UserService users(*db_, clock_, crypto::PasswordParams{}, testing_support::TestAudit());
    ann_ = users
               .Create(testing_support::TestActor(), acme_, "ann@example.com", "Ann",
                       auth::Role::kUser)
               ->first.id;
    bob_ = users
               .Create(testing_support::TestActor(), acme_, "bob@example.com", "Bob",
                       auth::Role::kManager)
               ->first.id;
    gus_ = users
               .Create(testing_support::TestActor(), globex_, "gus@example.com", "Gus",
                       auth::Role::kAdmin)
               ->first.id;
    service_ = std::make_unique<ContractService>(*db_, clock_, testing_support::TestAudit());
  }

  Result<Contract> Make(const nlohmann::json& body, int64_t tenant = 0, int64_t creator = 0) {
    return service_->Create(testing_support::TestActor(), tenant == 0 ? acme_ : tenant,
                            creator == 0 ? ann_ : creator, body);
  }

  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<crypto::LocalKeyProvider> provider_;
  std::unique_ptr<tenant::TenantKeys> keys_;
  std::unique_ptr<ContractService> service_;
  int64_t acme_ = 0, globex_ = 0, ann_ = 0, bob_ = 0, gus_ = 0;
};

TEST(ContractFields, DatesAndCurrenciesAreReal) {
  for (const char* ok : {"2024-02-29", "2027-12-31", "2000-02-29", "1999-01-01"}) {
    EXPECT_TRUE(IsIsoDate(ok)) << ok;
  }
  for (const char* bad : {"2023-02-29", "1900-02-29", "2027-13-01", "2027-00-10", "2027-04-31",
                          "2027-1-01", "27-01-01", "2027/01/01", "2027-01-01T00:00", ""}) {
    EXPECT_FALSE(IsIsoDate(bad)) << bad;
  }
  EXPECT_TRUE(IsCurrency("EUR"));
  EXPECT_TRUE(IsCurrency("CHF"));
  EXPECT_TRUE(IsCurrency("JPY"));
  for (const char* bad : {"eur", "EURO", "ABC", "XXX", "XTS", ""})
    EXPECT_FALSE(IsCurrency(bad)) << bad;
}

TEST(ContractFields, EveryBadFieldIsRefusedByName) {
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {{{"title", ""}}, "title"},
      {{{"title", std::string(501, 't')}}, "title"},
      {{{"title", 5}}, "title"},
      {{{"title", "a\nb"}}, "title"},
      {{{"title", "x"}, {"status", "signed"}}, "status"},
      {{{"title", "x"}, {"start_date", "2027-02-30"}}, "start_date"},
      {{{"title", "x"}, {"start_date", "2027-03-01"}, {"end_date", "2027-02-28"}}, "end_date"},
      {{{"title", "x"}, {"value_cents", 100}}, "currency"},
      {{{"title", "x"}, {"currency", "EUR"}}, "currency"},
      {{{"title", "x"}, {"value_cents", -1}, {"currency", "EUR"}}, "value_cents"},
      {{{"title", "x"}, {"currency", "DOLLARS"}, {"value_cents", 1}}, "currency"},
      {{{"title", "x"}, {"tags", {""}}}, "tags"},
      {{{"title", "x"}, {"tags", "a"}}, "tags"},
      {{{"title", "x"}, {"renewal_months", 0}}, "renewal_months"},
      {{{"title", "x"}, {"notice_days", 1.5}}, "notice_days"},
      {{{"title", "x"}, {"custom", {{"po", "1"}}}}, "custom"},
      {{{"title", "x"}, {"version", 3}}, "version"},
      {{{"title", "x"}, {"id", 3}}, "id"},
      {{{"title", "tab\there"}}, "title"},
      {{{"title", "del\x7f"}}, "title"},
      {{{"title", "c1 \xc2\x85"}}, "title"},
      {{{"title", "evil \xe2\x80\xae gnp.exe"}}, "title"},
      {{{"title", "x"}, {"tags", {"a\tb"}}}, "tags"},
      {{{"counterparty", "no title"}}, "title"},
  };
  for (const auto& [body, field] : cases) {
    Contract c;
    const Status s = ApplyFields(body, {}, Change::kCreate, c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << body.dump();
    EXPECT_NE(s.message().find(field), std::string::npos) << body.dump() << ": " << s.message();
  }
  Contract c;
  ASSERT_TRUE(ApplyFields({{"title", "Lease"},
                           {"tags", {"b", "a", "b"}},
                           {"value_cents", 120000},
                           {"currency", "EUR"},
                           {"start_date", "2027-01-01"},
                           {"end_date", "2027-01-01"}},
                          {}, Change::kCreate, c)
                  .ok());
  EXPECT_EQ(c.tags, (std::vector<std::string>{"a", "b"})) << "tags are a set";
}

TEST(ContractFields, TextFieldsKeepTheOneTextRule) {
  using namespace std::string_literals;
  std::string cyrillic_500;
  for (int i = 0; i < 500; ++i) cyrillic_500 += "ж";  // 1000 bytes: counted in characters
  Contract ok;
  ASSERT_TRUE(ApplyFields({{"title", cyrillic_500}}, {}, Change::kCreate, ok).ok());
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"title", "\0x"s, "\"title\" contains a control character (U+0000)"},
      {"title", "a\tb", "\"title\" contains a control character (U+0009)"},
      {"title", "evil\u202egnp.exe",
       "\"title\" contains a bidirectional control character (U+202E)"},
      {"title", "ad\u200bmin", "\"title\" contains an invisible character (U+200B)"},
      {"title", cyrillic_500 + "ж", "\"title\" must be 1-500 characters"},
      {"title", " Lease", "\"title\" must not start or end with a space"},
      {"counterparty", "ACME\u2066",
       "\"counterparty\" contains a bidirectional control character (U+2066)"},
      {"type", "x\u200by", "\"type\" contains an invisible character (U+200B)"},
      {"type", std::string(101, 't'), "\"type\" must be at most 100 characters"},
  };
  for (const auto& [field, value, message] : cases) {
    nlohmann::json body = {{"title", "Lease"}};
    body[field] = value;
    Contract c;
    EXPECT_EQ(ApplyFields(body, {}, Change::kCreate, c).message(), message) << field;
  }
  for (const std::string& tag : std::vector<std::string>{"\0x"s, "a\tb", "x\u202e", "x\u200b",
                                                         std::string(51, 't'), "urgent "}) {
    Contract c;
    const Status s =
        ApplyFields({{"title", "Lease"}, {"tags", {"fine", tag}}}, {}, Change::kCreate, c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << tag;
    EXPECT_EQ(s.message().rfind("\"tags\" ", 0), 0U) << s.message();
  }
}

TEST_F(ContractServiceTest, CorruptStoredJsonIsDataLossNotACrash) {
  auto c = Make({{"title", "Lease"}, {"tags", {"a"}}});
  ASSERT_TRUE(c.ok());
  for (const auto& stored : std::vector<std::pair<std::string, std::string>>{
           {"not json", "{}"}, {"[1]", "{}"}, {"[\"a\"]", "[]"}, {"[\"a\"]", "{\"x\":1e400}"}}) {
    const std::string& tags = stored.first;
    const std::string& custom = stored.second;
    ASSERT_TRUE(db_->Write([&](store::Session& s) {
                     return s
                         .Execute("UPDATE contracts SET tags = $1, custom = $2 WHERE id = $3",
                                  {tags, custom, c->id})
                         .status();
                   })
                    .ok());
    Result<Contract> got = Status::Ok();
    EXPECT_NO_THROW(got = service_->Get(acme_, c->id));
    EXPECT_EQ(got.status().code(), StatusCode::kDataLoss) << tags << " " << custom;
    EXPECT_EQ(service_->List(acme_, {}).status().code(), StatusCode::kDataLoss);
  }
}

TEST_F(ContractServiceTest, CreatedContractsBelongToTheirTenantOnly) {
  auto c = Make({{"title", "Office lease"},
                 {"counterparty", "Landlord AG"},
                 {"status", "active"},
                 {"end_date", "2028-06-30"},
                 {"notice_days", 90}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->owner_id, ann_) << "the creator owns it by default";
  EXPECT_EQ(c->version, 1);
  EXPECT_EQ(c->created_at, "2027-01-01T00:00:00Z");
  auto got = service_->Get(acme_, c->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(ToJson(*got), ToJson(*c));
  EXPECT_EQ(service_->Get(globex_, c->id).status().code(), StatusCode::kNotFound);
  // An owner from another tenant, or none, is refused.
  EXPECT_EQ(Make({{"title", "x"}, {"owner_id", gus_}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Make({{"title", "x"}, {"owner_id", 999}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(Make({{"title", "x"}, {"owner_id", bob_}}).ok());
}

TEST_F(ContractServiceTest, UpdatesNeedTheCurrentVersion) {
  auto c = Make({{"title", "Supply"}});
  ASSERT_TRUE(c.ok());
  auto v2 = service_->Update(testing_support::TestActor(), acme_, c->id, 1,
                             {{"title", "Supply 2027"}, {"tags", {"key"}}});
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->title, "Supply 2027");
  auto stale =
      service_->Update(testing_support::TestActor(), acme_, c->id, 1, {{"title", "lost update"}});
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(stale.status().reason(), "version_mismatch");
  EXPECT_EQ(service_->Get(acme_, c->id)->title, "Supply 2027");
  EXPECT_EQ(service_->Update(testing_support::TestActor(), acme_, c->id, 2, {{"end_date", "bad"}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Get(acme_, c->id)->version, 2) << "a refused update changes nothing";
  EXPECT_EQ(service_->Update(testing_support::TestActor(), globex_, c->id, 2, {{"title", "x"}})
                .status()
                .code(),
            StatusCode::kNotFound);
}

TEST_F(ContractServiceTest, TheOwnerRuleIsCheckedOnTheRowThatChanges) {
  auto bobs = Make({{"title", "Bob's"}, {"owner_id", bob_}});
  ASSERT_TRUE(bobs.ok());
  EXPECT_EQ(
      service_->Update(testing_support::TestActor(), acme_, bobs->id, 1, {{"title", "taken"}}, ann_)
          .status()
          .reason(),
      "not_owner");
  EXPECT_EQ(service_->Trash(testing_support::TestActor(), acme_, bobs->id, ann_).reason(),
            "not_owner");
  ASSERT_TRUE(service_->Trash(testing_support::TestActor(), acme_, bobs->id, bob_).ok());
  EXPECT_EQ(
      service_->Restore(testing_support::TestActor(), acme_, bobs->id, ann_).status().reason(),
      "not_owner");
  EXPECT_TRUE(service_->Restore(testing_support::TestActor(), acme_, bobs->id, bob_).ok());
  EXPECT_EQ(service_->Get(acme_, bobs->id)->title, "Bob's");
  // Another tenant's caller never learns it exists.
  EXPECT_EQ(service_->Trash(testing_support::TestActor(), globex_, bobs->id, gus_).code(),
            StatusCode::kNotFound);
}

TEST_F(ContractServiceTest, TheTrashKeepsContractsRestorableForThirtyDays) {
  auto keep = Make({{"title", "Restored"}});
  auto gone = Make({{"title", "Purged"}});
  ASSERT_TRUE(service_->Trash(testing_support::TestActor(), acme_, keep->id).ok());
  ASSERT_TRUE(service_->Trash(testing_support::TestActor(), acme_, gone->id).ok());
  EXPECT_EQ(service_->Get(acme_, keep->id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Trash(testing_support::TestActor(), acme_, keep->id).code(),
            StatusCode::kNotFound);
  ListQuery trash;
  trash.trash = true;
  EXPECT_EQ(service_->List(acme_, trash)->contracts.size(), 2U);
  EXPECT_EQ(service_->List(acme_, {})->contracts.size(), 0U);
  EXPECT_EQ(service_->Restore(testing_support::TestActor(), globex_, keep->id).status().code(),
            StatusCode::kNotFound);
  clock_.Advance(std::chrono::hours(24 * 29));
  ASSERT_TRUE(service_->Restore(testing_support::TestActor(), acme_, keep->id).ok());
  EXPECT_TRUE(service_->PurgeTrash()->contract_ids.empty());
  clock_.Advance(std::chrono::hours(24));
  EXPECT_EQ(service_->Restore(testing_support::TestActor(), acme_, gone->id).status().code(),
            StatusCode::kNotFound)
      << "thirty days in the trash: too late to restore";
  EXPECT_EQ(service_->PurgeTrash()->contract_ids, std::vector<int64_t>{gone->id});
  EXPECT_EQ(service_->Get(acme_, gone->id, true).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(service_->Get(acme_, keep->id).ok());
}

TEST_F(ContractServiceTest, ListFiltersAndPagesWithoutGapsOrRepeats) {
  for (int i = 0; i < 23; ++i) {
    nlohmann::json body = {{"title", "Contract " + std::to_string(100 - i)},
                           {"counterparty", i % 2 == 0 ? "Acme Supplies" : "Other Ltd"},
                           {"status", i % 3 == 0 ? "active" : "draft"},
                           {"tags", i % 4 == 0 ? nlohmann::json{"it"} : nlohmann::json::array()},
                           {"owner_id", i % 5 == 0 ? bob_ : ann_}};
    if (i % 6 != 0) body["end_date"] = "2027-0" + std::to_string(1 + i % 9) + "-15";
    ASSERT_TRUE(Make(body).ok());
  }
  ASSERT_TRUE(Make({{"title", "Elsewhere"}}, globex_, gus_).ok());
  for (const char* sort : {"id", "title", "end_date", "updated_at"}) {
    ListQuery q;
    q.sort = sort;
    q.limit = 5;
    std::vector<int64_t> seen;
    std::vector<std::string> keys;
    for (int pages = 0; pages < 10; ++pages) {
      auto page = service_->List(acme_, q);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      for (const auto& c : page->contracts) {
        seen.push_back(c.id);
        keys.push_back(q.sort == "title" ? c.title : q.sort == "end_date" ? c.end_date : "");
      }
      if (page->next_cursor.empty()) break;
      q.cursor = page->next_cursor;
    }
    EXPECT_EQ(seen.size(), 23U) << sort;
    EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 23U) << sort << ": repeats";
    EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end())) << sort;
  }
  auto count = [&](ListQuery q) { return service_->List(acme_, q)->contracts.size(); };
  ListQuery q;
  q.limit = 200;
  q.status = "active";
  EXPECT_EQ(count(q), 8U);
  q = ListQuery{};
  q.counterparty = "acme SUP";
  EXPECT_EQ(count(q), 12U);
  q = ListQuery{};
  q.tag = "it";
  EXPECT_EQ(count(q), 6U);
  q = ListQuery{};
  q.owner_id = bob_;
  EXPECT_EQ(count(q), 5U);
  q = ListQuery{};
  q.end_from = "2027-03-01";
  q.end_to = "2027-05-31";
  EXPECT_EQ(count(q), 8U);
  q = ListQuery{};
  q.sort = "title";
  q.limit = 2;
  const std::string title_cursor = service_->List(acme_, q)->next_cursor;
  q.sort = "end_date";
  q.cursor = title_cursor;
  EXPECT_EQ(service_->List(acme_, q).status().code(), StatusCode::kInvalidArgument)
      << "a cursor of another sort order";
  q = ListQuery{};
  q.cursor = "zz";
  EXPECT_EQ(service_->List(acme_, q).status().code(), StatusCode::kInvalidArgument);
  q = ListQuery{};
  q.sort = "title; DROP TABLE contracts";
  EXPECT_EQ(service_->List(acme_, q).status().code(), StatusCode::kInvalidArgument);
  q = ListQuery{};
  q.limit = 0;
  EXPECT_EQ(service_->List(acme_, q).status().code(), StatusCode::kInvalidArgument);
}

std::vector<std::string> Titles(const Result<Page>& page) {
  std::vector<std::string> out;
  if (!page.ok()) return {"error: " + page.status().ToString()};
  for (const auto& c : page->contracts) out.push_back(c.title);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(ContractServiceTest, CounterpartyFilterMatchesTheTextGivenNotAPattern) {
  for (const char* counterparty :
       {"100% Organic", "100 Percent", "under_score Ltd", "underXscore Ltd", "O'Brien & Sons",
        "Back\\slash", "Backslash", "ÄRZTEKAMMER Nord", "Straße GmbH", "\"Quoted\" AG"}) {
    ASSERT_TRUE(Make({{"title", counterparty}, {"counterparty", counterparty}}).ok());
  }
  auto matching = [&](const std::string& text) {
    ListQuery q;
    q.counterparty = text;
    q.limit = 200;
    return Titles(service_->List(acme_, q));
  };
  using V = std::vector<std::string>;
  // SQL wildcards and the escape character are plain characters to the user.
  EXPECT_EQ(matching("%"), V{"100% Organic"});
  EXPECT_EQ(matching("0%"), V{"100% Organic"});
  EXPECT_EQ(matching("_"), V{"under_score Ltd"});
  EXPECT_EQ(matching("r_s"), V{"under_score Ltd"});
  EXPECT_EQ(matching("\\"), V{"Back\\slash"});
  EXPECT_EQ(matching("k\\s"), V{"Back\\slash"});
  // Quotes reach the database only as bound values.
  EXPECT_EQ(matching("o'brien"), V{"O'Brien & Sons"});
  EXPECT_EQ(matching("\"quoted\""), V{"\"Quoted\" AG"});
  EXPECT_EQ(matching("' OR 1=1 --"), V{});
  // Case beyond ASCII, either way round; ß and ss alike.
  EXPECT_EQ(matching("ärztekammer"), V{"ÄRZTEKAMMER Nord"});
  EXPECT_EQ(matching("ÄRZTEKAMMER NORD"), V{"ÄRZTEKAMMER Nord"});
  EXPECT_EQ(matching("STRASSE"), V{"Straße GmbH"});
  EXPECT_EQ(matching("straße"), V{"Straße GmbH"});
  EXPECT_EQ(matching("ＯＲＧＡＮＩＣ"), V{"100% Organic"}) << "full-width letters";
  EXPECT_EQ(matching("100"), (V{"100 Percent", "100% Organic"}));
  // A renamed counterparty is found under its new name only.
  auto c = Make({{"title", "Renamed"}, {"counterparty", "Initech"}});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(service_
                  ->Update(testing_support::TestActor(), acme_, c->id, c->version,
                           {{"counterparty", "Hooli Ärzte"}})
                  .ok());
  EXPECT_EQ(matching("initech"), V{});
  EXPECT_EQ(matching("ÄRZTE"), (V{"Renamed", "ÄRZTEKAMMER Nord"}));
  ListQuery q;
  q.counterparty = std::string(501, 'a');
  EXPECT_EQ(service_->List(acme_, q).status().code(), StatusCode::kInvalidArgument);
  q.counterparty = "\xff";
  EXPECT_EQ(service_->List(acme_, q).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ContractServiceTest, TagFilterIsExactAndFollowsEveryChangeOfTheTags) {
  auto make = [&](const std::string& title, const nlohmann::json& tags) {
    auto c = Make({{"title", title}, {"tags", tags}});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Contract{};
  };
  const Contract fifty = make("fifty", {"50%", "it's"});
  const Contract five_hundred = make("five hundred", {"500"});
  const Contract a_b = make("a_b", {"a_b", "Ärzte"});
  make("axb", {"axb"});
  ASSERT_TRUE(Make({{"title", "other tenant"}, {"tags", {"50%"}}}, globex_, gus_).ok());
  auto tagged = [&](const std::string& tag, bool trash = false) {
    ListQuery q;
    q.tag = tag;
    q.trash = trash;
    q.limit = 200;
    return Titles(service_->List(acme_, q));
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(tagged("50%"), V{"fifty"}) << "only this tenant's";
  EXPECT_EQ(tagged("%"), V{});
  EXPECT_EQ(tagged("a_b"), V{"a_b"});
  EXPECT_EQ(tagged("it's"), V{"fifty"});
  EXPECT_EQ(tagged("Ärzte"), V{"a_b"});
  EXPECT_EQ(tagged("ärzte"), V{}) << "tags are exact, as stored";
  // Changed tags are what the filter sees, in the same transaction as the contract.
  auto changed = service_->Update(testing_support::TestActor(), acme_, fifty.id, fifty.version,
                                  {{"tags", {"500", "new"}}});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(tagged("50%"), V{});
  EXPECT_EQ(tagged("500"), (V{"fifty", "five hundred"}));
  EXPECT_EQ(tagged("new"), V{"fifty"});
  // Untouched tags stay when other fields change.
  ASSERT_TRUE(service_
                  ->Update(testing_support::TestActor(), acme_, fifty.id, changed->version,
                           {{"title", "fifty!"}})
                  .ok());
  EXPECT_EQ(tagged("new"), V{"fifty!"});
  // The trash keeps them; a filtered page of the trash finds them there.
  ASSERT_TRUE(service_->Trash(testing_support::TestActor(), acme_, five_hundred.id).ok());
  EXPECT_EQ(tagged("500"), V{"fifty!"});
  EXPECT_EQ(tagged("500", /*trash=*/true), V{"five hundred"});
  // Keyset pages over a tag filter: every match once.
  ListQuery q;
  q.tag = "500";
  q.limit = 1;
  q.trash = false;
  ASSERT_TRUE(service_->Restore(testing_support::TestActor(), acme_, five_hundred.id).ok());
  std::vector<int64_t> seen;
  for (int pages = 0; pages < 5; ++pages) {
    auto page = service_->List(acme_, q);
    ASSERT_TRUE(page.ok());
    for (const auto& c : page->contracts) seen.push_back(c.id);
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{fifty.id, five_hundred.id}));
  // Purged contracts leave no tag rows behind.
  ASSERT_TRUE(service_->Trash(testing_support::TestActor(), acme_, a_b.id).ok());
  clock_.Advance(std::chrono::hours(24 * (ContractService::kTrashDays + 1)));
  auto purged = service_->PurgeTrash();
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(purged->contract_ids, std::vector<int64_t>{a_b.id});
  int64_t rows_of_a_b = -1;
  ASSERT_TRUE(db_->Read([&](store::Session& s) -> Status {
                   ASSIGN_OR_RETURN(auto r, s.Query("SELECT count(*) FROM contract_tags WHERE "
                                                    "contract_id = $1",
                                                    {a_b.id}));
                   rows_of_a_b = r[0].Int(0);
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(rows_of_a_b, 0);
  q = ListQuery{};
  q.tag = std::string(51, 't');
  EXPECT_EQ(service_->List(acme_, q).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pactum::contract
