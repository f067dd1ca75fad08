#include "tenant/tenant_keys.h"

#include <gtest/gtest.h>

#include "crypto/local_key_provider.h"
#include "store/sqlite_database.h"
#include "tenant/tenant_service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::tenant {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string Str(const crypto::SecretBytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class TenantKeysTest : public ::testing::Test {
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
    TenantService tenants(*db_, clock_, *keys_);
    acme_ = tenants.Create("acme")->id;
    globex_ = tenants.Create("globex")->id;
  }

  Result<std::vector<uint8_t>> Seal(TenantKeys& keys, int64_t tenant, std::string_view secret,
                                    std::string_view context) {
    std::vector<uint8_t> out;
    Status s = db_->Write([&](store::Session& session) -> Status {
      ASSIGN_OR_RETURN(out, keys.Seal(session, tenant, Bytes(secret), context));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }

  Result<std::string> Open(TenantKeys& keys, int64_t tenant, const std::vector<uint8_t>& sealed,
                           std::string_view context) {
    std::string out;
    Status s = db_->Read([&](store::Session& session) -> Status {
      ASSIGN_OR_RETURN(auto plain, keys.Open(session, tenant, sealed, context));
      out = Str(plain);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }

  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<crypto::LocalKeyProvider> provider_;
  std::unique_ptr<TenantKeys> keys_;
  int64_t acme_ = 0;
  int64_t globex_ = 0;
};

TEST_F(TenantKeysTest, ASealedSecretOpensOnlyForItsTenantAndContext) {
  auto sealed = Seal(*keys_, acme_, "JBSWY3DPEHPK3PXP", "totp:user/1");
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(std::string(sealed->begin(), sealed->end()).find("JBSWY3DP"), std::string::npos);
  EXPECT_EQ(*Open(*keys_, acme_, *sealed, "totp:user/1"), "JBSWY3DPEHPK3PXP");
  EXPECT_EQ(Open(*keys_, acme_, *sealed, "totp:user/2").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Open(*keys_, globex_, *sealed, "totp:user/1").status().code(), StatusCode::kDataLoss);
  for (size_t i = 8; i < sealed->size(); i += 7) {
    auto altered = *sealed;
    altered[i] ^= 1;
    EXPECT_EQ(Open(*keys_, acme_, altered, "totp:user/1").status().code(), StatusCode::kDataLoss)
        << "byte " << i;
  }
  EXPECT_EQ(Open(*keys_, acme_, {1, 2, 3}, "totp:user/1").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Seal(*keys_, 999, "x", "c").status().code(), StatusCode::kNotFound);
}

TEST_F(TenantKeysTest, NewVersionsSealNewDataAndOldVersionsStayReadable) {
  auto v1 = Seal(*keys_, acme_, "first", "ctx");
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(
      db_->Write([&](store::Session& s) { return keys_->AddVersion(s, acme_).status(); }).ok());
  auto v2 = Seal(*keys_, acme_, "second", "ctx");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v1)[7], 1);
  EXPECT_EQ((*v2)[7], 2);
  EXPECT_EQ(*Open(*keys_, acme_, *v1, "ctx"), "first");
  EXPECT_EQ(*Open(*keys_, acme_, *v2, "ctx"), "second");
}

TEST_F(TenantKeysTest, RewrappingUnderANewMasterKeyKeepsEverySecretReadable) {
  auto v1 = Seal(*keys_, acme_, "first", "ctx");
  ASSERT_TRUE(provider_->AddVersion().ok());
  int64_t rewrapped = 0;
  ASSERT_TRUE(db_->Write([&](store::Session& s) -> Status {
                   ASSIGN_OR_RETURN(rewrapped, keys_->RewrapAll(s));
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_EQ(rewrapped, 2);  // acme and globex, one version each
  ASSERT_TRUE(provider_->RemoveVersionsBelow(2).ok());
  TenantKeys fresh(*provider_, clock_);  // nothing cached
  EXPECT_EQ(*Open(fresh, acme_, *v1, "ctx"), "first");
}

TEST_F(TenantKeysTest, AKeyVersionThatRolledBackIsNeverUsed) {
  std::vector<uint8_t> lost;
  Status s = db_->Write([&](store::Session& session) -> Status {
    RETURN_IF_ERROR(keys_->AddVersion(session, acme_).status());
    ASSIGN_OR_RETURN(lost, keys_->Seal(session, acme_, Bytes("lost"), "ctx"));
    return FailedPrecondition("roll back");
  });
  ASSERT_EQ(s.code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(lost[7], 2);
  ASSERT_TRUE(db_->Write([&](store::Session& session) {
                   return keys_->AddVersion(session, acme_).status();
                 })
                  .ok());
  auto kept = Seal(*keys_, acme_, "kept", "ctx");
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ((*kept)[7], 2);
  EXPECT_EQ(*Open(*keys_, acme_, *kept, "ctx"), "kept");
  EXPECT_EQ(Open(*keys_, acme_, lost, "ctx").status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace pactum::tenant
