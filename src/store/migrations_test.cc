#include "store/migrations.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/sqlite_database.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::store {
namespace {

TEST(MigrationLists, EveryEngineListIsNumberedFromOneWithoutGaps) {
  const Status s = CheckMigrationList(SqliteMigrations());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_STREQ(SqliteMigrations().engine, "sqlite");
  EXPECT_GE(SqliteMigrations().latest(), 13);
}

TEST(MigrationLists, AGapOrAMissingNameIsCaught) {
  static constexpr Migration kGap[] = {{1, "one", "SELECT 1;"}, {3, "three", "SELECT 1;"}};
  const Status gap = CheckMigrationList({"test", "SELECT 1;", kGap});
  EXPECT_EQ(gap.code(), StatusCode::kInternal);
  EXPECT_NE(gap.detail().find("version 3 where 2 was due"), std::string::npos) << gap.detail();
  static constexpr Migration kNoName[] = {{1, "", "SELECT 1;"}};
  EXPECT_FALSE(CheckMigrationList({"test", "SELECT 1;", kNoName}).ok());
}

// A database as the runner sees it: schema_migrations as a list of versions, scripts
// recorded in order, transactions that roll back the versions on error. `concurrent`
// plays another process that applies a version between the runner's read and its
// transaction.
class FakeMigrationConnection final : public MigrationConnection, public Session {
 public:
  std::vector<int64_t> versions;
  std::vector<std::string> scripts;
  int concurrent = 0;

