#include "auth/two_factor.h"

#include <gtest/gtest.h>

#include <set>

#include "auth/qr_svg.h"
#include "common/log.h"
#include "crypto/local_key_provider.h"
#include "crypto/otp.h"
#include "store/sqlite_database.h"
#include "tenant/tenant_service.h"
#include "tests/support/fake_clock.h"
#include "tests/support/recording_audit_sink.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::auth {
namespace {

class TwoFactorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.path = dir_.File("p.db");
    o.key = testing_support::RandomKey();
    db_ = std::move(store::OpenSqliteDatabase(o)).value();
    provider_ = std::move(crypto::LocalKeyProvider::Create(dir_.File("master.key"), "dev")).value();
    keys_ = std::make_unique<tenant::TenantKeys>(*provider_, clock_);
    tenant::TenantService tenants(*db_, clock_, *keys_);
    const int64_t acme = tenants.Create("acme")->id;
    const int64_t globex = tenants.Create("globex")->id;
    users_ = std::make_unique<UserService>(*db_, clock_, crypto::PasswordParams{},
                                           testing_support::TestAudit());
    ann_ = users_->Create(testing_support::TestActor(), acme, "ann@example.com", "Ann", Role::kUser)
               ->first;
    gus_ =
        users_->Create(testing_support::TestActor(), globex, "gus@example.com", "Gus", Role::kAdmin)
            ->first;
    tfa_ = std::make_unique<TwoFactorService>(*db_, clock_, *keys_, testing_support::TestAudit());
  }

  // The code an authenticator app shows now (offset in 30 s steps).
  std::string CodeNow(int steps = 0) const {
    const int64_t step = UnixSeconds(clock_.Now()) / 30 + steps;
    return crypto::FormatOtp(crypto::Hotp(secret_, static_cast<uint64_t>(step), 6), 6);
  }

  // Enrols Ann and returns her recovery codes.
  std::vector<std::string> Enrol() {
    auto e = tfa_->Begin(ann_, "Pactum (acme)");
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    secret_ = crypto::Base32Decode(e->secret).value();
    auto codes = tfa_->Confirm(testing_support::TestActor(), ann_, CodeNow());
    EXPECT_TRUE(codes.ok()) << codes.status().ToString();
    clock_.Advance(std::chrono::seconds(30));  // the confirming code is spent
    return codes.ok() ? *codes : std::vector<std::string>{};
  }

  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<crypto::LocalKeyProvider> provider_;
  std::unique_ptr<tenant::TenantKeys> keys_;
  std::unique_ptr<UserService> users_;
  std::unique_ptr<TwoFactorService> tfa_;
  User ann_;
  User gus_;
  std::vector<uint8_t> secret_;
};

TEST_F(TwoFactorTest, EnrolmentIsActiveOnlyAfterACorrectCodeConfirmsIt) {
  auto e = tfa_->Begin(ann_, "Pactum (acme)");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->secret.size(), 32U) << "160 bits in base32";
  EXPECT_TRUE(e->otpauth_uri.starts_with("otpauth://totp/")) << e->otpauth_uri;
  EXPECT_NE(e->otpauth_uri.find("secret=" + e->secret), std::string::npos);
  EXPECT_TRUE(e->qr_svg.starts_with("<svg")) << e->qr_svg.substr(0, 40);
  secret_ = crypto::Base32Decode(e->secret).value();
  // Pending: a code does not log in yet.
  EXPECT_EQ(tfa_->UseCode(ann_.tenant_id, ann_.id, CodeNow()).status().code(),
            StatusCode::kUnauthenticated);
  auto wrong = tfa_->Confirm(testing_support::TestActor(), ann_, CodeNow(5));
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(wrong.status().reason(), "wrong_code");
  // Starting again replaces the pending secret: the first one's codes no longer confirm.
  const std::vector<uint8_t> first = secret_;
  auto again = tfa_->Begin(ann_, "Pactum (acme)");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->secret, e->secret);
  EXPECT_EQ(tfa_->Confirm(testing_support::TestActor(), ann_, CodeNow()).status().code(),
            StatusCode::kPermissionDenied);
  secret_ = crypto::Base32Decode(again->secret).value();
  auto codes = tfa_->Confirm(testing_support::TestActor(), ann_, CodeNow());
  ASSERT_TRUE(codes.ok()) << codes.status().ToString();
  ASSERT_EQ(codes->size(), 10U);
  std::set<std::string> distinct(codes->begin(), codes->end());
  EXPECT_EQ(distinct.size(), 10U);
  for (const auto& c : *codes) {
    EXPECT_EQ(c.size(), 19U) << c;
    EXPECT_FALSE(NormalizeRecoveryCode(c).empty()) << c;
  }
  EXPECT_EQ(tfa_->Begin(ann_, "Pactum (acme)").status().reason(), "two_factor_active");
  EXPECT_EQ(tfa_->Confirm(testing_support::TestActor(), ann_, CodeNow(1)).status().reason(),
            "no_pending_enrolment");
}

