#include "auth/email.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pactum::auth {
namespace {

TEST(Email, WellFormedAddressesInAnyOneScriptPass) {
  for (const char* ok : {"admin@localhost", "ADMIN@LOCALHOST", "ann@example.com",
                         "Ann.Lee+contracts@mail.example.co.uk", "a@b.cd", "o'brien@example.ie",
                         "x_y-z@sub-domain.example", "1234@example.com",
                         "иван@пример.рф",        // wholly Cyrillic
                         "ivan@example.рф",       // Latin local part, Cyrillic top-level label
                         "παύλος@παράδειγμα.ελ",  // Greek, with combining-free accents
                         "山田たろう@例え.jp",    // Han and Hiragana: Japanese writing
                         "josé.müller@bücher.example"}) {
    EXPECT_TRUE(CheckEmail(ok).ok()) << ok << ": " << CheckEmail(ok).message();
  }
}

TEST(Email, MixedScriptPartsAreRefusedSayingWhy) {
  const Status cyrillic_a = CheckEmail("\u0430dmin@localhost");  // Cyrillic а + "dmin"
  EXPECT_EQ(cyrillic_a.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cyrillic_a.message(),
            "not a valid email address: it mixes Cyrillic and Latin letters before the @ (that is "
            "how look-alike addresses are made); write each part in one script");
  const Status domain = CheckEmail("billing@p\xd0\xb0ypal.com");  // Cyrillic а in the domain
  EXPECT_NE(domain.message().find("mixes Latin and Cyrillic letters in the domain"),
            std::string::npos)
      << domain.message();
  EXPECT_FALSE(IsValidEmail("ann@ex\xce\xb1mple.com")) << "Greek alpha in a Latin label";
  EXPECT_FALSE(IsValidEmail("\u0438\u0432an@example.com")) << "Cyrillic and Latin";
  // Each label stands alone: one label Cyrillic and another Latin is fine.
  EXPECT_TRUE(IsValidEmail("ivan@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.com"));
}

TEST(Email, MalformedAddressesAreRefused) {
  for (const std::string& bad : std::vector<std::string>{"a@b",
                                                         "admin@localhost.",
                                                         "a@",
                                                         "@b.cd",
                                                         "ann",
                                                         "a@b@c.de",
                                                         "a b@c.de",
                                                         "a@b .de",
                                                         "ann@.example.com",
                                                         "ann@example..com",
                                                         "ann@example.com.",
                                                         ".ann@example.com",
                                                         "ann.@example.com",
                                                         "an..n@example.com",
                                                         "ann@-example.com",
                                                         "ann@example-.com",
                                                         "ann@192.168.0.1",
                                                         "ann@exa_mple.com",
                                                         "\"quoted\"@example.com",
                                                         "a(b)@example.com",
                                                         "ann@example.com\xe2\x80\x8b",
                                                         "ann\xe2\x80\xae@example.com",
                                                         std::string("a\0b@c.de", 8),
                                                         "ann\t@example.com",
                                                         "ann@\u00a0example.com",
                                                         "bad\xff@example.com",
                                                         std::string(65, 'a') + "@example.com",
                                                         "ann@" + std::string(64, 'd') + ".com",
                                                         "ann@" + std::string(250, 'd') + ".com",
                                                         "a@",
                                                         ""}) {
    EXPECT_EQ(CheckEmail(bad).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(CheckEmail(bad).message().rfind("not a valid email address: ", 0), 0U)
        << CheckEmail(bad).message();
  }
  EXPECT_EQ(CheckEmail("a@b").message(),
            "not a valid email address: the domain needs a dot, as in example.com");
  EXPECT_EQ(CheckEmail("ann@example.com\xe2\x80\x8b").message(),
            "not a valid email address: it contains an invisible character (U+200B)");
  EXPECT_EQ(CheckEmail("a b@c.de").message(), "not a valid email address: it contains a space");
}

TEST(Email, KeysIgnoreAsciiCase) {
  EXPECT_EQ(EmailKey("Ann.Lee@Example.COM"), "ann.lee@example.com");
  EXPECT_EQ(EmailKey("ИВАН@пример.рф"), "ИВАН@пример.рф") << "only ASCII is folded";
}

}  // namespace
}  // namespace pactum::auth