  Status ExecScript(const char* sql) override {
    scripts.emplace_back(sql);
    if (std::string(sql) == "FAIL;") return Internal("script failed");
    return Status::Ok();
  }
  Session& Autocommit() override { return *this; }
  Status Transaction(const std::function<Status(Session&)>& fn) override {
    if (concurrent > 0) {
      versions.push_back(concurrent);
      concurrent = 0;
    }
    const auto before = versions;
    const size_t scripts_before = scripts.size();
    Status s = fn(*this);
    if (!s.ok()) {
      versions = before;
      scripts.resize(scripts_before);
    }
    return s;
  }
  Result<std::vector<Row>> Query(Sql sql, std::initializer_list<Value> /*params*/) override {
    if (sql.text().find("max(version)") == std::string_view::npos) return Internal("unexpected");
    int64_t max = 0;
    for (int64_t v : versions) max = std::max(max, v);
    return std::vector<Row>{Row({Value(max)})};
  }
  Result<int64_t> Execute(Sql sql, std::initializer_list<Value> params) override {
    if (sql.text().find("INSERT INTO schema_migrations") == std::string_view::npos) {
      return Internal("unexpected");
    }
    versions.push_back(std::get<int64_t>(*params.begin()));
    return 1;
  }
};

Status ThenFails(Session& /*session*/) { return Unavailable("the data step failed"); }

constexpr Migration kThree[] = {{1, "one", "ONE;"}, {2, "two", "TWO;"}, {3, "three", "THREE;"}};

TEST(ApplyMigrations, AppliesPendingOnesInOrderAndStopsWhereAsked) {
  FakeMigrationConnection db;
  auto reached = ApplyMigrations(db, {"test", "BOOK;", kThree}, /*up_to=*/2);
  ASSERT_TRUE(reached.ok()) << reached.status().ToString();
  EXPECT_EQ(*reached, 2);
  EXPECT_EQ(db.scripts, (std::vector<std::string>{"BOOK;", "ONE;", "TWO;"}));
  reached = ApplyMigrations(db, {"test", "BOOK;", kThree});
  ASSERT_TRUE(reached.ok());
  EXPECT_EQ(*reached, 3);
  EXPECT_EQ(db.scripts.back(), "THREE;");
  EXPECT_EQ(db.versions, (std::vector<int64_t>{1, 2, 3}));
}

TEST(ApplyMigrations, AFailedStepRecordsNothingOfItsMigrationAndStops) {
  static constexpr Migration kBadScript[] = {
      {1, "one", "ONE;"}, {2, "bad", "FAIL;"}, {3, "three", "THREE;"}};
  FakeMigrationConnection db;
  EXPECT_EQ(ApplyMigrations(db, {"test", "BOOK;", kBadScript}).status().code(),
            StatusCode::kInternal);
  EXPECT_EQ(db.versions, std::vector<int64_t>{1});
  static constexpr Migration kBadThen[] = {{1, "one", "ONE;", &ThenFails}};
  FakeMigrationConnection other;
  EXPECT_EQ(ApplyMigrations(other, {"test", "BOOK;", kBadThen}).status().code(),
            StatusCode::kUnavailable)
      << "the code step runs in the migration's transaction and its error counts";
  EXPECT_TRUE(other.versions.empty());
}

TEST(ApplyMigrations, AMigrationAnotherProcessAppliedMeanwhileIsNotAppliedTwice) {
  FakeMigrationConnection db;
  db.concurrent = 1;  // lands between the first read and the first transaction
  auto reached = ApplyMigrations(db, {"test", "BOOK;", kThree});
  ASSERT_TRUE(reached.ok());
  EXPECT_EQ(*reached, 3);
  EXPECT_EQ(db.scripts, (std::vector<std::string>{"BOOK;", "TWO;", "THREE;"}));
}

TEST(ApplyMigrations, RefusesADatabaseNewerThanTheList) {
  FakeMigrationConnection db;
  db.versions = {1, 2, 3, 4};
  auto reached = ApplyMigrations(db, {"test", "BOOK;", kThree});
  EXPECT_EQ(reached.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(reached.status().message().find("version 4"), std::string::npos);
}

// The SQLite database of the release before migration 13 (contracts' tags only as JSON),
// upgraded: the tags move to contract_tags, the counterparty gets its folded key.
TEST(SqliteMigrations, ThirteenMovesExistingTagsAndFoldsCounterparties) {
  testing_support::TempDir dir;
  SqliteOptions o;
  o.path = dir.File("p.db");
  o.key = testing_support::RandomKey();
  o.max_schema_version = 12;
  {
    auto old = OpenSqliteDatabase(o);
    ASSERT_TRUE(old.ok()) << old.status().ToString();
    EXPECT_EQ((*old)->Info().schema_version, 12);
    ASSERT_TRUE((*old)
                    ->Write([](Session& s) -> Status {
                      RETURN_IF_ERROR(s.Execute("INSERT INTO tenants (id, slug, created_at) "
                                                "VALUES (1, 'acme', 'x')")
                                          .status());
                      RETURN_IF_ERROR(
                          s.Execute("INSERT INTO users (id, tenant_id, email, email_key, name, "
                                    "role, password_hash, created_at, updated_at) VALUES (1, 1, "
                                    "'a@b.c', 'a@b.c', 'A', 'admin', 'h', 'x', 'x')")
                              .status());
                      for (const auto& [id, counterparty, tags] :
                           std::vector<std::tuple<int64_t, std::string, std::string>>{
                               {1, "ÄRZTE GmbH", R"(["it","50% off"])"},
                               {2, "Straße AG", "[]"},
                               {3, "", R"(["it"])"}}) {
                        RETURN_IF_ERROR(
                            s.Execute("INSERT INTO contracts (id, tenant_id, title, counterparty, "
                                      "type, status, owner_id, start_date, end_date, auto_renew, "
                                      "currency, tags, custom, version, created_at, updated_at) "
                                      "VALUES ($1, 1, 't', $2, '', 'draft', 1, '', '', 0, '', $3, "
                                      "'{}', 1, 'x', 'x')",
                                      {id, counterparty, tags})
                                .status());
                      }
                      return Status::Ok();
                    })
                    .ok());
  }
  o.max_schema_version = 0;
  auto db = OpenSqliteDatabase(o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ((*db)->Info().schema_version, SqliteMigrations().latest());
  std::vector<std::string> tags;
  std::vector<std::string> keys;
  ASSERT_TRUE((*db)
                  ->Read([&](Session& s) -> Status {
                    ASSIGN_OR_RETURN(auto t, s.Query("SELECT tenant_id, contract_id, tag FROM "
                                                     "contract_tags ORDER BY contract_id, tag"));
                    for (const Row& r : t) {
                      tags.push_back(std::to_string(r.Int(0)) + "/" + std::to_string(r.Int(1)) +
                                     "/" + r.Text(2));
                    }
                    ASSIGN_OR_RETURN(auto k, s.Query("SELECT counterparty_key FROM contracts "
                                                     "ORDER BY id"));
                    for (const Row& r : k) keys.push_back(r.Text(0));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(tags, (std::vector<std::string>{"1/1/50% off", "1/1/it", "1/3/it"}));
  EXPECT_EQ(keys, (std::vector<std::string>{"ärzte gmbh", "strasse ag", ""}));
}

}  // namespace
}  // namespace pactum::store