TEST_F(TwoFactorTest, TheSecretIsStoredSealedWithTheTenantKey) {
  Enrol();
  std::string blob;
  ASSERT_TRUE(db_->Read([&](store::Session& s) -> Status {
                   ASSIGN_OR_RETURN(
                       auto rows,
                       s.Query("SELECT secret FROM user_totp WHERE user_id = $1", {ann_.id}));
                   const store::Blob b = rows.at(0).Bytes(0);
                   blob.assign(b.begin(), b.end());
                   return Status::Ok();
                 })
                  .ok());
  EXPECT_TRUE(blob.starts_with("pts1"));
  EXPECT_EQ(blob.find(std::string(secret_.begin(), secret_.end())), std::string::npos);
  // Moved to another user of the same tenant it no longer opens: the user is bound into
  // the seal, not only the tenant.
  const User amy = users_
                       ->Create(testing_support::TestActor(), ann_.tenant_id, "amy@example.com",
                                "Amy", Role::kUser)
                       ->first;
  ASSERT_TRUE(
      db_->Write([&](store::Session& s) {
           return s.Execute("UPDATE user_totp SET user_id = $1, confirmed = 1", {amy.id}).status();
         })
          .ok());
  auto moved = tfa_->UseCode(amy.tenant_id, amy.id, CodeNow());
  EXPECT_EQ(moved.status().code(), StatusCode::kDataLoss) << moved.status().ToString();
}

TEST_F(TwoFactorTest, ACodeWorksOnceAndOlderCodesNeverAgain) {
  Enrol();
  const std::string code = CodeNow();
  auto used = tfa_->UseCode(ann_.tenant_id, ann_.id, code);
  ASSERT_TRUE(used.ok()) << used.status().ToString();
  EXPECT_EQ(*used, SecondFactor::kTotp);
  // The same code within its validity: a replay, refused and logged (without the code).
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(tfa_->UseCode(ann_.tenant_id, ann_.id, code).status().code(),
            StatusCode::kUnauthenticated);
  log::Flush();
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(logged.find("a replayed TOTP code was refused"), std::string::npos) << logged;
  EXPECT_NE(logged.find("\"user_id\":" + std::to_string(ann_.id)), std::string::npos) << logged;
  EXPECT_EQ(logged.find(code), std::string::npos) << logged;
  // The previous step's code is within the skew window, but older than the one used.
  EXPECT_FALSE(tfa_->UseCode(ann_.tenant_id, ann_.id, CodeNow(-1)).ok());
  // The next step's code works (clock skew of one step), and then the current one does not.
  EXPECT_TRUE(tfa_->UseCode(ann_.tenant_id, ann_.id, CodeNow(1)).ok());
  EXPECT_FALSE(tfa_->UseCode(ann_.tenant_id, ann_.id, CodeNow()).ok());
  clock_.Advance(std::chrono::seconds(60));
  EXPECT_TRUE(tfa_->UseCode(ann_.tenant_id, ann_.id,
                            "  " + CodeNow().substr(0, 3) + " " + CodeNow().substr(3))
                  .ok())
      << "spaces as apps display them are ignored";
  // Two steps away is outside the window.
  EXPECT_FALSE(tfa_->UseCode(ann_.tenant_id, ann_.id, CodeNow(2)).ok());
  // Another tenant's user id with Ann's code: nothing.
  EXPECT_FALSE(tfa_->UseCode(gus_.tenant_id, ann_.id, CodeNow(1)).ok());
}

