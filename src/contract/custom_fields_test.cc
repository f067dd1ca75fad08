#include "contract/custom_fields.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>

#include "auth/user_service.h"
#include "contract/contract_service.h"
#include "crypto/local_key_provider.h"
#include "store/sqlite_database.h"
#include "tenant/tenant_service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/recording_audit_sink.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::contract {
namespace {

using nlohmann::json;

CustomField Field(std::string key, std::string type, std::vector<std::string> options = {},
                  bool required = false) {
  CustomField f;
  f.key = std::move(key);
  f.label = "Label of " + f.key;
  f.type = std::move(type);
  f.options = std::move(options);
  f.required = required;
  return f;
}

const std::vector<CustomField>& Fields() {
  static const auto* fields = new std::vector<CustomField>{
      Field("note", "text"),
      Field("score", "number"),
      Field("signed_on", "date"),
      Field("fee", "money"),
      Field("tier", "select", {"gold", "silver"}),
  };
  return *fields;
}

// The first refused value names the key it belongs to.
void ExpectRefused(const json& custom, const std::string& key) {
  const Status s = ValidateCustom(Fields(), custom);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << custom.dump();
  EXPECT_NE(s.message().find("\"custom." + key + "\""), std::string::npos)
      << custom.dump() << ": " << s.message();
}

TEST(CustomFieldValues, EachTypeAcceptsItsOwnValues) {
  for (const json& ok : std::vector<json>{
           {{"note", "plain"}},
           {{"note", "two\nlines\tand a tab"}},
           {{"note", std::string(2000, 'n')}},
           {{"note", "Grüße, 東京"}},
           {{"score", 3}},
           {{"score", -2.5}},
           {{"score", 1e300}},
           {{"score", 18446744073709551615ULL}},
           {{"signed_on", "2024-02-29"}},
           {{"fee", {{"amount_cents", 129900}, {"currency", "EUR"}}}},
           {{"fee", {{"amount_cents", -500}, {"currency", "CHF"}}}},
           {{"fee", {{"amount_cents", int64_t{1} << 53}, {"currency", "JPY"}}}},
           {{"tier", "silver"}},
           {{"note", nullptr}, {"tier", nullptr}},  // null removes, whatever the type
           json::object(),
       }) {
    const Status s = ValidateCustom(Fields(), ok);
    EXPECT_TRUE(s.ok()) << ok.dump() << ": " << s.message();
  }
}

TEST(CustomFieldValues, EachTypeRefusesOtherValuesByKey) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"note", ""}}, "note"},
      {{{"note", std::string(2001, 'n')}}, "note"},
      {{{"note", "carriage\rreturn"}}, "note"},
      {{{"note", "evil \xe2\x80\xae gnp.exe"}}, "note"},
      {{{"note", "bad utf-8 \xff"}}, "note"},
      {{{"note", std::string("nul \0 inside", 12)}}, "note"},
      {{{"note", "hidden\u200bword"}}, "note"},
      {{{"note", "isolate \u2067"}}, "note"},
      {{{"note", 5}}, "note"},
      {{{"score", "3"}}, "score"},  // a number given as a string
      {{{"score", true}}, "score"},
      {{{"score", std::numeric_limits<double>::infinity()}}, "score"},
      {{{"score", std::numeric_limits<double>::quiet_NaN()}}, "score"},
      {{{"signed_on", "2025-02-30"}}, "signed_on"},
      {{{"signed_on", "2025-2-3"}}, "signed_on"},
      {{{"signed_on", 20250228}}, "signed_on"},
      {{{"fee", {{"amount_cents", 100}, {"currency", "EURO"}}}}, "fee"},
      {{{"fee", {{"amount_cents", 100}, {"currency", "XXX"}}}}, "fee"},
      {{{"fee", {{"amount_cents", 100}, {"currency", "eur"}}}}, "fee"},
      {{{"fee", {{"amount_cents", 1.5}, {"currency", "EUR"}}}}, "fee"},
      {{{"fee", {{"amount_cents", "100"}, {"currency", "EUR"}}}}, "fee"},
      {{{"fee", {{"amount_cents", (int64_t{1} << 53) + 1}, {"currency", "EUR"}}}}, "fee"},
      {{{"fee", {{"amount_cents", 100}}}}, "fee"},
      {{{"fee", {{"amount_cents", 100}, {"currency", "EUR"}, {"note", "x"}}}}, "fee"},
      {{{"fee", "100 EUR"}}, "fee"},
      {{{"fee", 100}}, "fee"},
      {{{"tier", "platinum"}}, "tier"},  // not one of the options
      {{{"tier", "GOLD"}}, "tier"},
      {{{"tier", json::array({"gold"})}}, "tier"},
      {{{"color", "red"}}, "color"},  // no such field
      {{{"Note", "x"}}, "Note"},
  };
  for (const auto& [custom, key] : cases) ExpectRefused(custom, key);
  EXPECT_EQ(ValidateCustom(Fields(), json::array()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateCustom(Fields(), "x").code(), StatusCode::kInvalidArgument);
}

