#include "http/router.h"

#include <gtest/gtest.h>

namespace pactum::http {
namespace {

Handler Named(std::string name) {
  return [name](Request&) { return Response::Text(200, name, "text/plain"); };
}

TEST(Router, MatchesLiteralAndParameterSegments) {
  Router r;
  r.Add(Method::kGet, "/api/v1/contracts/{id}", Named("get"));
  r.Add(Method::kGet, "/api/v1/contracts/{id}/documents", Named("docs"));
  Request req;
  auto m = r.Find(Method::kGet, "/api/v1/contracts/42/documents", req);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/contracts/{id}/documents");
  EXPECT_EQ(req.Param("id"), "42");
}

TEST(Router, LiteralBeatsParameter) {
  Router r;
  r.Add(Method::kGet, "/api/v1/users/{id}", Named("user"));
  r.Add(Method::kGet, "/api/v1/users/me", Named("me"));
  Request req;
  EXPECT_EQ(r.Dispatch(*r.Find(Method::kGet, "/api/v1/users/me", req).route, req).body, "me");
  EXPECT_EQ(r.Dispatch(*r.Find(Method::kGet, "/api/v1/users/7", req).route, req).body, "user");
}

TEST(Router, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  Router r;
  r.Add(Method::kGet, "/a/{x}", Named("get"));
  r.Add(Method::kDelete, "/a/{x}", Named("del"));
  Request req;
  auto missing = r.Find(Method::kGet, "/b", req);
  EXPECT_EQ(missing.route, nullptr);
  EXPECT_EQ(missing.status.code(), StatusCode::kNotFound);
  auto wrong = r.Find(Method::kPost, "/a/1", req);
  EXPECT_EQ(wrong.route, nullptr);
  EXPECT_EQ(wrong.status.code(), StatusCode::kMethodNotAllowed);
  EXPECT_EQ(wrong.allow, "GET, DELETE");
  auto unknown = r.Find(Method::kOther, "/a/1", req);
  EXPECT_EQ(unknown.status.code(), StatusCode::kMethodNotAllowed);
}

TEST(Router, HeadFallsBackToGet) {
  Router r;
  r.Add(Method::kGet, "/healthz", Named("get"));
  Request req;
  auto m = r.Find(Method::kHead, "/healthz", req);
  ASSERT_NE(m.route, nullptr);
}

TEST(Router, EmptyParameterDoesNotMatch) {
  Router r;
  r.Add(Method::kGet, "/a/{x}", Named("get"));
  Request req;
  EXPECT_EQ(r.Find(Method::kGet, "/a/", req).route, nullptr);
}

TEST(Router, MiddlewareWrapsInRegistrationOrderAndCanShortCircuit) {
  Router r;
  std::string trace;
  r.Use([&](Request& req, const Route&, const Next& next) {
    trace += "a";
    if (req.Header("X-Block") == "1") return Response::Error(PermissionDenied("blocked"));
    Response res = next(req);
    trace += "A";
    return res;
  });
  r.Use([&](Request& req, const Route& route, const Next& next) {
    trace += "b:" + route.pattern;
    return next(req);
  });
  r.Add(Method::kGet, "/x", [&](Request&) {
    trace += "h";
    return Response::Text(200, "ok", "text/plain");
  });
  Request req;
  const Route* route = r.Find(Method::kGet, "/x", req).route;
  EXPECT_EQ(r.Dispatch(*route, req).status, 200);
  EXPECT_EQ(trace, "ab:/xhA");
  trace.clear();
  req.headers.push_back({"x-block", "1"});
  EXPECT_EQ(r.Dispatch(*route, req).status, 403);
  EXPECT_EQ(trace, "a");
}

TEST(RouterDeathTest, StreamedBodyOnInlineRouteIsAProgrammingError) {
  Router r;
  EXPECT_DEATH(r.Add(Method::kPost, "/up", Named("x"),
                     {.execution = Execution::kInline, .body = BodyMode::kStreamed}),
               "");
}

TEST(RouterDeathTest, StreamedBodyOnCpuBoundRouteIsAProgrammingError) {
  Router r;
  EXPECT_DEATH(r.Add(Method::kPost, "/up", Named("x"),
                     {.execution = Execution::kCpuBound, .body = BodyMode::kStreamed}),
               "");
}

}  // namespace
}  // namespace pactum::http