TEST_F(TwoFactorTest, EachRecoveryCodeWorksOnce) {
  const auto codes = Enrol();
  ASSERT_EQ(codes.size(), 10U);
  auto used = tfa_->UseCode(ann_.tenant_id, ann_.id, codes[0]);
  ASSERT_TRUE(used.ok()) << used.status().ToString();
  EXPECT_EQ(*used, SecondFactor::kRecoveryCode);
  EXPECT_FALSE(tfa_->UseCode(ann_.tenant_id, ann_.id, codes[0]).ok()) << "reuse";
  // Case and dashes do not matter.
  std::string loose = codes[1];
  std::erase(loose, '-');
  for (char& c : loose) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(tfa_->UseCode(ann_.tenant_id, ann_.id, loose).ok());
  // One character off: refused.
  std::string off = codes[2];
  off[0] = off[0] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(tfa_->UseCode(ann_.tenant_id, ann_.id, off).ok());
  EXPECT_TRUE(tfa_->UseCode(ann_.tenant_id, ann_.id, codes[2]).ok());
}

TEST_F(TwoFactorTest, DisablingNeedsACurrentCodeAndRemovesEveryFactor) {
  const auto codes = Enrol();
  EXPECT_EQ(tfa_->Disable(testing_support::TestActor(), ann_, "000000").reason(), "wrong_code");
  EXPECT_EQ(tfa_->Disable(testing_support::TestActor(), ann_, "not a code").reason(), "wrong_code");
  ASSERT_TRUE(tfa_->Disable(testing_support::TestActor(), ann_, CodeNow()).ok());
  EXPECT_FALSE(tfa_->UseCode(ann_.tenant_id, ann_.id, codes[0]).ok()) << "codes went with it";
  EXPECT_EQ(tfa_->Disable(testing_support::TestActor(), ann_, CodeNow(1)).reason(),
            "two_factor_off");
  // A recovery code can turn it off too (the device is lost).
  const auto second = Enrol();
  EXPECT_TRUE(tfa_->Disable(testing_support::TestActor(), ann_, second[3]).ok());
}

TEST_F(TwoFactorTest, AnAdminResetStaysInsideTheTenant) {
  Enrol();
  EXPECT_EQ(tfa_->Reset(testing_support::TestActor(), gus_.tenant_id, ann_.id).code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(tfa_->UseCode(ann_.tenant_id, ann_.id, CodeNow()).ok());
  ASSERT_TRUE(tfa_->Reset(testing_support::TestActor(), ann_.tenant_id, ann_.id).ok());
  EXPECT_FALSE(tfa_->UseCode(ann_.tenant_id, ann_.id, CodeNow(1)).ok());
}

TEST_F(TwoFactorTest, ALoginChallengeIsShortLivedAndAllowsFewGuesses) {
  Enrol();
  auto token = tfa_->StartChallenge(ann_, audit::Event{});
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->size(), 43U);
  auto wrong = tfa_->AnswerChallenge(*token, "000000", testing_support::TestActor());
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->accepted);
  EXPECT_EQ(wrong->user_id, ann_.id);
  auto right = tfa_->AnswerChallenge(*token, CodeNow(), testing_support::TestActor());
  ASSERT_TRUE(right.ok());
  EXPECT_TRUE(right->accepted);
  EXPECT_EQ(right->tenant_id, ann_.tenant_id);
  // Single use.
  EXPECT_EQ(tfa_->AnswerChallenge(*token, CodeNow(1), testing_support::TestActor()).status().code(),
            StatusCode::kUnauthenticated);
  // Five wrong codes exhaust a challenge: even the right one fails then.
  auto guessed = tfa_->StartChallenge(ann_, audit::Event{});
  for (int i = 0; i < TwoFactorService::kChallengeAttempts; ++i) {
    EXPECT_FALSE(
        tfa_->AnswerChallenge(*guessed, "12345" + std::to_string(i), testing_support::TestActor())
            ->accepted);
  }
  EXPECT_FALSE(tfa_->AnswerChallenge(*guessed, CodeNow(1), testing_support::TestActor()).ok());
  // Five minutes and it is gone.
  auto slow = tfa_->StartChallenge(ann_, audit::Event{});
  clock_.Advance(std::chrono::seconds(TwoFactorService::kChallengeSeconds));
  EXPECT_FALSE(tfa_->AnswerChallenge(*slow, CodeNow(), testing_support::TestActor()).ok());
  EXPECT_FALSE(tfa_->AnswerChallenge("not-a-token", CodeNow(), testing_support::TestActor()).ok());
}

