#include "crypto/password.h"

#include <gtest/gtest.h>

namespace pactum::crypto {
namespace {

TEST(Password, HashesWithArgon2idAndVerifies) {
  const PasswordParams params;
  auto hash = HashPassword("correct horse battery staple", params);
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *hash;
  EXPECT_EQ(hash->find("correct"), std::string::npos);
  EXPECT_EQ(VerifyPassword(*hash, "correct horse battery staple", params), PasswordMatch::kYes);
  EXPECT_EQ(VerifyPassword(*hash, "correct horse battery stapl", params), PasswordMatch::kNo);
  EXPECT_EQ(VerifyPassword(*hash, "", params), PasswordMatch::kNo);
  auto again = HashPassword("correct horse battery staple", params);
  EXPECT_NE(*again, *hash) << "a fresh salt every time";
  for (const std::string& bad :
       {std::string(""), std::string("$argon2id$junk"), std::string(200, 'x')}) {
    EXPECT_EQ(VerifyPassword(bad, "correct horse battery staple", params), PasswordMatch::kNo);
  }
}

TEST(Password, RaisedParametersAskForARehashOnTheNextLogin) {
  PasswordParams old_params;
  auto hash = HashPassword("correct horse battery staple", old_params);
  ASSERT_TRUE(hash.ok());
  PasswordParams raised;
  raised.passes = 3;
  EXPECT_EQ(VerifyPassword(*hash, "correct horse battery staple", raised),
            PasswordMatch::kYesButRehash);
  EXPECT_EQ(VerifyPassword(*hash, "wrong password here", raised), PasswordMatch::kNo);
  PasswordParams weak;
  weak.passes = 1;
  EXPECT_EQ(HashPassword("correct horse battery staple", weak).status().code(),
            StatusCode::kInvalidArgument);
  weak = PasswordParams{};
  weak.memory_bytes = size_t{8} << 20;
  EXPECT_EQ(HashPassword("correct horse battery staple", weak).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Password, PolicyCountsCharactersAndRefusesCommonPasswords) {
  EXPECT_GE(CommonPasswordCount(), 10000U);
  EXPECT_TRUE(CheckPasswordPolicy("twelve chars").ok());
  EXPECT_FALSE(CheckPasswordPolicy("eleven char").ok());
  EXPECT_TRUE(CheckPasswordPolicy(std::string(128, 'k')).ok());
  EXPECT_FALSE(CheckPasswordPolicy(std::string(129, 'k')).ok());
  // Characters, not bytes: twelve two-byte letters pass, 129 of them do not.
  std::string umlauts;
  for (int i = 0; i < 12; ++i) umlauts += "\xc3\xa4";
  EXPECT_TRUE(CheckPasswordPolicy(umlauts).ok());
  std::string long_umlauts;
  for (int i = 0; i < 129; ++i) long_umlauts += "\xc3\xa4";
  EXPECT_FALSE(CheckPasswordPolicy(long_umlauts).ok());
  EXPECT_FALSE(CheckPasswordPolicy("bad utf8 \xff\xfe here").ok());
  // From the bundled list, in any case.
  for (const char* common : {"abbreviations", "ABBREVIATIONS", "Abnormalities"}) {
    const Status s = CheckPasswordPolicy(common);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << common;
    EXPECT_NE(s.message().find("common"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(CheckPasswordPolicy("abbreviations of a contract").ok());
}

}  // namespace
}  // namespace pactum::crypto