TEST(CustomFieldValues, APatchMergesKeysAndNullRemovesOne) {
  json values = {{"note", "kept"}, {"score", 1}};
  ASSERT_TRUE(ApplyCustom(Fields(), {{"score", 2}, {"tier", "gold"}}, false, values).ok());
  EXPECT_EQ(values, json({{"note", "kept"}, {"score", 2}, {"tier", "gold"}}));
  ASSERT_TRUE(ApplyCustom(Fields(), {{"note", nullptr}, {"fee", nullptr}}, false, values).ok());
  EXPECT_EQ(values, json({{"score", 2}, {"tier", "gold"}})) << "null removes; absent is fine";
  // One bad key refuses the whole patch.
  EXPECT_FALSE(ApplyCustom(Fields(), {{"score", 3}, {"tier", "bronze"}}, false, values).ok());
  EXPECT_EQ(values, json({{"score", 2}, {"tier", "gold"}}));
}

TEST(CustomFieldValues, RequiredFieldsAreNeededOnCreateAndCannotBeRemoved) {
  std::vector<CustomField> fields = Fields();
  fields.push_back(Field("po_number", "text", {}, /*required=*/true));
  json values = json::object();
  const Status missing = ApplyCustom(fields, {{"note", "x"}}, /*creating=*/true, values);
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("custom.po_number"), std::string::npos) << missing.message();
  EXPECT_FALSE(ApplyCustom(fields, {{"po_number", nullptr}}, true, values).ok());
  ASSERT_TRUE(ApplyCustom(fields, {{"po_number", "PO-1"}}, true, values).ok());
  // A change may leave it alone or set it, not remove it.
  EXPECT_TRUE(ApplyCustom(fields, {{"note", "y"}}, false, values).ok());
  EXPECT_TRUE(ApplyCustom(fields, {{"po_number", "PO-2"}}, false, values).ok());
  const Status removed = ApplyCustom(fields, {{"po_number", nullptr}}, false, values);
  EXPECT_EQ(removed.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(removed.message().find("custom.po_number"), std::string::npos);
  EXPECT_EQ(values["po_number"], "PO-2");
  // A contract from before the field was required is not made to have it by a change.
  json older = {{"note", "old"}};
  EXPECT_TRUE(ApplyCustom(fields, {{"note", "newer"}}, false, older).ok());

  // Through ApplyFields: a create body without `custom` still needs the required field.
  Contract c;
  const Status no_custom = ApplyFields({{"title", "Lease"}}, fields, Change::kCreate, c);
  EXPECT_NE(no_custom.message().find("custom.po_number"), std::string::npos) << no_custom.message();
  ASSERT_TRUE(ApplyFields({{"title", "Lease"}, {"custom", {{"po_number", "PO-9"}}}}, fields,
                          Change::kCreate, c)
                  .ok());
  EXPECT_TRUE(ApplyFields({{"title", "Lease 2"}}, fields, Change::kUpdate, c).ok());
  EXPECT_EQ(c.custom, json({{"po_number", "PO-9"}}));
}

