#include "common/hex.h"

#include <array>

#include <gtest/gtest.h>

namespace pactum {
namespace {

TEST(Hex, EncodeThenDecodeRoundTripsEveryByte) {
  std::array<uint8_t, 256> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
  const std::string hex = HexEncode(bytes);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(hex.size() - 4), "feff");
  std::array<uint8_t, 256> back{};
  ASSERT_TRUE(HexDecode(hex, back));
  EXPECT_EQ(back, bytes);
}

TEST(Hex, DecodeAcceptsEitherCase) {
  std::array<uint8_t, 2> out{};
  ASSERT_TRUE(HexDecode("aBCd", out));
  EXPECT_EQ(out, (std::array<uint8_t, 2>{0xab, 0xcd}));
}

TEST(Hex, DecodeRefusesAnyOtherLengthOrCharacter) {
  std::array<uint8_t, 2> out{};
  for (const char* bad :
       {"", "abc", "abcde", "abcdef", "abcg", " abc", "+abc", "ab c", "0xab", "ab\0d", "ab-d"}) {
    EXPECT_FALSE(HexDecode(bad, out)) << bad;
  }
  EXPECT_FALSE(HexDecode(std::string_view("ab\0d", 4), out));  // an embedded NUL
}

}  // namespace
}  // namespace pactum
