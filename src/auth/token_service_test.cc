#include "auth/token_service.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "crypto/local_key_provider.h"
#include "store/sqlite_database.h"
#include "tenant/tenant_service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/recording_audit_sink.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::auth {
namespace {

using namespace std::string_literals;

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.path = dir_.File("p.db");
    o.key = testing_support::RandomKey();
    db_ = std::move(store::OpenSqliteDatabase(o)).value();
    provider_ = std::move(crypto::LocalKeyProvider::Create(dir_.File("master.key"), "dev")).value();
    keys_ = std::make_unique<tenant::TenantKeys>(*provider_, clock_);
    const int64_t acme = tenant::TenantService(*db_, clock_, *keys_).Create("acme")->id;
    UserService users(*db_, clock_, crypto::PasswordParams{}, testing_support::TestAudit());
    admin_ =
        users.Create(testing_support::TestActor(), acme, "ann@example.com", "Ann", Role::kAdmin)
            ->first;
    tokens_ = std::make_unique<TokenService>(*db_, clock_, testing_support::TestAudit());
  }

  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<crypto::LocalKeyProvider> provider_;
  std::unique_ptr<tenant::TenantKeys> keys_;
  std::unique_ptr<TokenService> tokens_;
  User admin_;
};

TEST_F(TokenServiceTest, NamesKeepTheOneTextRuleAndNothingIsStoredOtherwise) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // The database's length() stops at a NUL: this once reached a CHECK constraint.
      {"\0x"s, "\"name\" contains a control character (U+0000)"},
      {"ci\tbot", "\"name\" contains a control character (U+0009)"},
      {"ci\u202etob", "\"name\" contains a bidirectional control character (U+202E)"},
      {"ci\u200bbot", "\"name\" contains an invisible character (U+200B)"},
      {std::string(101, 'n'), "\"name\" must be 1-100 characters"},
      {"", "\"name\" must not be empty"},
      {" ci bot", "\"name\" must not start or end with a space"},
  };
  for (const auto& [name, message] : cases) {
    auto made = tokens_->Create(testing_support::TestActor(), admin_, name, Role::kViewer, 30);
    EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument) << message;
    EXPECT_EQ(made.status().message(), message);
  }
  EXPECT_TRUE(tokens_->List(admin_.tenant_id)->empty());
  std::string hundred;
  for (int i = 0; i < 100; ++i) hundred += "\xc3\xa9";  // 200 bytes, 100 characters
  auto made = tokens_->Create(testing_support::TestActor(), admin_, hundred, Role::kViewer, 30);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(tokens_->List(admin_.tenant_id)->at(0).name, hundred);
}

}  // namespace
}  // namespace pactum::auth
