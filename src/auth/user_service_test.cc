#include "auth/user_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
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

class UserServiceTest : public ::testing::Test {
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
    users_ = std::make_unique<UserService>(*db_, clock_, crypto::PasswordParams{},
                                           testing_support::TestAudit());
  }
  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<crypto::LocalKeyProvider> provider_;
  std::unique_ptr<tenant::TenantKeys> keys_;
  std::unique_ptr<UserService> users_;
  int64_t acme_ = 0;
  int64_t globex_ = 0;
};

TEST_F(UserServiceTest, ANewUserHasAOneTimePasswordThatMustBeChanged) {
  auto created = users_->Create(testing_support::TestActor(), acme_, "Ann.Admin@Example.COM", "Ann",
                                Role::kAdmin);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const auto& [user, password] = *created;
  EXPECT_EQ(user.email, "Ann.Admin@Example.COM");
  EXPECT_EQ(user.role, Role::kAdmin);
  EXPECT_TRUE(user.password_change_required);
  EXPECT_FALSE(user.disabled);
  EXPECT_EQ(user.created_at, "2027-01-01T00:00:00Z");
  EXPECT_EQ(password.size(), 29U) << password;  // six groups of four
  EXPECT_TRUE(crypto::CheckPasswordPolicy(password).ok());
  EXPECT_TRUE(*users_->PasswordMatches(user.id, password));
  EXPECT_FALSE(*users_->PasswordMatches(user.id, password.substr(1)));
  // Found by any case of the address.
  auto found = users_->FindByEmail(acme_, "ann.admin@example.com");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, user.id);
  EXPECT_EQ(users_->FindByEmail(globex_, "ann.admin@example.com").status().code(),
            StatusCode::kNotFound);
  // Two users never share a one-time password.
  auto other =
      users_->Create(testing_support::TestActor(), acme_, "bob@example.com", "Bob", Role::kViewer);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->second, password);
}

TEST_F(UserServiceTest, EmailsAreUniquePerTenantIgnoringCase) {
  ASSERT_TRUE(
      users_->Create(testing_support::TestActor(), acme_, "ann@example.com", "Ann", Role::kUser)
          .ok());
  EXPECT_EQ(
      users_->Create(testing_support::TestActor(), acme_, "ANN@example.com", "Ann 2", Role::kUser)
          .status()
          .code(),
      StatusCode::kAlreadyExists);
  EXPECT_TRUE(
      users_->Create(testing_support::TestActor(), globex_, "ann@example.com", "Ann", Role::kUser)
          .ok());
}

TEST_F(UserServiceTest, BadInputIsRefusedAndNothingIsStored) {
  for (const char* email : {"", "a@", "@b.c", "ann", "a@b@c", "a b@c.d", "ann@.example",
                            "ann@example.", "a@\x01.de", "bad\xff@x.de"}) {
    EXPECT_EQ(users_->Create(testing_support::TestActor(), acme_, email, "X", Role::kUser)
                  .status()
                  .code(),
              StatusCode::kInvalidArgument)
        << email;
  }
  EXPECT_EQ(users_
                ->Create(testing_support::TestActor(), acme_, "ann@example.com",
                         std::string(201, 'n'), Role::kUser)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(users_->FindByEmail(acme_, "ann@example.com").status().code(), StatusCode::kNotFound);
}

TEST_F(UserServiceTest, NamesKeepTheOneTextRuleOnCreateAndChange) {
  using namespace std::string_literals;
  std::string cyrillic_200;
  for (int i = 0; i < 200; ++i) cyrillic_200 += "\xd0\xb6";  // 400 bytes, 200 characters
  auto ann = users_->Create(testing_support::TestActor(), acme_, "ann@example.com", cyrillic_200,
                            Role::kUser);
  ASSERT_TRUE(ann.ok()) << ann.status().ToString();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\0x"s, "\"name\" contains a control character (U+0000)"},
      {"Ann\tLee", "\"name\" contains a control character (U+0009)"},
      {"Ann\nLee", "\"name\" contains a control character (U+000A)"},
      {"Ann \u202eeeL", "\"name\" contains a bidirectional control character (U+202E)"},
      {"An\u200bn", "\"name\" contains an invisible character (U+200B)"},
      {cyrillic_200 + "\xd0\xb6", "\"name\" must be at most 200 characters"},
      {"Ann ", "\"name\" must not start or end with a space"},
  };
  for (const auto& [name, message] : cases) {
    const Status made =
        users_->Create(testing_support::TestActor(), acme_, "bob@example.com", name, Role::kUser)
            .status();
    EXPECT_EQ(made.code(), StatusCode::kInvalidArgument) << message;
    EXPECT_EQ(made.message(), message);
    UserService::Change change;
    change.name = name;
    EXPECT_EQ(users_->Update(testing_support::TestActor(), acme_, ann->first.id, change, nullptr)
                  .status()
                  .message(),
              message);
  }
  EXPECT_EQ(users_->FindByEmail(acme_, "bob@example.com").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(users_->Find(acme_, ann->first.id)->name, cyrillic_200) << "no change was stored";
}

