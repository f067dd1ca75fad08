#include "crypto/otp.h"

#include <gtest/gtest.h>

#include "tests/support/bytes.h"

namespace pactum::crypto {
namespace {

using testing_support::Bytes;

// RFC 4226 Appendix D.
TEST(Otp, HotpMatchesRfc4226Vectors) {
  const auto secret = Bytes("12345678901234567890");
  const uint32_t expected[] = {755224, 287082, 359152, 969429, 338314,
                               254676, 287922, 162583, 399871, 520489};
  for (uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(Hotp(secret, counter, 6), expected[counter]) << counter;
  }
}

// RFC 6238 Appendix B: 8 digits, 30 s, SHA-1 / SHA-256 / SHA-512 with their seeds.
TEST(Otp, TotpMatchesRfc6238Vectors) {
  struct Vector {
    int64_t time;
    const char* sha1;
    const char* sha256;
    const char* sha512;
  };
  const Vector vectors[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  const auto seed1 = Bytes("12345678901234567890");
  const auto seed256 = Bytes("12345678901234567890123456789012");
  const auto seed512 = Bytes("1234567890123456789012345678901234567890123456789012345678901234");
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.time);
    const auto step = static_cast<uint64_t>(v.time / 30);
    EXPECT_EQ(FormatOtp(Hotp(seed1, step, 8, OtpHash::kSha1), 8), v.sha1);
    EXPECT_EQ(FormatOtp(Hotp(seed256, step, 8, OtpHash::kSha256), 8), v.sha256);
    EXPECT_EQ(FormatOtp(Hotp(seed512, step, 8, OtpHash::kSha512), 8), v.sha512);
    TotpParams p;
    p.digits = 8;
    p.skew_steps = 0;
    EXPECT_EQ(VerifyTotp(seed1, v.sha1, v.time, p), v.time / 30);
    p.hash = OtpHash::kSha512;
    EXPECT_EQ(VerifyTotp(seed512, v.sha512, v.time, p), v.time / 30);
  }
}

TEST(Otp, VerifyAcceptsOneStepOfSkewAndNothingElse) {
  const auto secret = Bytes("12345678901234567890");
  const int64_t now = 1'800'000'000;
  const int64_t step = now / 30;
  for (const int64_t delta : {-1, 0, 1}) {
    const std::string code = FormatOtp(Hotp(secret, static_cast<uint64_t>(step + delta), 6), 6);
    EXPECT_EQ(VerifyTotp(secret, code, now), step + delta) << delta;
  }
  for (const int64_t delta : {-3, -2, 2, 3}) {
    const std::string code = FormatOtp(Hotp(secret, static_cast<uint64_t>(step + delta), 6), 6);
    EXPECT_EQ(VerifyTotp(secret, code, now), std::nullopt) << delta;
  }
  const std::string good = FormatOtp(Hotp(secret, static_cast<uint64_t>(step), 6), 6);
  for (const std::string& bad : {std::string(""), good.substr(0, 5), good + "0",
                                 std::string("12a456"), std::string(" ") + good.substr(1)}) {
    EXPECT_EQ(VerifyTotp(secret, bad, now), std::nullopt) << bad;
  }
  EXPECT_EQ(VerifyTotp(Bytes("another secret of 20b"), good, now), std::nullopt);
}

// RFC 4648 section 10.
TEST(Otp, Base32MatchesRfc4648AndRejectsJunk) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "MY"},
                                                         {"fo", "MZXQ"},
                                                         {"foo", "MZXW6"},
                                                         {"foob", "MZXW6YQ"},
                                                         {"fooba", "MZXW6YTB"},
                                                         {"foobar", "MZXW6YTBOI"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base32Encode(Bytes(plain)), encoded);
    EXPECT_EQ(*Base32Decode(encoded), Bytes(plain));
  }
  EXPECT_EQ(*Base32Decode("MZXW6YTBOI======"), Bytes("foobar"));
  EXPECT_EQ(*Base32Decode("mzxw6ytboi"), Bytes("foobar"));
  for (const char* junk : {"MZXW6YTBO1", "M", "MZXW6YTBOJ", "MZ XW"}) {
    EXPECT_EQ(Base32Decode(junk).status().code(), StatusCode::kInvalidArgument) << junk;
  }
}

TEST(Otp, OtpauthUriCarriesTheParametersEncoded) {
  const auto secret = Bytes("12345678901234567890");
  EXPECT_EQ(OtpauthUri("Pactum acme", "ann@example.com", secret),
            "otpauth://totp/Pactum%20acme:ann@example.com?secret="
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Pactum%20acme&algorithm=SHA1&digits=6"
            "&period=30");
}

}  // namespace
}  // namespace pactum::crypto
