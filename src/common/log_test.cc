#include "common/log.h"

#include <gtest/gtest.h>

namespace pactum::log {
namespace {

TEST(Log, EscapesControlCharactersAndNewlines) {
  const std::string line =
      RenderFields("http", "bad\nline", {{"path", std::string("/a\r\n{\"x\":1}\x1b[31m")}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_NE(line.find("\\u001b"), std::string::npos) << line;
  // The rendered fields plus braces are one valid JSON object.
  auto parsed = nlohmann::json::parse("{" + line + "}");
  EXPECT_EQ(parsed["component"], "http");
  EXPECT_EQ(parsed["msg"], "bad\nline");
}

TEST(Log, InvalidUtf8IsReplacedNotThrown) {
  const std::string line = RenderFields("http", "x", {{"ua", std::string("\xff\xfe")}});
  const auto parsed = nlohmann::json::parse("{" + line + "}", nullptr, false);
  EXPECT_FALSE(parsed.is_discarded()) << line;
}

TEST(Log, AMillionCharacterValueMakesABoundedLineThatSaysItWasCut) {
  const std::string huge(1'000'000, '7');
  const std::string line = RenderFields("http", "handler threw", {{"error", huge}});
  EXPECT_LE(line.size(), kMaxLineBytes);
  const auto parsed = nlohmann::json::parse("{" + line + "}", nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << line.substr(0, 200);
  const std::string shown = parsed["error"];
  EXPECT_LE(shown.size(), kMaxValueBytes);
  EXPECT_EQ(shown.substr(0, 100), huge.substr(0, 100)) << "the head is kept";
  EXPECT_NE(shown.find("[cut: 1000000 bytes in all]"), std::string::npos) << shown.substr(0, 80);
}

TEST(Log, ControlCharactersCannotInflateACutValuePastTheBound) {
  // Each byte escapes to six (\u001b): the cut value must still fit.
  const std::string escapes(1'000'000, '\x1b');
  const std::string line = RenderFields("http", std::string(1'000'000, '\n'), {{"ua", escapes}});
  EXPECT_LE(line.size(), kMaxLineBytes);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse("{" + line + "}", nullptr, false).is_object());
}

TEST(Log, ManyLongFieldsAreLeftOutOnceTheLineIsFull) {
  nlohmann::json fields = nlohmann::json::object();
  for (int i = 0; i < 100; ++i) fields["f" + std::to_string(100 + i)] = std::string(5000, 'x');
  fields["nested"] = {{"deep", std::string(1'000'000, 'y')}};
  const std::string line = RenderFields("api", "many", fields);
  EXPECT_LE(line.size(), kMaxLineBytes + 64);
  const auto parsed = nlohmann::json::parse("{" + line + "}", nullptr, false);
  ASSERT_TRUE(parsed.is_object());
  EXPECT_TRUE(parsed.contains("f100")) << "fields fill the line in order";
  EXPECT_NE(parsed.value("cut", "").find("field(s) left out"), std::string::npos);
}

TEST(Log, ACutNeverSplitsACharacter) {
  std::string text;
  for (int i = 0; i < 10'000; ++i) text += "\u00e9";                     // two bytes each
  const std::string line = RenderFields("x", "y", {{"t", "a" + text}});  // odd offsets
  const auto parsed = nlohmann::json::parse("{" + line + "}", nullptr, false);
  ASSERT_TRUE(parsed.is_object());
  EXPECT_EQ(parsed["t"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos)
      << "no replacement character from a split sequence";
}

TEST(Log, FieldsCannotTakeTheLinesOwnNames) {
  const std::string line = RenderFields("auth", "real", {{"msg", "forged"}, {"level", "debug"}});
  const auto parsed = nlohmann::json::parse("{" + line + "}");
  EXPECT_EQ(parsed["msg"], "real");
  EXPECT_EQ(parsed["field.msg"], "forged");
  EXPECT_FALSE(parsed.contains("level"));
}

TEST(Log, ParsesLevels) {
  Level l{};
  EXPECT_TRUE(ParseLevel("warn", &l));
  EXPECT_EQ(l, Level::kWarn);
  EXPECT_FALSE(ParseLevel("loud", &l));
}

}  // namespace
}  // namespace pactum::log
