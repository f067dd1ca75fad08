#include "crypto/password.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

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

// A string of `n` letters that no estimator finds a pattern in (a fixed pseudo-random
// draw, so the test is the same every run).
std::string Scrambled(size_t n) {
  static constexpr std::string_view kLetters = "bcdfghjkmnpqrstvwxzBCDFGHJKMNPQRSTVWXZ2345679";
  std::string out;
  uint32_t x = 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245U + 12345U;
    out += kLetters[(x >> 16) % kLetters.size()];
  }
  return out;
}

TEST(Password, PolicyCountsCharactersAndRefusesCommonPasswords) {
  EXPECT_GE(CommonPasswordCount(), 10000U);
  EXPECT_TRUE(CheckPasswordPolicy("twelve chars").ok());
  EXPECT_FALSE(CheckPasswordPolicy("eleven char").ok());
  EXPECT_TRUE(CheckPasswordPolicy(Scrambled(128)).ok());
  EXPECT_FALSE(CheckPasswordPolicy(Scrambled(129)).ok());
  // Characters, not bytes: twelve two-byte letters pass, 129 of them do not.
  const std::string umlauts =
      "\u00e4\u00f6\u00fc\u00df\u00e9\u00e8\u00e0\u00e7\u00f1\u00f8\u00e5\u00e6";
  EXPECT_TRUE(CheckPasswordPolicy(umlauts).ok()) << CheckPasswordPolicy(umlauts).message();
  EXPECT_FALSE(CheckPasswordPolicy(umlauts.substr(0, 22)).ok()) << "eleven of them";
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

TEST(Password, GuessablePasswordsAreRefusedSayingWhy) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"password1234", "common words, names or passwords"},
      {"123456789012", "a sequence such as abcd or 1234"},
      {"aaaaaaaaaaaa", "repeat"},
      {"passwordpassword", "repeat"},
      {"p@ssw0rdp@ss", "look-alike symbols"},
      {"19850612july", "date or year"},
  };
  for (const auto& [password, why] : cases) {
    const Status s = CheckPasswordPolicy(password);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << password;
    // Either the bundled list knows it, or the estimate says what makes it weak.
    if (s.message().find("too common") != std::string::npos) continue;
    EXPECT_EQ(s.message().rfind("password is too easy to guess: ", 0), 0U) << s.message();
    EXPECT_NE(s.message().find(why), std::string::npos) << password << ": " << s.message();
  }
  // NIST: no composition rules. Four unrelated words pass; so do symbols-only strong ones.
  for (const char* strong : {"ornament plover quiz lantern", "staple-orbit-lantern-fjord",
                             "correct horse battery staple", "kHx9#mQ2vL8p"}) {
    EXPECT_TRUE(CheckPasswordPolicy(strong).ok())
        << strong << ": " << CheckPasswordPolicy(strong).message();
  }
  const PasswordStrength weak = EstimatePasswordStrength("123456789012");
  EXPECT_LT(weak.score, kMinPasswordScore);
  EXPECT_FALSE(weak.why.empty());
  const PasswordStrength strong = EstimatePasswordStrength("ornament plover quiz lantern");
  EXPECT_EQ(strong.score, 4);
  EXPECT_TRUE(strong.why.empty());
}

TEST(Password, KnownWordsOfThePersonCountAsGuessable) {
  const std::vector<std::string> lucinda = {"lucinda@zephyrcorp.com", "lucinda",     "zephyrcorp",
                                            "Lucinda Fairweather",    "Fairweather", "quillmark"};
  for (const char* own : {"zephyrcorp-lucinda", "LucindaFairweather1", "quillmark-tuesday"}) {
    EXPECT_TRUE(CheckPasswordPolicy(own).ok()) << own << " is strong for anyone else";
    const Status s = CheckPasswordPolicy(own, lucinda);
    EXPECT_NE(s.message().find("your name, email address or organisation"), std::string::npos)
        << own << ": " << s.message();
  }
  // Words under three characters say nothing and are left out.
  EXPECT_TRUE(
      CheckPasswordPolicy("ornament plover quiz lantern", std::vector<std::string>{"a", "qu"})
          .ok());
}

TEST(Password, ControlCharactersAreRefusedOtherCharactersAreNot) {
  EXPECT_EQ(CheckPasswordPolicy(std::string("ornament\0plover quiz", 20)).message(),
            "password must not contain control characters");
  EXPECT_FALSE(CheckPasswordPolicy("ornament\tplover quiz").ok());
  EXPECT_TRUE(CheckPasswordPolicy("ornament \u00b7 plover \u00b7 quiz \U0001f600").ok());
}

}  // namespace
}  // namespace pactum::crypto
