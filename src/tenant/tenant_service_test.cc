#include "tenant/tenant_service.h"

#include <gtest/gtest.h>

#include "crypto/local_key_provider.h"
#include "store/sqlite_database.h"
#include "tests/support/fake_clock.h"
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

}  // namespace
}  // namespace pactum::tenant
