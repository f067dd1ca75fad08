#include "common/json_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pactum {
namespace {

TEST(JsonWriter, WritesNestedDocumentsThatParseBack) {
  JsonWriter w;
  w.BeginObject()
      .Field("id", "c-1")
      .Field("n", int64_t{-42})
      .Field("ok", true)
      .Key("none")
      .Null()
      .Key("tags")
      .BeginArray()
      .String("a")
      .String("b")
      .BeginObject()
      .EndObject()
      .EndArray()
      .Key("empty")
      .BeginArray()
      .EndArray()
      .EndObject();
  const std::string text = w.Take();
  EXPECT_EQ(text, R"({"id":"c-1","n":-42,"ok":true,"none":null,"tags":["a","b",{}],"empty":[]})");
  EXPECT_EQ(nlohmann::json::parse(text)["tags"][1], "b");
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  JsonWriter w;
  const std::string nasty = std::string("a\"b\\c\nd\x01\x1f") + '\0' + "e";
  w.BeginObject().Field("k\"", nasty).EndObject();
  const std::string text = w.Take();
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(text)["k\""], nasty);
}

TEST(JsonWriter, ReplacesInvalidUtf8AndKeepsValid) {
  JsonWriter w;
  w.BeginArray().String("caf\xC3\xA9 \xF0\x9F\x98\x80").String("bad\xff\xC0\x80x").EndArray();
  const auto parsed = nlohmann::json::parse(w.Take());
  EXPECT_EQ(parsed[0], "caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(parsed[1], "bad\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx");
}

TEST(JsonWriter, IntegersAtTheLimits) {
  JsonWriter w;
  w.BeginArray().Int(INT64_MIN).Int(INT64_MAX).Int(0).EndArray();
  EXPECT_EQ(w.Take(), "[-9223372036854775808,9223372036854775807,0]");
}

TEST(Utf8, AcceptsValidAndRejectsMalformed) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // stray continuation
}

}  // namespace
}  // namespace pactum
