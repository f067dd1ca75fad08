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

TEST(Log, ParsesLevels) {
  Level l{};
  EXPECT_TRUE(ParseLevel("warn", &l));
  EXPECT_EQ(l, Level::kWarn);
  EXPECT_FALSE(ParseLevel("loud", &l));
}

}  // namespace
}  // namespace pactum::log
