#include "common/json_parse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pactum {
namespace {

using namespace std::string_literals;

// The message refusing `text`, checked to be of the invalid_json kind.
std::string Refusal(std::string_view text) {
  Result<nlohmann::json> r = Status::Ok();
  EXPECT_NO_THROW(r = ParseStrictJson(text));
  EXPECT_FALSE(r.ok()) << text.substr(0, 80);
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "invalid_json");
  EXPECT_LT(r.status().message().size(), 120U) << "never echoes the input";
  return r.status().message();
}

TEST(StrictJson, ParsesOrdinaryDocuments) {
  auto r = ParseStrictJson(
      R"( {"title":"Lease \u00e9\ud83d\ude00","n":-12,"u":18446744073709551615,"f":1.5e300,)"
      R"("tags":["a",{"b":null}],"ok":true} )"
      "\r\n\t");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["title"], "Lease \u00e9\U0001f600");
  EXPECT_EQ((*r)["n"], -12);
  EXPECT_EQ((*r)["u"].get<uint64_t>(), 18446744073709551615ULL);
  EXPECT_EQ((*r)["tags"][1]["b"], nullptr);
  EXPECT_TRUE(ParseStrictJson("[]").ok());
  EXPECT_TRUE(ParseStrictJson("\"just a string\"").ok());
  EXPECT_EQ(ParseStrictJson("-9223372036854775808")->get<int64_t>(), INT64_MIN);
}

TEST(StrictJson, ANulByteDoesNotEndTheDocument) {
  // nlohmann's own parser reads this as {"title":"x"} and ignores the rest.
  const std::string s = Refusal("{\"title\":\"x\"}\0{\"title\":\"y\",\"owner_id\":1}"s);
  EXPECT_EQ(s, "invalid JSON: a NUL byte at byte 14");
  Refusal("{\"a\":\"b\0c\"}"s);
  Refusal("\0"s);
}

TEST(StrictJson, OnlyWhiteSpaceMayFollowTheValue) {
  Refusal("{}{}");
  Refusal("{} x");
  Refusal("{\"a\":1},");
  Refusal("{}\f");  // form feed is not JSON white space
  Refusal("");
  Refusal("   ");
  EXPECT_EQ(Refusal("{} x"), "invalid JSON at byte 4");
}

TEST(StrictJson, NumbersThatDoNotFitAreRefusedWithoutEchoingThem) {
  for (const std::string& n : std::vector<std::string>{
           "1e400", "-1e400", "1E999999", std::string(400, '9'), "18446744073709551616",
           "-9223372036854775809", std::string(400, '9') + ".5"}) {
    const std::string s = Refusal("{\"value_cents\":" + n + "}");
    EXPECT_NE(s.find("out of range"), std::string::npos) << n << ": " << s;
    EXPECT_EQ(s.find("99999"), std::string::npos) << s;
  }
  // A million digits: refused, and the message is as short as ever.
  const std::string s = Refusal("{\"x\":" + std::string(1'000'000, '7') + "}");
  EXPECT_EQ(s.find("777"), std::string::npos);
  // Underflow is a number that fits: it rounds to zero.
  EXPECT_TRUE(ParseStrictJson("{\"x\":1e-400}").ok());
}

TEST(StrictJson, DuplicateKeysAreRefusedAtAnyDepth) {
  EXPECT_EQ(Refusal(R"({"owner_id":1,"owner_id":2})"),
            "invalid JSON: the key \"owner_id\" appears twice in one object");
  Refusal(R"({"custom":{"a":1,"b":2,"a":3}})");
  Refusal(R"([{"k":1},{"k":1,"k":1}])");
  Refusal(R"({"a":{"x":1},"a":{"y":2}})");
  // The excerpt is escaped and short.
  const std::string s = Refusal("{\"\\u0000\\u001b" + std::string(200, 'k') +
                                "\":1,\"\\u0000\\u001b" + std::string(200, 'k') + "\":2}");
  EXPECT_NE(s.find("\\u0000\\u001b"), std::string::npos) << s;
  EXPECT_EQ(s.find('\0'), std::string::npos);
  // The same key in sibling objects is fine.
  EXPECT_TRUE(ParseStrictJson(R"([{"k":1},{"k":2}])").ok());
}

TEST(StrictJson, InvalidUtf8IsRefusedInsideAndOutsideStrings) {
  EXPECT_EQ(Refusal("{\"a\":\"\xff\"}"), "invalid JSON: the text is not valid UTF-8");
  Refusal("{\"a\":\"\xed\xa0\x80\"}");  // an encoded surrogate
  Refusal("{\"a\":\"\xc0\xaf\"}");      // overlong
  Refusal("{\"a\":1}\xff");
  Refusal(R"({"a":"\ud800"})");        // a lone surrogate escape
  Refusal(R"({"a":"\udc00\ud800"})");  // reversed pair
}

TEST(StrictJson, NestingIsLimited) {
  std::string ok;
  for (int i = 0; i < 32; ++i) ok += "[";
  for (int i = 0; i < 32; ++i) ok += "]";
  EXPECT_TRUE(ParseStrictJson(ok).ok());
  EXPECT_EQ(Refusal("[" + ok + "]"), "invalid JSON: nested deeper than 32 levels");
  // Far deeper than any stack could take recursively.
  Refusal(std::string(1'000'000, '[') + std::string(1'000'000, ']'));
  Refusal(std::string(100'000, '{'));
  EXPECT_TRUE(ParseStrictJson("[[1]]", {.max_depth = 2}).ok());
  EXPECT_FALSE(ParseStrictJson("[[[1]]]", {.max_depth = 2}).ok());
}

TEST(StrictJson, MalformedInputGivesTheOffset) {
  EXPECT_EQ(Refusal(R"({"a":tru})"), "invalid JSON at byte 9");
  Refusal("{\"a\":\"line\nbreak\"}");  // raw control character in a string
  Refusal("{'a':1}");
  Refusal("{\"a\":01}");
  Refusal("{\"a\":1,}");
  Refusal("/* comment */ {}");
}

}  // namespace
}  // namespace pactum
