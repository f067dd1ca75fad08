#include "http/framing.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pactum::http {
namespace {

std::vector<HeaderField> Head(std::vector<std::pair<std::string, std::string>> fields) {
  std::vector<HeaderField> out;
  out.reserve(fields.size());
  for (auto& [name, value] : fields) out.push_back({name, value});
  return out;
}

TEST(Framing, AcceptsPlainRequestsAndGivesTheHostWithoutPort) {
  // The host is a view into the fields: they outlive it.
  const auto named = Head({{"Host", "Contracts.Example.com:8443"}});
  auto f = CheckFraming(named, 11);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->host, "Contracts.Example.com");
  const auto v6 = Head({{"host", "[::1]:8443"}, {"Content-Length", "12"}});
  f = CheckFraming(v6, 11);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->host, "[::1]");
  EXPECT_TRUE(CheckFraming(Head({{"Host", "x"}, {"Transfer-Encoding", "Chunked"}}), 11).ok());
  EXPECT_TRUE(CheckFraming(Head({{"Host", "x"}, {"Content-Length", "0"}}), 11).ok());
  // HTTP/1.0 may leave Host out.
  f = CheckFraming(Head({}), 10);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->host.empty());
}

TEST(Framing, RefusesAmbiguousBodiesAndHosts) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> fields;
    int version;
    StatusCode code;
  };
  const auto bad = StatusCode::kInvalidArgument;
  const auto unimplemented = StatusCode::kNotImplemented;
  const std::vector<Case> cases = {
      {{{"Host", "x"}, {"Transfer-Encoding", "chunked, identity"}}, 11, bad},
      {{{"Host", "x"}, {"Transfer-Encoding", "identity"}}, 11, bad},
      {{{"Host", "x"}, {"Transfer-Encoding", "gzip"}}, 11, bad},
      {{{"Host", "x"}, {"Transfer-Encoding", "chunked, chunked"}}, 11, bad},
      {{{"Host", "x"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}},
       11,
       bad},
      {{{"Host", "x"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "identity"}},
       11,
       bad},
      {{{"Host", "x"}, {"Transfer-Encoding", ""}}, 11, bad},
      {{{"Host", "x"}, {"Transfer-Encoding", ", chunked"}}, 11, bad},
      {{{"Host", "x"}, {"Transfer-Encoding", "chunked;x=1"}}, 11, bad},
      {{{"Host", "x"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}, 11, bad},
      {{{"Host", "x"}, {"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}}, 11, bad},
      {{{"Transfer-Encoding", "chunked"}}, 10, bad},
      {{{"Host", "x"}, {"Transfer-Encoding", "gzip, chunked"}}, 11, unimplemented},
      {{{"Host", "x"}, {"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}},
       11,
       unimplemented},
      {{{"Host", "x"}, {"Content-Length", "5"}, {"Content-Length", "5"}}, 11, bad},
      {{{"Host", "x"}, {"Content-Length", "5, 5"}}, 11, bad},
      {{{"Host", "x"}, {"Content-Length", "+5"}}, 11, bad},
      {{{"Host", "x"}, {"Content-Length", "0x5"}}, 11, bad},
      {{{"Host", "x"}, {"Content-Length", ""}}, 11, bad},
      {{}, 11, bad},
      {{{"Host", "x"}, {"Host", "x"}}, 11, bad},
      {{{"Host", "x"}, {"Host", "y"}}, 10, bad},
      {{{"Host", ""}}, 11, bad},
      {{{"Host", "evil.example/x"}}, 11, bad},
      {{{"Host", "user@x"}}, 11, bad},
      {{{"Host", "a b"}}, 11, bad},
  };
  for (const auto& tc : cases) {
    auto f = CheckFraming(Head(tc.fields), tc.version);
    std::string text;
    for (const auto& [n, v] : tc.fields) text.append(n).append(": ").append(v).append("; ");
    EXPECT_EQ(f.status().code(), tc.code) << text;
  }
}

TEST(Framing, FindsObsFoldOnlyAfterALineBreak) {
  EXPECT_TRUE(HasObsFold("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"));
  EXPECT_TRUE(HasObsFold("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"));
  EXPECT_FALSE(HasObsFold("GET / HTTP/1.1\r\nX: a b\r\nY:\tc\r\n\r\n"));
  EXPECT_FALSE(HasObsFold("GET / HTTP/1.1\r\n"));
  EXPECT_FALSE(HasObsFold(""));
}

}  // namespace
}  // namespace pactum::http