TEST_F(TwoFactorTest, ALoginWithTheCodeThatConfirmedEnrolmentSaysWaitForTheNext) {
  auto e = tfa_->Begin(ann_, "Pactum (acme)");
  ASSERT_TRUE(e.ok());
  secret_ = crypto::Base32Decode(e->secret).value();
  ASSERT_TRUE(tfa_->Confirm(testing_support::TestActor(), ann_, CodeNow()).ok());
  // The same 30-second step: the code is right but spent.
  auto token = tfa_->StartChallenge(ann_, audit::Event{});
  ASSERT_TRUE(token.ok());
  auto again = tfa_->AnswerChallenge(*token, CodeNow(), testing_support::TestActor());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->accepted) << "a replay stays refused";
  EXPECT_EQ(again->refusal.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(again->refusal.reason(), "code_already_used");
  EXPECT_EQ(again->refusal.message(), "this code was already used; wait for the next code");
  // A wrong code keeps the plain answer, which says nothing about the code.
  auto wrong = tfa_->AnswerChallenge(*token, CodeNow() == "000000" ? "111111" : "000000",
                                     testing_support::TestActor());
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->accepted);
  EXPECT_EQ(wrong->refusal.reason(), "");
  EXPECT_EQ(wrong->refusal.message(), "the code is wrong or the login expired");
  // The next step's code completes the same challenge.
  clock_.Advance(std::chrono::seconds(30));
  auto next = tfa_->AnswerChallenge(*token, CodeNow(), testing_support::TestActor());
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->accepted);
}

TEST(RecoveryCode, NormalizesOnlyWellFormedCodes) {
  EXPECT_EQ(NormalizeRecoveryCode("abcd-efgh-ijkl-mnop"), "ABCDEFGHIJKLMNOP");
  EXPECT_EQ(NormalizeRecoveryCode("ABCD EFGH 2345 6723"), "ABCDEFGH23456723");
  EXPECT_EQ(NormalizeRecoveryCode("abcd-efgh-ijkl-mno"), "") << "too short";
  EXPECT_EQ(NormalizeRecoveryCode("abcd-efgh-ijkl-mnopq"), "") << "too long";
  EXPECT_EQ(NormalizeRecoveryCode("abcd-efgh-ijkl-mno1"), "") << "1 is not base32";
  EXPECT_EQ(NormalizeRecoveryCode(""), "");
}

TEST(QrSvg, DrawsAScalableCodeAndRefusesWhatDoesNotFit) {
  auto svg = QrSvg("otpauth://totp/Pactum:ann%40example.com?secret=JBSWY3DPEHPK3PXP");
  ASSERT_TRUE(svg.ok());
  EXPECT_TRUE(svg->starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "));
  EXPECT_NE(svg->find("h1v1h-1z"), std::string::npos);
  EXPECT_TRUE(svg->ends_with("</svg>"));
  EXPECT_FALSE(QrSvg(std::string(5000, 'x')).ok()) << "beyond QR version 40";
}

}  // namespace
}  // namespace pactum::auth
