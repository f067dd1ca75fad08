#include "crypto/aead.h"

#include <gtest/gtest.h>

#include "tests/support/bytes.h"

#include "crypto/random.h"

namespace pactum::crypto {
namespace {

std::vector<uint8_t> Key() {
  std::vector<uint8_t> k(kAesKeyBytes);
  RandomBytes(k);
  return k;
}

using testing_support::Bytes;

TEST(AesGcm, RoundTripsWithTheSameKeyAndContext) {
  const auto key = Key();
  auto sealed = AesGcmSeal(key, Bytes("tenant key material"), "ctx");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kGcmNonceBytes + 19 + kGcmTagBytes);
  auto opened = AesGcmOpen(key, *sealed, "ctx");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(std::string(opened->data(), opened->data() + opened->size()), "tenant key material");
}

TEST(AesGcm, EveryFlippedByteIsDetected) {
  const auto key = Key();
  const auto sealed = *AesGcmSeal(key, Bytes("secret"), "ctx");
  for (size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_EQ(AesGcmOpen(key, bad, "ctx").status().code(), StatusCode::kDataLoss) << i;
  }
}

TEST(AesGcm, WrongKeyOrContextIsDataLoss) {
  const auto key = Key();
  const auto sealed = *AesGcmSeal(key, Bytes("secret"), "purpose=db");
  EXPECT_EQ(AesGcmOpen(Key(), sealed, "purpose=db").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(AesGcmOpen(key, sealed, "purpose=tenant").status().code(), StatusCode::kDataLoss);
}

TEST(AesGcm, NoncesDifferAndBadInputsAreErrors) {
  const auto key = Key();
  EXPECT_NE(*AesGcmSeal(key, Bytes("x"), ""), *AesGcmSeal(key, Bytes("x"), ""));
  EXPECT_EQ(AesGcmSeal(Bytes("short"), Bytes("x"), "").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(AesGcmOpen(key, Bytes("tiny"), "").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pactum::crypto
