#include "crypto/link_token.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pactum::crypto {
namespace {

std::vector<uint8_t> Key(uint8_t fill) { return std::vector<uint8_t>(32, fill); }

LinkClaims Sample(std::span<const uint8_t> link_key) {
  LinkClaims c;
  c.tenant_id = 7;
  c.document_id = 1234;
  c.user_id = 42;
  c.key_version = 3;
  c.expires_at = 1'800'000'000;
  c.binding = LinkBinding(link_key, "session:abc");
  return c;
}

TEST(LinkToken, CarriesItsClaimsUnderAValidSignature) {
  const auto key = LinkKey(Key(1)).value();
  const LinkClaims c = Sample(key.span());
  const std::string token = SignLink(key.span(), c);
  EXPECT_EQ(token.size(), kLinkTokenChars);
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  auto parsed = ParseLink(token);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->tenant_id, 7);
  EXPECT_EQ(parsed->document_id, 1234);
  EXPECT_EQ(parsed->user_id, 42);
  EXPECT_EQ(parsed->key_version, 3U);
  EXPECT_EQ(parsed->expires_at, 1'800'000'000);
  EXPECT_EQ(parsed->binding, c.binding);
  EXPECT_TRUE(parsed->bound());
  EXPECT_TRUE(LinkSignatureValid(key.span(), token));
}

TEST(LinkToken, EveryChangedCharacterIsRefused) {
  const auto key = LinkKey(Key(1)).value();
  const std::string token = SignLink(key.span(), Sample(key.span()));
  for (size_t i = 0; i < token.size(); ++i) {
    for (const char replacement : {'A', 'z', '_'}) {
      std::string changed = token;
      if (changed[i] == replacement) continue;
      changed[i] = replacement;
      EXPECT_FALSE(ParseLink(changed).ok() && LinkSignatureValid(key.span(), changed))
          << "position " << i;
    }
  }
}

TEST(LinkToken, TruncatedExtendedOrGarbledTokensAreRefused) {
  const auto key = LinkKey(Key(1)).value();
  const std::string token = SignLink(key.span(), Sample(key.span()));
  for (const std::string& bad :
       {token.substr(0, token.size() - 1), token + "A", std::string(), token.substr(1),
        token.substr(0, 50) + "!" + token.substr(51), std::string(kLinkTokenChars, '=')}) {
    EXPECT_FALSE(ParseLink(bad).ok());
    EXPECT_FALSE(LinkSignatureValid(key.span(), bad));
  }
}

TEST(LinkToken, OnlyTheCanonicalSpellingIsAccepted) {
  const auto key = LinkKey(Key(1)).value();
  // Find a token with a '-' and one with a '_' to respell (the claims vary the bytes).
  LinkClaims c = Sample(key.span());
  std::string token;
  for (c.expires_at = 1'800'000'000;; ++c.expires_at) {
    token = SignLink(key.span(), c);
    if (token.find('-') != std::string::npos && token.find('_') != std::string::npos) break;
  }
  ASSERT_TRUE(ParseLink(token).ok());
  const size_t dash = token.find('-');
  const size_t underscore = token.find('_');
  std::vector<std::string> respelled;
  auto with = [&](size_t at, std::string_view replacement) {
    return token.substr(0, at) + std::string(replacement) + token.substr(at + 1);
  };
  respelled.push_back(with(dash, "+"));  // standard base64 for base64url
  respelled.push_back(with(underscore, "/"));
  respelled.push_back(with(dash, "%2D"));  // percent-encoded, as a path may carry it
  respelled.push_back(with(dash, "%2d"));
  respelled.push_back(with(underscore, "%5F"));
  respelled.push_back(token + "=");  // padding
  respelled.push_back(token + "==");
  respelled.push_back(token.substr(0, 113) + "=");
  respelled.push_back(" " + token.substr(1));
  respelled.push_back(token.substr(0, 113) + "\n");
  // The last character carries 2 bits and 4 spare ones: set spare bits spell the same bytes.
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const size_t last = kAlphabet.find(token.back());
  ASSERT_NE(last, std::string_view::npos);
  for (size_t spare = 1; spare < 16; ++spare) {
    respelled.push_back(token.substr(0, 113) + kAlphabet[(last & ~size_t{15}) | spare]);
  }
  for (const std::string& bad : respelled) {
    EXPECT_FALSE(ParseLink(bad).ok()) << bad;
    EXPECT_FALSE(LinkSignatureValid(key.span(), bad)) << bad;
  }
}

TEST(LinkToken, AnotherTenantKeyDoesNotVerify) {
  const auto mine = LinkKey(Key(1)).value();
  const auto theirs = LinkKey(Key(2)).value();
  const std::string token = SignLink(mine.span(), Sample(mine.span()));
  EXPECT_FALSE(LinkSignatureValid(theirs.span(), token));
}

TEST(LinkToken, BindingsDifferPerCredentialAndAreNeverUnbound) {
  const auto key = LinkKey(Key(1)).value();
  EXPECT_NE(LinkBinding(key.span(), "session:a"), LinkBinding(key.span(), "session:b"));
  EXPECT_NE(LinkBinding(key.span(), "token:1"), LinkBinding(key.span(), "session:a"));
  LinkClaims unbound;
  EXPECT_FALSE(unbound.bound());
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(LinkClaims{.binding = LinkBinding(key.span(), std::to_string(i))}.bound());
  }
}

TEST(LinkToken, TheLinkKeyIsNotTheTenantKey) {
  const auto tenant = Key(9);
  const auto link = LinkKey(tenant).value();
  EXPECT_NE(std::vector<uint8_t>(link.span().begin(), link.span().end()), tenant);
}

}  // namespace
}  // namespace pactum::crypto