TEST(CustomFieldValues, KeepDefinedDropsValuesWithoutAMatchingField) {
  const json values = {{"note", "x"}, {"gone", 1}, {"tier", "bronze"}, {"score", 4}};
  EXPECT_EQ(KeepDefined(Fields(), values), json({{"note", "x"}, {"score", 4}}));
}

TEST(CustomFieldDefinitions, AreValidatedByMember) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"key", ""}, {"label", "L"}, {"type", "text"}}, "key"},
      {{{"label", "L"}, {"type", "text"}}, "key"},
      {{{"key", "1st"}, {"label", "L"}, {"type", "text"}}, "key"},
      {{{"key", "Po"}, {"label", "L"}, {"type", "text"}}, "key"},
      {{{"key", "po-number"}, {"label", "L"}, {"type", "text"}}, "key"},
      {{{"key", "_po"}, {"label", "L"}, {"type", "text"}}, "key"},
      {{{"key", std::string(41, 'k')}, {"label", "L"}, {"type", "text"}}, "key"},
      {{{"key", 7}, {"label", "L"}, {"type", "text"}}, "key"},
      {{{"key", "po"}, {"label", ""}, {"type", "text"}}, "label"},
      {{{"key", "po"}, {"label", std::string(101, 'l')}, {"type", "text"}}, "label"},
      {{{"key", "po"}, {"label", "a\nb"}, {"type", "text"}}, "label"},
      {{{"key", "po"}, {"label", std::string("a\0b", 3)}, {"type", "text"}}, "label"},
      {{{"key", "po"}, {"label", "a\tb"}, {"type", "text"}}, "label"},
      {{{"key", "po"}, {"label", "PO \u202enumber"}, {"type", "text"}}, "label"},
      {{{"key", "po"}, {"label", "PO\u200bnumber"}, {"type", "text"}}, "label"},
      {{{"key", "po"}, {"label", "PO number "}, {"type", "text"}}, "label"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", {"ok", "zero\u200bwidth"}}},
       "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", {std::string("n\0l", 3)}}},
       "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "string"}}, "type"},
      {{{"key", "po"}, {"label", "L"}}, "type"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}}, "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", json::array()}}, "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", {"a", "b", "a"}}},
       "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", {""}}}, "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", {std::string(101, 'o')}}},
       "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", {"ok", "rtl \xe2\x81\xa7"}}},
       "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", {"tab\there"}}}, "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", {1, 2}}}, "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", "a,b"}}, "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "text"}, {"options", {"a"}}}, "options"},
      {{{"key", "po"}, {"label", "L"}, {"type", "text"}, {"required", "yes"}}, "required"},
      {{{"key", "po"}, {"label", "L"}, {"type", "text"}, {"default", "x"}}, "default"},
  };
  for (const auto& [body, member] : cases) {
    auto f = FieldFromJson(body);
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << body.dump();
    EXPECT_NE(f.status().message().find("\"" + member + "\""), std::string::npos)
        << body.dump() << ": " << f.status().message();
  }
  std::vector<std::string> many(101, "");
  for (size_t i = 0; i < many.size(); ++i) many[i] = "option " + std::to_string(i);
  EXPECT_FALSE(
      FieldFromJson({{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", many}}).ok());
  many.pop_back();
  EXPECT_TRUE(
      FieldFromJson({{"key", "po"}, {"label", "L"}, {"type", "select"}, {"options", many}}).ok());

  auto f = FieldFromJson({{"key", std::string(40, 'k')},
                          {"label", "Purchase order"},
                          {"type", "select"},
                          {"options", {"b", "a"}},
                          {"required", true}});
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(ToJson(*f), json({{"key", std::string(40, 'k')},
                              {"label", "Purchase order"},
                              {"type", "select"},
                              {"options", {"b", "a"}},
                              {"required", true}}))
      << "options keep their order";
  auto plain = FieldFromJson({{"key", "po_no2"}, {"label", "PO"}, {"type", "money"}});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->required);
  EXPECT_EQ(ToJson(*plain)["options"], json::array());
  EXPECT_TRUE(
      FieldFromJson({{"key", "po"}, {"label", "L"}, {"type", "date"}, {"options", json::array()}})
          .ok())
      << "an empty list, as GET shows it, is fine for any type";
}

class CustomFieldServiceTest : public ::testing::Test {
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
                       auth::Role::kManager)
               ->first.id;
    fields_ = std::make_unique<CustomFieldService>(*db_, clock_, testing_support::TestAudit());
    contracts_ = std::make_unique<ContractService>(*db_, clock_, testing_support::TestAudit());
  }

  Status Define(const json& body, int64_t tenant = 0) {
    auto f = FieldFromJson(body);
    if (!f.ok()) return f.status();
    return fields_->Define(testing_support::TestActor(), tenant == 0 ? acme_ : tenant, *f).status();
  }
  Result<Contract> Make(const json& custom) {
    return contracts_->Create(testing_support::TestActor(), acme_, ann_,
                              {{"title", "Lease"}, {"custom", custom}});
  }

  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<crypto::LocalKeyProvider> provider_;
  std::unique_ptr<tenant::TenantKeys> keys_;
  std::unique_ptr<CustomFieldService> fields_;
  std::unique_ptr<ContractService> contracts_;
  int64_t acme_ = 0, globex_ = 0, ann_ = 0;
};