TEST_F(UserServiceTest, AddressesMustBeWellFormedAndSingleScript) {
  const auto create = [&](const std::string& email) {
    return users_->Create(testing_support::TestActor(), acme_, email, "X", Role::kUser).status();
  };
  const Status lookalike = create("\u0430dmin@localhost");  // a Cyrillic "а"
  EXPECT_EQ(lookalike.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(lookalike.message().find("mixes Cyrillic and Latin"), std::string::npos)
      << lookalike.message();
  EXPECT_TRUE(create("admin@localhost").ok());
  EXPECT_EQ(create("a@b").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(create("\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@"
                     "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84")
                  .ok())
      << "иван@пример.рф: one script";
  EXPECT_NE(create("billing@p\xd0\xb0ypal.com").message().find("in the domain"), std::string::npos);
  // The login check refuses the same input without looking anything up.
  audit::Event attempt{.stream = audit::Stream::kAuth, .action = "auth.login"};
  EXPECT_EQ(users_->CheckCredentials(acme_, "\u0430dmin@localhost", "whatever it is", attempt)
                .status()
                .code(),
            StatusCode::kUnauthenticated);
}

TEST_F(UserServiceTest, WeakPasswordsAreRefusedSayingWhy) {
  auto tenant = tenant::TenantService(*db_, clock_, *keys_).Create("quillmark");
  ASSERT_TRUE(tenant.ok());
  auto made = users_->Create(testing_support::TestActor(), tenant->id, "lucinda@zephyrcorp.com",
                             "Lucinda Fairweather", Role::kUser);
  ASSERT_TRUE(made.ok());
  const int64_t id = made->first.id;
  const auto set = [&](std::string_view password) {
    return users_->SetPassword(testing_support::TestActor(), id, password);
  };
  for (const char* weak : {"password1234", "123456789012", "aaaaaaaaaaaa", "qwertyuiopas"}) {
    const Status s = set(weak);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << weak;
    EXPECT_NE(s.message().find("password"), std::string::npos) << s.message();
  }
  // Uncommon words, but hers: her email, name and organisation count as known words.
  for (const char* own : {"zephyrcorp-lucinda", "fairweather zephyrcorp", "quillmark-tuesday"}) {
    ASSERT_TRUE(crypto::CheckPasswordPolicy(own).ok()) << own << " is strong for anyone else";
    const Status s = set(own);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << own;
    EXPECT_NE(s.message().find("your name, email address or organisation"), std::string::npos)
        << s.message();
  }
  EXPECT_TRUE(set("ornament plover quiz lantern").ok());
  EXPECT_TRUE(*users_->PasswordMatches(id, "ornament plover quiz lantern"));
  EXPECT_EQ(
      users_->SetPassword(testing_support::TestActor(), 999999, "ornament plover quiz").code(),
      StatusCode::kNotFound);
}

TEST(OneTimePasswords, EveryOneTheServerMakesPassesThePolicy) {
  for (int i = 0; i < 2000; ++i) {
    const std::string p = NewOneTimePassword();
    ASSERT_EQ(p.size(), 29U) << p;
    ASSERT_TRUE(crypto::CheckPasswordPolicy(p).ok()) << p;
  }
}

TEST(KnownWords, HoldThePiecesPeopleBuildPasswordsFrom) {
  const auto words = KnownWords("ann.lee@example.com", "Ann Lee", "acme-legal");
  for (const char* w : {"ann.lee@example.com", "Ann Lee", "acme-legal", "ann", "lee", "example",
                        "Ann", "Lee", "acme", "legal"}) {
    EXPECT_NE(std::find(words.begin(), words.end(), w), words.end()) << w;
  }
  EXPECT_EQ(std::find(words.begin(), words.end(), "com"), words.end()) << "not the TLD";
}

TEST(Roles, NamesRoundTripAndUnknownNamesAreRefused) {
  for (const Role r : {Role::kViewer, Role::kUser, Role::kManager, Role::kAdmin}) {
    EXPECT_EQ(ParseRole(RoleName(r)), r);
  }
  EXPECT_EQ(ParseRole("root"), std::nullopt);
  EXPECT_EQ(ParseRole("Admin"), std::nullopt);
  EXPECT_LT(Role::kManager, Role::kAdmin);
}

TEST_F(UserServiceTest, EveryFailedLoginCostsTheSameWriteWhetherTheAccountExistsOrNot) {
  auto ann =
      users_->Create(testing_support::TestActor(), acme_, "ann@example.com", "Ann", Role::kUser);
  ASSERT_TRUE(ann.ok());
  auto failures = [&] {
    int64_t n = 0;
    EXPECT_TRUE(db_->Read([&](store::Session& s) -> Status {
                     ASSIGN_OR_RETURN(auto rows, s.Query("SELECT coalesce(sum(failures), 0) FROM "
                                                         "login_failures_daily"));
                     n = rows.at(0).Int(0);
                     return Status::Ok();
                   })
                    .ok());
    return n;
  };
  const std::string wrong = "not the password at all";
  EXPECT_EQ(
      users_->CheckCredentials(acme_, "ann@example.com", wrong, audit::Event{}).status().code(),
      StatusCode::kUnauthenticated);
  EXPECT_EQ(failures(), 1);
  EXPECT_EQ(
      users_->CheckCredentials(acme_, "nobody@example.com", wrong, audit::Event{}).status().code(),
      StatusCode::kUnauthenticated);
  EXPECT_EQ(failures(), 2) << "an unknown account writes too";
  EXPECT_EQ(users_->CheckCredentials(0, "ann@example.com", wrong, audit::Event{}).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(failures(), 3) << "an unknown tenant writes too";
  EXPECT_TRUE(users_->CheckCredentials(acme_, "ann@example.com", ann->second, audit::Event{}).ok());
  EXPECT_EQ(failures(), 3);
}

}  // namespace
}  // namespace pactum::auth
