#include "http/error_mapping.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/message.h"

namespace pactum::http {
namespace {

TEST(ErrorMapping, CodesMapToTheDesignStatuses) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kFailedPrecondition), 412);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPayloadTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnsupportedMediaType), 415);
  EXPECT_EQ(HttpStatusFor(StatusCode::kMisdirectedRequest), 421);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnprocessable), 422);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kDataLoss), 500);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotImplemented), 501);
}

TEST(ErrorMapping, BodyHasCodeAndMessageButNeverDetail) {
  const Status s = Internal("open /var/lib/pactum/secret.key: permission denied");
  const auto body = nlohmann::json::parse(ErrorBody(s));
  EXPECT_EQ(body["error"]["code"], "internal");
  EXPECT_EQ(body["error"]["message"], "internal error");
  EXPECT_EQ(body.dump().find("secret.key"), std::string::npos);
  const Response r = Response::Error(s);
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.log_detail.find("secret.key"), std::string::npos);
}

TEST(ErrorMapping, AnErrorAnswerCarriesTheCodeOfItsBody) {
  for (const Status& s : {PermissionDenied("not yours"),
                          PermissionDenied("outside the allowlist").WithReason("ip_not_allowed"),
                          Status(StatusCode::kNotFound, "no such contract")}) {
    const Response r = Response::Error(s);
    EXPECT_EQ(r.error_code, nlohmann::json::parse(r.body)["error"]["code"]) << s.ToString();
  }
  EXPECT_EQ(Response::Error(PermissionDenied("x")).error_code, "forbidden");
  EXPECT_EQ(Response::Json(200, {{"ok", true}}).error_code, "");
}

TEST(ParseJsonObject, RejectsBadJsonInvalidUtf8AndNonObjects) {
  EXPECT_TRUE(ParseJsonObject(R"({"a":1})").ok());
  for (const char* bad : {"", "{", "[1,2]", "\"str\"", "{\"a\":\"\xff\"}", "{\"a\":1}garbage",
                          "{\"a\":\"\xed\xa0\x80\"}"}) {
    auto r = ParseJsonObject(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace pactum::http
