#include "auth/login_throttle.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace pactum::auth {
namespace {

using std::chrono::seconds;

// Attempts made one after the other at once, each failing, until the first refusal.
int FailuresBeforeTheFirstRefusal(LoginThrottle& t, std::string_view account,
                                  std::string_view address) {
  int failures = 0;
  int64_t retry = 0;
  while (t.Check(account, address, &retry).ok() && failures < 1000) {
    t.Failure(account, address);
    ++failures;
  }
  return failures;
}

TEST(LoginThrottle, CountsExactlyTheFreeFailuresBeforeTheFirstRefusal) {
  // docs/security.md: three per account, twenty per address (cli/serve_command.cc).
  testing_support::FakeClock clock;
  LoginThrottle t(clock, {3, std::chrono::minutes(15)}, {20, std::chrono::minutes(15)});
  EXPECT_EQ(FailuresBeforeTheFirstRefusal(t, "acme/ann", "10.0.0.1"), 3);
  // The address: each account once or more, from one address, until the address is refused.
  int failures = 3;  // ann's, from the same address
  for (int i = 0; failures < 100; ++i) {
    int64_t retry = 0;
    const std::string account = "acme/user" + std::to_string(i);
    if (!t.Check(account, "10.0.0.1", &retry).ok()) break;
    t.Failure(account, "10.0.0.1");
    ++failures;
  }
  EXPECT_EQ(failures, 20);
  EXPECT_EQ(FailuresBeforeTheFirstRefusal(t, "", "10.0.0.2"), 20) << "the address alone";
  for (const int free : {1, 5, 10}) {
    LoginThrottle other(clock, {free, std::chrono::minutes(15)}, {100, std::chrono::minutes(15)});
    EXPECT_EQ(FailuresBeforeTheFirstRefusal(other, "acme/bob", "10.0.0.3"), free);
  }
}

TEST(LoginThrottle, BacksOffExponentiallyAfterTheFreeFailures) {
  testing_support::FakeClock clock;
  LoginThrottle t(clock, {3, std::chrono::minutes(15)}, {100, std::chrono::minutes(15)});
  int64_t retry = -1;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(t.Check("acme/ann", "10.0.0.1", &retry).ok());
    t.Failure("acme/ann", "10.0.0.1");
  }
  EXPECT_TRUE(t.Check("acme/ann", "10.0.0.1", &retry).ok()) << "three are free";
  t.Failure("acme/ann", "10.0.0.1");
  Status s = t.Check("acme/ann", "10.0.0.1", &retry);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.reason(), "rate_limited");
  EXPECT_EQ(retry, 1);
  clock.Advance(seconds(1));
  EXPECT_TRUE(t.Check("acme/ann", "10.0.0.1", &retry).ok());
  int64_t expected = 2;
  for (int i = 0; i < 12; ++i) {  // 2, 4, 8 ... capped at 15 minutes
    t.Failure("acme/ann", "10.0.0.1");
    ASSERT_FALSE(t.Check("acme/ann", "10.0.0.1", &retry).ok());
    EXPECT_EQ(retry, std::min<int64_t>(expected, 900)) << i;
    clock.Advance(seconds(retry));
    expected *= 2;
  }
  // Another account from another address is not affected; a success clears the account.
  EXPECT_TRUE(t.Check("acme/bob", "10.0.0.2", &retry).ok());
  t.Failure("acme/ann", "10.0.0.1");
  t.Success("acme/ann");
  EXPECT_TRUE(t.Check("acme/ann", "10.0.0.9", &retry).ok());
}

TEST(LoginThrottle, AKeyQuietForTwiceTheLongestDelayStartsOver) {
  testing_support::FakeClock clock;
  LoginThrottle t(clock, {3, std::chrono::minutes(15)}, {100, std::chrono::minutes(15)});
  for (int i = 0; i < 8; ++i) t.Failure("acme/ann", "10.0.0.1");
  int64_t retry = 0;
  ASSERT_FALSE(t.Check("acme/ann", "10.0.0.1", &retry).ok());
  clock.Advance(std::chrono::minutes(30));
  EXPECT_TRUE(t.Check("acme/ann", "10.0.0.1", &retry).ok());
  t.Failure("acme/ann", "10.0.0.1");  // counts from one again: three are free
  t.Failure("acme/ann", "10.0.0.1");
  EXPECT_TRUE(t.Check("acme/ann", "10.0.0.1", &retry).ok());
}

TEST(LoginThrottle, AnAddressTryingManyAccountsIsSlowedToo) {
  testing_support::FakeClock clock;
  LoginThrottle t(clock, {3, std::chrono::minutes(15)}, {5, std::chrono::minutes(15)});
  for (int i = 0; i < 5; ++i) t.Failure("acme/user" + std::to_string(i), "10.0.0.1");
  int64_t retry = 0;
  EXPECT_FALSE(t.Check("acme/fresh", "10.0.0.1", &retry).ok());
  EXPECT_EQ(retry, 1);
  EXPECT_TRUE(t.Check("acme/fresh", "10.0.0.2", &retry).ok());
}

TEST(LoginThrottle, StaysBoundedUnderAFloodOfKeys) {
  testing_support::FakeClock clock;
  LoginThrottle t(clock, {0, seconds(60)}, {1000000, seconds(60)}, /*max_entries=*/100);
  for (int i = 0; i < 1000; ++i) {
    clock.Advance(seconds(1));
    t.Failure("acme/u" + std::to_string(i), "10.0.0.1");
  }
  int64_t retry = 0;
  EXPECT_FALSE(t.Check("acme/u999", "10.0.0.2", &retry).ok()) << "the newest is kept";
  EXPECT_TRUE(t.Check("acme/u0", "10.0.0.2", &retry).ok()) << "the oldest was forgotten";
}

}  // namespace
}  // namespace pactum::auth