TEST_F(CustomFieldServiceTest, DefinitionsBelongToTheirTenantAndKeysAreUnique) {
  ASSERT_TRUE(Define({{"key", "po"}, {"label", "PO"}, {"type", "text"}}).ok());
  clock_.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(Define({{"key", "tier"},
                      {"label", "Tier"},
                      {"type", "select"},
                      {"options", {"gold", "silver"}},
                      {"required", true}})
                  .ok());
  auto list = fields_->List(acme_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2U);
  EXPECT_EQ((*list)[0].key, "po") << "oldest first";
  EXPECT_EQ((*list)[0].created_at, "2027-01-01T00:00:00Z");
  EXPECT_EQ(ToJson((*list)[1]), json({{"key", "tier"},
                                      {"label", "Tier"},
                                      {"type", "select"},
                                      {"options", {"gold", "silver"}},
                                      {"required", true}}));
  EXPECT_TRUE(fields_->List(globex_)->empty()) << "another tenant sees none";
  const Status again = Define({{"key", "po"}, {"label", "Other"}, {"type", "number"}});
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(Define({{"key", "po"}, {"label", "PO"}, {"type", "number"}}, globex_).ok())
      << "the same key in another tenant";
  EXPECT_EQ(fields_->Remove(testing_support::TestActor(), globex_, "tier").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(fields_->Remove(testing_support::TestActor(), acme_, "nope").code(),
            StatusCode::kNotFound);
  CustomField bad = Field("Bad Key", "text");
  EXPECT_EQ(fields_->Define(testing_support::TestActor(), acme_, bad).status().code(),
            StatusCode::kInvalidArgument)
      << "the service checks definitions itself";
  ASSERT_TRUE(fields_->Remove(testing_support::TestActor(), acme_, "tier").ok());
  EXPECT_EQ(fields_->List(acme_)->size(), 1U);
  EXPECT_EQ(fields_->List(globex_)->size(), 1U);
}

TEST_F(CustomFieldServiceTest, ATenantHasAtMostFiftyFields) {
  for (size_t i = 0; i < CustomFieldService::kMaxFields; ++i) {
    ASSERT_TRUE(Define({{"key", "f" + std::to_string(i)}, {"label", "F"}, {"type", "number"}}).ok())
        << i;
  }
  const Status full = Define({{"key", "one_more"}, {"label", "F"}, {"type", "number"}});
  EXPECT_EQ(full.code(), StatusCode::kConflict);
  EXPECT_EQ(full.reason(), "too_many_fields");
  EXPECT_TRUE(Define({{"key", "one_more"}, {"label", "F"}, {"type", "number"}}, globex_).ok());
  ASSERT_TRUE(fields_->Remove(testing_support::TestActor(), acme_, "f7").ok());
  EXPECT_TRUE(Define({{"key", "one_more"}, {"label", "F"}, {"type", "number"}}).ok());
}

TEST_F(CustomFieldServiceTest, ContractsAreCheckedAgainstTheStoredDefinitions) {
  EXPECT_EQ(Make({{"po", "PO-1"}}).status().code(), StatusCode::kInvalidArgument)
      << "nothing defined yet";
  ASSERT_TRUE(Define({{"key", "po"}, {"label", "PO"}, {"type", "text"}, {"required", true}}).ok());
  ASSERT_TRUE(Define({{"key", "fee"}, {"label", "Fee"}, {"type", "money"}}).ok());
  const Status missing = Make({{"fee", {{"amount_cents", 100}, {"currency", "EUR"}}}}).status();
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("custom.po"), std::string::npos) << missing.message();
  EXPECT_EQ(Make({{"po", "PO-1"}, {"fee", {{"amount_cents", 100}, {"currency", "EURO"}}}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  auto c = Make({{"po", "PO-1"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->custom, json({{"po", "PO-1"}}));
  // PATCH merges; the required field cannot be set to null.
  auto v2 =
      contracts_->Update(testing_support::TestActor(), acme_, c->id, 1,
                         {{"custom", {{"fee", {{"amount_cents", 250}, {"currency", "USD"}}}}}});
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->custom,
            json({{"po", "PO-1"}, {"fee", {{"amount_cents", 250}, {"currency", "USD"}}}}));
  EXPECT_EQ(contracts_->Get(acme_, c->id)->custom, v2->custom) << "stored as shown";
  auto removed = contracts_->Update(testing_support::TestActor(), acme_, c->id, 2,
                                    {{"custom", {{"po", nullptr}}}});
  EXPECT_EQ(removed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(removed.status().message().find("custom.po"), std::string::npos);
  auto v3 = contracts_->Update(testing_support::TestActor(), acme_, c->id, 2,
                               {{"custom", {{"fee", nullptr}}}});
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->custom, json({{"po", "PO-1"}}));
  // Another tenant's definitions do not apply here, nor these there.
  ASSERT_TRUE(Define({{"key", "region"}, {"label", "Region"}, {"type", "text"}}, globex_).ok());
  EXPECT_EQ(
      contracts_
          ->Update(testing_support::TestActor(), acme_, c->id, 3, {{"custom", {{"region", "EU"}}}})
          .status()
          .code(),
      StatusCode::kInvalidArgument);
}

// A Database that counts the transactions it forwards.
class CountingDatabase final : public store::Database {
 public:
  explicit CountingDatabase(store::Database& inner) : inner_(inner) {}
  int reads = 0, writes = 0;
  Status Read(const std::function<Status(store::Session&)>& fn) override {
    ++reads;
    return inner_.Read(fn);
  }
  Status Write(const std::function<Status(store::Session&)>& fn) override {
    ++writes;
    return inner_.Write(fn);
  }
  Status Ping() override { return inner_.Ping(); }
  store::DatabaseInfo Info() const override { return inner_.Info(); }

 private:
  store::Database& inner_;
};

TEST_F(CustomFieldServiceTest, ContractWritesReadTheDefinitionsInTheirOwnTransaction) {
  ASSERT_TRUE(Define({{"key", "po"}, {"label", "PO"}, {"type", "text"}, {"required", true}}).ok());
  CountingDatabase counting(*db_);
  ContractService contracts(counting, clock_, testing_support::TestAudit());
  auto c = contracts.Create(testing_support::TestActor(), acme_, ann_,
                            {{"title", "Lease"}, {"custom", {{"po", "PO-1"}}}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(
      contracts
          .Update(testing_support::TestActor(), acme_, c->id, 1, {{"custom", {{"po", "PO-2"}}}})
          .ok());
  ASSERT_TRUE(contracts.Trash(testing_support::TestActor(), acme_, c->id).ok());
  counting.reads = counting.writes = 0;
  ASSERT_TRUE(contracts.Restore(testing_support::TestActor(), acme_, c->id).ok());
  EXPECT_EQ(counting.writes, 1);
  EXPECT_EQ(counting.reads, 1) << "only the read-back after the restore";
  counting.reads = counting.writes = 0;
  ASSERT_TRUE(
      contracts
          .Update(testing_support::TestActor(), acme_, c->id, 4, {{"custom", {{"po", "PO-3"}}}})
          .ok());
  ASSERT_FALSE(
      contracts.Create(testing_support::TestActor(), acme_, ann_, {{"title", "No PO"}}).ok());
  EXPECT_EQ(counting.writes, 2);
  EXPECT_EQ(counting.reads, 0) << "no definition is read outside the write transaction";
}

TEST_F(CustomFieldServiceTest, AFieldInUseOutsideTheTrashCannotBeRemoved) {
  ASSERT_TRUE(Define({{"key", "po"}, {"label", "PO"}, {"type", "text"}}).ok());
  ASSERT_TRUE(Define({{"key", "currency"}, {"label", "Billing currency"}, {"type", "text"}}).ok());
  ASSERT_TRUE(Define({{"key", "fee"}, {"label", "Fee"}, {"type", "money"}}).ok());
  auto c = Make({{"po", "PO-1"}, {"fee", {{"amount_cents", 1}, {"currency", "EUR"}}}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const Status in_use = fields_->Remove(testing_support::TestActor(), acme_, "po");
  EXPECT_EQ(in_use.code(), StatusCode::kConflict);
  EXPECT_EQ(in_use.reason(), "field_in_use");
  EXPECT_TRUE(fields_->Remove(testing_support::TestActor(), acme_, "currency").ok())
      << "a money value's own \"currency\" member is not a value of the field \"currency\"";
  // Clearing the value frees the field.
  ASSERT_TRUE(
      contracts_
          ->Update(testing_support::TestActor(), acme_, c->id, 1, {{"custom", {{"po", nullptr}}}})
          .ok());
  EXPECT_TRUE(fields_->Remove(testing_support::TestActor(), acme_, "po").ok());
}

TEST_F(CustomFieldServiceTest, ARestoredContractLeavesValuesOfRemovedFieldsBehind) {
  ASSERT_TRUE(Define({{"key", "po"}, {"label", "PO"}, {"type", "text"}}).ok());
  ASSERT_TRUE(Define({{"key", "note"}, {"label", "Note"}, {"type", "text"}}).ok());
  ASSERT_TRUE(
      Define({{"key", "tier"}, {"label", "T"}, {"type", "select"}, {"options", {"a"}}}).ok());
  auto c = Make({{"po", "PO-1"}, {"note", "kept"}, {"tier", "a"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(contracts_->Trash(testing_support::TestActor(), acme_, c->id).ok());
  // Only contracts outside the trash hold a field: both can go.
  ASSERT_TRUE(fields_->Remove(testing_support::TestActor(), acme_, "po").ok());
  ASSERT_TRUE(fields_->Remove(testing_support::TestActor(), acme_, "tier").ok());
  // "po" comes back as a number, so the old text value no longer fits it.
  ASSERT_TRUE(Define({{"key", "po"}, {"label", "PO"}, {"type", "number"}}).ok());
  auto restored = contracts_->Restore(testing_support::TestActor(), acme_, c->id);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->custom, json({{"note", "kept"}}));
}

}  // namespace
}  // namespace pactum::contract
