#include "common/status.h"

#include <gtest/gtest.h>

namespace pactum {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgument("odd");
  return v / 2;
}

Status Quarter(int v, int* out) {
  ASSIGN_OR_RETURN(int h, Half(v));
  ASSIGN_OR_RETURN(*out, Half(h));
  return Status::Ok();
}

TEST(Status, InternalHidesDetailFromMessage) {
  Status s = Internal("sqlite3_step: disk I/O error at /secret/path");
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "internal error");
  EXPECT_NE(s.ToString().find("/secret/path"), std::string::npos);
}

TEST(Status, MacrosPropagateTheFirstError) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = Quarter(6, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd");
}

TEST(Status, ResultFromOkStatusIsAnError) {
  Result<int> r{Status::Ok()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(StatusDeathTest, ValueOfAnErrorAbortsNamingTheStatusButNotItsDetail) {
  // Found at once in every build, not undefined behaviour: the code and the message on
  // stderr, the detail (which may name a path or hold what a library said) never.
  const Result<std::string> bad =
      Status(StatusCode::kNotFound, "no such contract", "row 7 of /srv/secret-path");
  // The line ends after the message: the detail is not appended.
  EXPECT_DEATH((void)bad.value(),
               "pactum: fatal: value of an error Result: not_found: no such contract\n");
  EXPECT_DEATH((void)bad->size(), "not_found: no such contract");
  EXPECT_DEATH((void)*bad, "not_found: no such contract");
  Result<std::string> moved = Internal("sqlite3_step: /srv/secret-path");
  EXPECT_DEATH((void)std::move(moved).value(), "internal: internal error\n");
  // A value reads as before.
  Result<std::string> good = std::string("x");
  EXPECT_EQ(good.value(), "x");
  EXPECT_EQ(good->size(), 1U);
  EXPECT_EQ(*good, "x");
}

TEST(Status, EveryCodeHasASlug) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kUnavailable); ++c) {
    EXPECT_STRNE(StatusCodeSlug(static_cast<StatusCode>(c)), "") << c;
  }
}

}  // namespace
}  // namespace pactum
