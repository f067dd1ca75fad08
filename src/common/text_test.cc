#include "common/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pactum {
namespace {

using namespace std::string_literals;

std::string Message(std::string_view text, TextKind kind = TextKind::kName) {
  return CheckText(text, "name", 1, 20, kind).message();
}

TEST(Text, PlainNamesInAnyScriptPass) {
  for (const std::string& name : std::vector<std::string>{
           "Acme B.V.", "Ünïcödé", "Договор аренды", "合同", "عقد الإيجار", "O'Brien & Co (2026)",
           "a", std::string(20, 'x'), "Café de l’Europe"}) {
    EXPECT_TRUE(CheckText(name, "name", 1, 20).ok()) << name;
  }
}

TEST(Text, EveryControlCharacterIsRefusedNamingTheCodePoint) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string s = "a" + std::string(1, static_cast<char>(c)) + "b";
    EXPECT_EQ(Message(s).find("\"name\" contains a control character"), 0U) << c;
  }
  EXPECT_EQ(Message("\0x"s), "\"name\" contains a control character (U+0000)");
  EXPECT_EQ(Message("a\tb"), "\"name\" contains a control character (U+0009)");
  EXPECT_EQ(Message("a\x7f"), "\"name\" contains a control character (U+007F)");
  EXPECT_EQ(Message("a\u0085b"), "\"name\" contains a control character (U+0085)");
  EXPECT_EQ(Message("a\u2028b"), "\"name\" contains a control character (U+2028)");
}

TEST(Text, ProseAllowsNewlinesAndTabsButNothingElseOfTheRule) {
  EXPECT_TRUE(CheckText("line one\n\tline two\n", "note", 1, 100, TextKind::kProse).ok());
  EXPECT_FALSE(CheckText("a\rb", "note", 1, 100, TextKind::kProse).ok());
  EXPECT_FALSE(CheckText("a\0b"s, "note", 1, 100, TextKind::kProse).ok());
  EXPECT_FALSE(CheckText("a\u202eb", "note", 1, 100, TextKind::kProse).ok());
  EXPECT_TRUE(CheckText(" spaced ", "note", 1, 100, TextKind::kProse).ok());
}

TEST(Text, BidiControlsAreRefused) {
  for (const char* s : {"invoice\u202eFDP.exe", "a\u202ab", "a\u2066b", "a\u2069", "a\u200eb",
                        "a\u200fb", "a\u061cb"}) {
    EXPECT_NE(Message(s).find("bidirectional control character"), std::string::npos) << s;
  }
  EXPECT_EQ(Message("x\u202ey"), "\"name\" contains a bidirectional control character (U+202E)");
}

TEST(Text, InvisibleCharactersAreRefused) {
  for (const char* s : {"ad\u200bmin", "a\u2060b", "\ufeffa", "a\u00adb", "a\u034fb", "a\u3164b",
                        "a\U000e0041b", "a\u180eb", "a\u2064b"}) {
    EXPECT_NE(Message(s).find("invisible character"), std::string::npos) << s;
  }
  EXPECT_EQ(Message("ad\u200bmin"), "\"name\" contains an invisible character (U+200B)");
}

TEST(Text, JoinersPassOnlyWhereAScriptNeedsThem) {
  EXPECT_TRUE(CheckText("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "name", 1, 20).ok())
      << "Persian: zero-width non-joiner between letters";
  EXPECT_TRUE(CheckText("\U0001f468\u200d\U0001f469", "name", 1, 20).ok()) << "emoji sequence";
  EXPECT_FALSE(CheckText("ad\u200dmin", "name", 1, 20).ok()) << "hidden in Latin";
  EXPECT_FALSE(CheckText("\u200c\u0645", "name", 1, 20).ok()) << "leading";
  EXPECT_FALSE(CheckText("\u0645\u200c", "name", 1, 20).ok()) << "trailing";
}

TEST(Text, NoncharactersAndInvalidUtf8AreRefused) {
  EXPECT_EQ(Message("a\ufffeb"), "\"name\" contains a Unicode noncharacter (U+FFFE)");
  EXPECT_NE(Message("a\ufdd0b").find("noncharacter"), std::string::npos);
  EXPECT_NE(Message("a\U0010ffff").find("noncharacter"), std::string::npos);
  for (const std::string& bad :
       {"\xff"s, "\xc0\xaf"s, "\xed\xa0\x80"s, "abc\xe2\x80"s, "\xf4\x90\x80\x80"s}) {
    EXPECT_EQ(Message(bad), "\"name\" must be UTF-8 text") << bad.size();
  }
}

TEST(Text, NamesMustNotStartOrEndWithSpace) {
  for (const char* s : {" acme", "acme ", "acme\u00a0", "\u3000acme", "acme\u2003", " "}) {
    EXPECT_EQ(Message(s), "\"name\" must not start or end with a space") << s;
  }
  EXPECT_TRUE(CheckText("two words", "name", 1, 20).ok());
}

TEST(Text, LengthIsCountedInCharacters) {
  EXPECT_TRUE(CheckText(std::string(20, 'x'), "name", 1, 20).ok());
  EXPECT_EQ(Message(std::string(21, 'x')), "\"name\" must be 1-20 characters");
  std::string cyrillic;
  for (int i = 0; i < 20; ++i) cyrillic += "ж";  // 40 bytes, 20 characters
  EXPECT_TRUE(CheckText(cyrillic, "name", 1, 20).ok());
  EXPECT_EQ(Message(""), "\"name\" must not be empty");
  EXPECT_TRUE(CheckText("", "name", 0, 20).ok());
  EXPECT_EQ(CheckText(std::string(21, 'x'), "name", 0, 20).message(),
            "\"name\" must be at most 20 characters");
  // A huge value is refused without echoing any of it.
  const Status huge = CheckText(std::string(1'000'000, 'x'), "name", 1, 100);
  EXPECT_EQ(huge.message(), "\"name\" must be 1-100 characters");
}

TEST(Text, DecodesCodePoints) {
  EXPECT_EQ(DecodeUtf8("A").value, U'A');
  EXPECT_EQ(DecodeUtf8("ж").value, U'ж');
  EXPECT_EQ(DecodeUtf8("ж").bytes, 2U);
  EXPECT_EQ(DecodeUtf8("\U0001f600").bytes, 4U);
  EXPECT_EQ(DecodeUtf8("\xff").value, U'\ufffd');
  EXPECT_EQ(Utf8Length("aжb\U0001f600"), 4U);
}

}  // namespace
}  // namespace pactum
