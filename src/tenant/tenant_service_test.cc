#include "tenant/tenant_service.h"

#include <gtest/gtest.h>

#include "crypto/local_key_provider.h"
#include "store/sqlite_database.h"
#include "tenant/settings_service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/recording_audit_sink.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::tenant {
namespace {

class TenantServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.path = dir_.File("p.db");
    o.key = testing_support::RandomKey();
    auto db = store::OpenSqliteDatabase(o);
    ASSERT_TRUE(db.ok());
    db_ = std::move(db).value();
    auto provider = crypto::LocalKeyProvider::Create(dir_.File("master.key"), "dev");
    ASSERT_TRUE(provider.ok());
    provider_ = std::move(provider).value();
    keys_ = std::make_unique<TenantKeys>(*provider_, clock_);
    service_ = std::make_unique<TenantService>(*db_, clock_, *keys_);
  }
  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<crypto::LocalKeyProvider> provider_;
  std::unique_ptr<TenantKeys> keys_;
  std::unique_ptr<TenantService> service_;
};

TEST_F(TenantServiceTest, CreatesAndFindsTenantWithClockTime) {
  auto t = service_->Create("acme-gmbh");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->slug, "acme-gmbh");
  EXPECT_EQ(t->created_at, "2027-01-01T00:00:00Z");
  auto found = service_->FindBySlug("acme-gmbh");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, t->id);
}

TEST_F(TenantServiceTest, DuplicateSlugIsAlreadyExists) {
  ASSERT_TRUE(service_->Create("acme").ok());
  auto again = service_->Create("acme");
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(service_->List()->size(), 1U);
}

TEST_F(TenantServiceTest, RejectsBadSlugs) {
  for (const char* bad : {"a", "Acme", "acme_corp", "acme corp", "ac/me", "../x", "",
                          "abcdefghijabcdefghijabcdefghijabcdefghijk", "ümlaut"}) {
    EXPECT_EQ(service_->Create(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(service_->Create("ab").ok());
  EXPECT_TRUE(service_->Create("abcdefghijabcdefghijabcdefghijabcdefghij").ok());
  EXPECT_EQ(service_->List()->size(), 2U);
}

TEST_F(TenantServiceTest, UnknownSlugIsNotFound) {
  EXPECT_EQ(service_->FindBySlug("nobody").status().code(), StatusCode::kNotFound);
}

TEST_F(TenantServiceTest, SettingsHaveDefaultsAreValidatedAndReachOtherProcessesSoon) {
  const int64_t acme = service_->Create("acme")->id;
  const int64_t globex = service_->Create("globex")->id;
  SettingsService server(*db_, clock_, testing_support::TestAudit());  // the running server's view
  SettingsService operator_(*db_, clock_,
                            testing_support::TestAudit());  // another process, e.g. the CLI
  auto before = server.Get(acme);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE((*before)->require_2fa);
  EXPECT_EQ((*before)->session_minutes, 60);
  EXPECT_TRUE((*before)->AllowsAddress(*IpAddress::Parse("203.0.113.9")));
  TenantSettings bad;
  bad.session_minutes = 4;
  EXPECT_EQ(operator_.Put(testing_support::TestActor(), acme, bad).code(),
            StatusCode::kInvalidArgument);
  bad = TenantSettings{};
  bad.ip_allowlist.assign(101, *IpNetwork::Parse("10.0.0.0/8"));
  EXPECT_EQ(operator_.Put(testing_support::TestActor(), acme, bad).code(),
            StatusCode::kInvalidArgument);
  TenantSettings locked;
  locked.require_2fa = true;
  locked.ip_allowlist = {*IpNetwork::Parse("10.0.0.0/8"), *IpNetwork::Parse("2001:db8::/32")};
  ASSERT_TRUE(operator_.Put(testing_support::TestActor(), acme, locked).ok());
  EXPECT_TRUE(operator_.Get(acme).value()->require_2fa) << "the writer sees it at once";
  EXPECT_FALSE(server.Get(acme).value()->require_2fa) << "cached for a few seconds";
  clock_.Advance(std::chrono::seconds(SettingsService::kCacheSeconds));
  auto after = server.Get(acme).value();
  EXPECT_TRUE(after->require_2fa);
  EXPECT_TRUE(after->AllowsAddress(*IpAddress::Parse("10.9.8.7")));
  EXPECT_TRUE(after->AllowsAddress(*IpAddress::Parse("2001:db8:1::5")));
  EXPECT_FALSE(after->AllowsAddress(*IpAddress::Parse("11.0.0.1")));
  EXPECT_FALSE(after->AllowsAddress(*IpAddress::Parse("2001:db9::1")));
  EXPECT_FALSE(server.Get(globex).value()->require_2fa) << "per tenant";
  // Changes of different fields by two processes both stay: Update reads afresh.
  ASSERT_TRUE(operator_
                  .Update(testing_support::TestActor(), acme,
                          [](TenantSettings& s) {
                            s.ip_allowlist.clear();
                            return Status::Ok();
                          })
                  .ok());
  auto merged = server.Update(testing_support::TestActor(), acme, [](TenantSettings& s) {
    s.session_minutes = 30;
    return Status::Ok();
  });
  ASSERT_TRUE(merged.ok());
  EXPECT_TRUE(merged->ip_allowlist.empty()) << "not the server's stale cached allowlist";
  EXPECT_EQ(merged->session_minutes, 30);
  EXPECT_TRUE(merged->require_2fa);
  // A refused change stores nothing.
  EXPECT_FALSE(server
                   .Update(testing_support::TestActor(), acme,
                           [](TenantSettings& s) {
                             s.link_minutes = 0;
                             return Status::Ok();
                           })
                   .ok());
  EXPECT_EQ(server.Get(acme).value()->link_minutes, 5);
}

}  // namespace
}  // namespace pactum::tenant
