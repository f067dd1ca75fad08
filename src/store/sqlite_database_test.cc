#include "store/sqlite_database.h"

#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/encrypted_vfs.h"
#include "store/migrations.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::store {
namespace {

using testing_support::RandomKey;
using testing_support::TempDir;

// One key per test binary run is enough: each test has its own directory.
std::shared_ptr<const crypto::SecretBytes> Key() {
  static const auto* key = new std::shared_ptr<const crypto::SecretBytes>(RandomKey());
  return *key;
}

std::unique_ptr<Database> Open(const std::string& path) {
  SqliteOptions o;
  o.path = path;
  o.key = Key();
  auto db = OpenSqliteDatabase(o);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

TEST(SqliteDatabase, AppliesAndRecordsEveryMigrationOnce) {
  TempDir dir;
  const auto latest = SqliteMigrations().latest();
  {
    auto db = Open(dir.File("p.db"));
    EXPECT_EQ(db->Info().schema_version, latest);
  }
  auto db = Open(dir.File("p.db"));  // reopening applies nothing twice
  int64_t rows = -1;
  ASSERT_TRUE(db->Read([&](Session& s) -> Status {
                  ASSIGN_OR_RETURN(auto r, s.Query("SELECT count(*) FROM schema_migrations"));
                  rows = r[0].Int(0);
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(rows, latest);
}

TEST(SqliteDatabase, RefusesADatabaseNewerThanTheBinary) {
  TempDir dir;
  { Open(dir.File("p.db")); }
  auto vfs = EncryptedVfs::Register(crypto::SecretBytes::CopyOf(Key()->span()));
  ASSERT_TRUE(vfs.ok());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(dir.File("p.db").c_str(), &raw, SQLITE_OPEN_READWRITE, (*vfs)->name()),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "INSERT INTO schema_migrations VALUES (999, 'future', "
                         "'2030-01-01T00:00:00Z')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  SqliteOptions o;
  o.path = dir.File("p.db");
  o.key = Key();
  auto db = OpenSqliteDatabase(o);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("999"), std::string::npos) << db.status().message();
}

TEST(SqliteDatabase, RefusesAnUnencryptedSqliteFile) {
  TempDir dir;
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(dir.File("plain.db").c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "CREATE TABLE t(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  SqliteOptions o;
  o.path = dir.File("plain.db");
  o.key = Key();
  auto db = OpenSqliteDatabase(o);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("unencrypted"), std::string::npos);
}

TEST(SqliteDatabase, RefusesAnEncryptedFileOfAnotherApplication) {
  TempDir dir;
  { Open(dir.File("p.db")); }
  auto vfs = EncryptedVfs::Register(crypto::SecretBytes::CopyOf(Key()->span()));
  ASSERT_TRUE(vfs.ok());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(dir.File("p.db").c_str(), &raw, SQLITE_OPEN_READWRITE, (*vfs)->name()),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA application_id=7", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  SqliteOptions o;
  o.path = dir.File("p.db");
  o.key = Key();
  EXPECT_EQ(OpenSqliteDatabase(o).status().code(), StatusCode::kFailedPrecondition);
}

TEST(SqliteDatabase, GarbageFileIsReportedNotCrashed) {
  TempDir dir;
  std::ofstream(dir.File("junk.db")) << std::string(8192, 'x');
  // The same garbage behind Pactum's file magic must fail authentication, not parse.
  std::ofstream(dir.File("magic.db"))
      << std::string("PactumDB-GCM-v1") << '\0' << std::string(8192 - 16, 'x');
  SqliteOptions o;
  o.key = Key();
  o.path = dir.File("junk.db");
  EXPECT_EQ(OpenSqliteDatabase(o).status().code(), StatusCode::kFailedPrecondition);
  o.path = dir.File("magic.db");
  EXPECT_EQ(OpenSqliteDatabase(o).status().code(), StatusCode::kDataLoss);
}

TEST(SqliteDatabase, AMissingKeyIsAnError) {
  TempDir dir;
  SqliteOptions o;
  o.path = dir.File("p.db");
  EXPECT_EQ(OpenSqliteDatabase(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteDatabase, FailedWriteRollsBackEverything) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  Status s = db->Write([](Session& s) -> Status {
    RETURN_IF_ERROR(s.Execute("INSERT INTO tenants (slug, created_at) VALUES ($1, $2)",
                              {std::string("acme"), std::string("t")})
                        .status());
    return InvalidArgument("changed my mind");
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  int64_t n = -1;
  ASSERT_TRUE(db->Read([&](Session& s) -> Status {
                  ASSIGN_OR_RETURN(auto r, s.Query("SELECT count(*) FROM tenants"));
                  n = r[0].Int(0);
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(n, 0);
}

TEST(SqliteDatabase, UniqueViolationIsAlreadyExists) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  auto insert = [&] {
    return db->Write([](Session& s) -> Status {
      return s
          .Execute("INSERT INTO tenants (slug, created_at) VALUES ($1, $2)",
                   {std::string("acme"), std::string("t")})
          .status();
    });
  };
  EXPECT_TRUE(insert().ok());
  EXPECT_EQ(insert().code(), StatusCode::kAlreadyExists);
}

TEST(SqliteDatabase, BindsEveryTypeAndParametersByNumberNotPosition) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  ASSERT_TRUE(db->Read([](Session& s) -> Status {
                  // $2 appears before $1: binding must follow the numbers.
                  ASSIGN_OR_RETURN(auto r, s.Query("SELECT $2, $1, $3, $4, $5",
                                                   {int64_t{7}, std::string("two"), 2.5,
                                                    Blob{0, 1, 2}, std::monostate{}}));
                  EXPECT_EQ(r[0].Text(0), "two");
                  EXPECT_EQ(r[0].Int(1), 7);
                  EXPECT_DOUBLE_EQ(r[0].Real(2), 2.5);
                  EXPECT_EQ(r[0].Bytes(3), (Blob{0, 1, 2}));
                  EXPECT_TRUE(r[0].IsNull(4));
                  return Status::Ok();
                }).ok());
}

TEST(SqliteDatabase, QueryEachReadsRowsInPlaceAsQueryDoes) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  ASSERT_TRUE(db->Read([](Session& s) -> Status {
                  std::vector<std::string> seen;
                  RETURN_IF_ERROR(s.QueryEach(
                      "SELECT $1 + value, 'row ' || value, CAST($2 AS BLOB), NULL, 2.75, $2 "
                      "FROM (SELECT 1 AS value UNION ALL SELECT 2) ORDER BY value",
                      {int64_t{10}, std::string("ab")}, [&](const RowView& r) {
                        seen.push_back(std::to_string(r.Int(0)) + " " + std::string(r.Text(1)));
                        EXPECT_EQ(std::string(r.Text(2)), "ab");  // a blob read as text
                        const auto bytes = r.Bytes(5);            // text read as bytes
                        EXPECT_EQ(Blob(bytes.begin(), bytes.end()), (Blob{'a', 'b'}));
                        EXPECT_EQ(r.Text(3), "");  // NULL
                        EXPECT_TRUE(r.Bytes(3).empty());
                        EXPECT_EQ(r.Int(4), 2);  // a real, truncated as Row::Int does
                        EXPECT_EQ(r.Text(4), "") << "a number is not text, as in Row";
                        return Status::Ok();
                      }));
                  EXPECT_EQ(seen, (std::vector<std::string>{"11 row 1", "12 row 2"}));
                  return Status::Ok();
                }).ok());
}

TEST(SqliteDatabase, AnErrorFromQueryEachsCallbackStopsTheStatementAndIsReturned) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  ASSERT_TRUE(db->Read([](Session& s) -> Status {
                  int calls = 0;
                  const Status stopped = s.QueryEach(
                      "SELECT value FROM (SELECT 1 AS value UNION ALL SELECT 2 UNION ALL "
                      "SELECT 3)",
                      {}, [&](const RowView&) {
                        ++calls;
                        return Status(StatusCode::kConflict, "enough");
                      });
                  EXPECT_EQ(stopped.code(), StatusCode::kConflict);
                  EXPECT_EQ(calls, 1);
                  // The cached statement was reset: it runs again from the start.
                  int again = 0;
                  RETURN_IF_ERROR(s.QueryEach(
                      "SELECT value FROM (SELECT 1 AS value UNION ALL SELECT 2 UNION ALL "
                      "SELECT 3)",
                      {}, [&](const RowView&) {
                        ++again;
                        return Status::Ok();
                      }));
                  EXPECT_EQ(again, 3);
                  return Status::Ok();
                }).ok());
}

// A Session that implements only what it must: QueryEach falls back on Query.
class QueryOnlySession final : public Session {
 public:
  explicit QueryOnlySession(Session& inner) : inner_(inner) {}
  Result<std::vector<Row>> Query(Sql sql, std::initializer_list<Value> params) override {
    return inner_.Query(sql, params);
  }
  Result<int64_t> Execute(Sql sql, std::initializer_list<Value> params) override {
    return inner_.Execute(sql, params);
  }

 private:
  Session& inner_;
};

TEST(SqliteDatabase, QueryEachsDefaultGoesThroughQueryWithTheSameConversions) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  ASSERT_TRUE(
      db->Read([](Session& inner) -> Status {
          QueryOnlySession s(inner);
          int calls = 0;
          RETURN_IF_ERROR(s.QueryEach(
              "SELECT 7, 'seven', CAST('ab' AS BLOB), NULL, 2.75", {}, [&](const RowView& r) {
                ++calls;
                EXPECT_EQ(r.Int(0), 7);
                EXPECT_EQ(r.Text(1), "seven");
                EXPECT_EQ(r.Text(2), "ab");
                const auto bytes = r.Bytes(1);
                EXPECT_EQ(Blob(bytes.begin(), bytes.end()), (Blob{'s', 'e', 'v', 'e', 'n'}));
                EXPECT_EQ(r.Text(3), "");
                EXPECT_EQ(r.Int(4), 2);
                EXPECT_EQ(r.Text(4), "");
                return Status::Ok();
              }));
          EXPECT_EQ(calls, 1);
          const Status stopped =
              s.QueryEach("SELECT 1 UNION ALL SELECT 2", {},
                          [&](const RowView&) { return Status(StatusCode::kConflict, "no"); });
          EXPECT_EQ(stopped.code(), StatusCode::kConflict);
          return Status::Ok();
        }).ok());
}

TEST(SqliteDatabase, AnEmptyBlobIsAnEmptyBlobNotNull) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  ASSERT_TRUE(db->Read([](Session& s) -> Status {
                  ASSIGN_OR_RETURN(auto r, s.Query("SELECT $1 IS NULL, length($1), $2 IS NULL",
                                                   {Blob{}, std::string()}));
                  EXPECT_EQ(r[0].Int(0), 0);
                  EXPECT_EQ(r[0].Int(1), 0);
                  EXPECT_EQ(r[0].Int(2), 0);
                  return Status::Ok();
                }).ok());
}

TEST(SqliteDatabase, WrongParameterCountIsAnErrorNotACrash) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  Status s = db->Read([](Session& s) { return s.Query("SELECT $1", {}).status(); });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
}

TEST(SqliteDatabase, ReadConnectionsCannotWrite) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  Status s = db->Read([](Session& s) {
    return s.Execute("INSERT INTO tenants (slug, created_at) VALUES ('ab', 't')").status();
  });
  EXPECT_FALSE(s.ok());
}

TEST(SqliteDatabase, ConcurrentWritersFromThreadsAndASecondProcessHandleAllSucceed) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  auto other = Open(dir.File("p.db"));  // as the CLI does while a server runs
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Database& target = t % 2 == 0 ? *db : *other;
      for (int i = 0; i < 50; ++i) {
        Status s = target.Write([&](Session& s) {
          return s
              .Execute("INSERT INTO tenants (slug, created_at) VALUES ($1, 'x')",
                       {"t" + std::to_string(t) + "-" + std::to_string(i)})
              .status();
        });
        if (!s.ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  int64_t n = 0;
  ASSERT_TRUE(db->Read([&](Session& s) -> Status {
                  ASSIGN_OR_RETURN(auto r, s.Query("SELECT count(*) FROM tenants"));
                  n = r[0].Int(0);
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(n, 200);
}

TEST(SqliteDatabase, PingAnswers) {
  TempDir dir;
  auto db = Open(dir.File("p.db"));
  EXPECT_TRUE(db->Ping().ok());
}

}  // namespace
}  // namespace pactum::store
