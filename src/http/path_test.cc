#include "http/path.h"

#include <gtest/gtest.h>

namespace pactum::http {
namespace {

TEST(ParseTarget, SplitsAndDecodes) {
  auto t = ParseTarget("/api/v1/search%20x?q=a%20b&x=1");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/api/v1/search x");
  EXPECT_EQ(t->query, "q=a%20b&x=1");
  EXPECT_EQ(ParseTarget("/")->path, "/");
  EXPECT_EQ(ParseTarget("/caf%C3%A9")->path, "/caf\xC3\xA9");
  EXPECT_EQ(ParseTarget("/a/")->path, "/a/");
}

TEST(ParseTarget, RejectsTraversalInEveryEncoding) {
  for (const char* bad :
       {"/../etc/passwd", "/a/../b", "/a/..", "/%2e%2e/etc", "/%2E%2E/etc", "/a/%2e%2e", "/.%2e/x",
        "/./a", "/a/.", "/a%2fb", "/a%2F..%2Fb", "/a\\..\\b", "/a%5c..%5cb", "//etc", "/a//b"}) {
    EXPECT_FALSE(ParseTarget(bad).ok()) << bad;
  }
}

TEST(ParseTarget, RejectsNonOriginFormAndBadEncoding) {
  for (const char* bad : {"", "*", "http://evil/x", "a/b", "/a%", "/a%4", "/a%zz", "/a%00b",
                          "/a%0d%0aSet-Cookie:x", "/a#frag", "/%ff", "/%C0%AF", "/%ED%A0%80"}) {
    EXPECT_FALSE(ParseTarget(bad).ok()) << bad;
  }
}

TEST(ParseQuery, DecodesAndRefusesAmbiguity) {
  auto q = ParseQuery("status=active&counterparty=Acme+AG%20x&empty=&flag&&tag=%C3%A9");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->at("status"), "active");
  EXPECT_EQ(q->at("counterparty"), "Acme AG x");
  EXPECT_EQ(q->at("empty"), "");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_EQ(q->at("tag"), "\xC3\xA9");
  EXPECT_TRUE(ParseQuery("")->empty());
  for (const char* bad : {"a=1&a=2", "a=%zz", "a=%4", "a=%00", "a=%0A", "a=%C3"}) {
    EXPECT_EQ(ParseQuery(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  std::string many;
  for (int i = 0; i < 51; ++i) many += "k" + std::to_string(i) + "=1&";
  EXPECT_FALSE(ParseQuery(many).ok());
}

}  // namespace
}  // namespace pactum::http
