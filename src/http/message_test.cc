#include "http/message.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "http/error_mapping.h"

namespace pactum::http {
namespace {

using namespace std::string_literals;

TEST(ParseJsonObject, EveryRefusalIsA400InvalidJsonThatEchoesNothing) {
  const std::string million_digits(1'000'000, '9');
  for (const std::string& body :
       {"{\"title\":\"x\"}\0{\"title\":\"y\"}"s, "{\"value_cents\":1e400}"s,
        "{\"value_cents\":" + million_digits + "}", "{\"owner_id\":1,\"owner_id\":2}"s,
        "{\"title\":\"\xff\"}"s, "[1,2]"s, "\"text\""s, ""s, "{\"a\":1} {\"b\":2}"s,
        std::string(10'000, '[')}) {
    auto r = ParseJsonObject(body);
    ASSERT_FALSE(r.ok()) << body.substr(0, 60);
    const Response answer = Response::Error(r.status());
    EXPECT_EQ(answer.status, 400);
    EXPECT_EQ(answer.error_code, "invalid_json");
    EXPECT_EQ(nlohmann::json::parse(answer.body)["error"]["code"], "invalid_json");
    EXPECT_LT(answer.body.size(), 200U) << answer.body;
    EXPECT_EQ(answer.body.find("999999"), std::string::npos);
  }
  auto ok = ParseJsonObject(R"({"title":"Lease","tags":["a"]})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["title"], "Lease");
}

TEST(Request, RawPathIsTheTargetAsSpelled) {
  Request req;
  req.target = "/files/ab%2Dcd?x=1";
  req.path = "/files/ab-cd";
  EXPECT_EQ(req.RawPath(), "/files/ab%2Dcd");
  req.target = "/files/abcd";
  EXPECT_EQ(req.RawPath(), "/files/abcd");
}

}  // namespace
}  // namespace pactum::http
