#include "backup/retention.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pactum::backup {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_days;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

constexpr BackupTime At(std::chrono::year_month_day day, hours h = 0h, minutes m = 0min,
                        seconds s = 0s) {
  return BackupTime{sys_days{day} + h + m + s};
}

// --- An independent reference, written with the C library instead of <chrono> ----------

int64_t Ms(BackupTime t) { return t.time_since_epoch().count(); }

std::string Strftime(int64_t ms, const char* format) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return {buf, n};
}

std::string Show(BackupTime t) { return Strftime(Ms(t), "%Y-%m-%dT%H:%M:%SZ"); }

// `ms` minus `months` calendar months, the day of month clamped, via struct tm and timegm.
int64_t RefMonthsBefore(int64_t ms, int months) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm now{};
  gmtime_r(&secs, &now);
  const int total = (now.tm_year * 12) + now.tm_mon - months;
  std::tm last{};  // day 0 of the following month: the target month's last day
  last.tm_year = total / 12;
  last.tm_mon = (total % 12) + 1;
  last.tm_mday = 0;
  timegm(&last);
  std::tm cut = now;
  cut.tm_year = total / 12;
  cut.tm_mon = total % 12;
  cut.tm_mday = std::min(now.tm_mday, last.tm_mday);
  return (static_cast<int64_t>(timegm(&cut)) * 1000) + (ms % 1000);
}

// The expected decisions, by walking the backups newest first and keeping the first one
// seen of each bucket ("%Y-%m-%d", "%G-W%V", "%Y-%m", "%Y"), as restic's forget does.
std::vector<std::vector<std::string>> Reference(const std::vector<RetentionInput>& in,
                                                BackupTime now) {
  constexpr int64_t kDay = 86'400'000;
  const int64_t n = Ms(now);
  struct Kind {
    const char* name;
    const char* format;
    int64_t cutoff;
  };
  const std::vector<Kind> kinds = {{"daily", "%Y-%m-%d", n - (14 * kDay)},
                                   {"weekly", "%G-W%V", n - (56 * kDay)},
                                   {"monthly", "%Y-%m", RefMonthsBefore(n, 6)},
                                   {"yearly", "%Y", RefMonthsBefore(n, 12)}};
  std::vector<size_t> order(in.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Newest first; of equal times the later input first.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return Ms(in[a].time) != Ms(in[b].time) ? Ms(in[a].time) > Ms(in[b].time) : a > b;
  });
  std::vector<std::vector<std::string>> out(in.size());
  for (const Kind& k : kinds) {
    std::map<std::string, bool> seen;
    for (size_t i : order) {
      if (!in[i].verified) continue;
      if (seen.emplace(Strftime(Ms(in[i].time), k.format), true).second &&
          Ms(in[i].time) > k.cutoff) {
        out[i].emplace_back(k.name);
      }
    }
  }
  // The newest at or before now - 7 days; else the oldest (of equal times the later input).
  const int64_t edge = n - (7 * kDay);
  size_t base = in.size();
  for (size_t i : order) {
    if (in[i].verified && Ms(in[i].time) <= edge) {
      base = i;
      break;
    }
  }
  if (base == in.size()) {
    for (size_t i : order) {
      if (in[i].verified && (base == in.size() || Ms(in[i].time) <= Ms(in[base].time))) base = i;
    }
  }
  if (base != in.size()) out[base].emplace_back("pitr");
  return out;
}

std::vector<std::string> Names(const RetentionDecision& d) {
  std::vector<std::string> names;
  for (KeepReason r : d.reasons) names.emplace_back(KeepReasonName(r));
  return names;
}

std::vector<RetentionDecision> Plan(const std::vector<RetentionInput>& in, BackupTime now,
                                    const RetentionPolicy& policy = {}) {
  auto plan = PlanRetention(in, now, policy);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? std::move(plan).value() : std::vector<RetentionDecision>(in.size());
}

// --- Two years of backups against the reference, with the counts worked out by hand ----

enum class Every { kHour, kDay };

// Backups every hour on the hour, or every day at 02:00, from 730 days before `now` up to
// and including `now`.
std::vector<RetentionInput> TwoYears(Every every, BackupTime now) {
  std::vector<RetentionInput> out;
  const BackupTime first = every == Every::kHour
                               ? BackupTime{std::chrono::floor<hours>(now) - days{730}}
                               : BackupTime{std::chrono::floor<days>(now) - days{730} + 2h};
  const milliseconds step = every == Every::kHour ? milliseconds{1h} : milliseconds{days{1}};
  for (BackupTime t = first; t <= now; t += step) out.push_back({.time = t});
  return out;
}

struct Scenario {
  const char* why;
  Every every;
  BackupTime now;
  int daily, weekly, monthly, yearly;  // keepers of each kind
  BackupTime pitr;                     // the base of the point-in-time window
  int kept;                            // backups kept, each counted once
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.why; }

class TwoYearsOfBackups : public ::testing::TestWithParam<Scenario> {};

TEST_P(TwoYearsOfBackups, KeepExactlyThePolicysSet) {
  const Scenario& s = GetParam();
  std::vector<RetentionInput> in = TwoYears(s.every, s.now);
  // Unsorted input decides the same: check on a reversed copy too.
  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "oldest first" : "newest first");
    const auto plan = Plan(in, s.now);
    const auto expected = Reference(in, s.now);
    ASSERT_EQ(plan.size(), in.size());
    std::map<std::string, int> per_kind;
    int kept = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const std::vector<std::string> names = Names(plan[i]);
      EXPECT_EQ(names, expected[i]) << Show(in[i].time);
      EXPECT_EQ(plan[i].keep, !expected[i].empty()) << Show(in[i].time);
      for (const std::string& n : names) ++per_kind[n];
      if (plan[i].keep) ++kept;
      if (!names.empty() && names.back() == "pitr") {
        EXPECT_EQ(Show(in[i].time), Show(s.pitr));
      }
    }
    EXPECT_EQ(per_kind["daily"], s.daily);
    EXPECT_EQ(per_kind["weekly"], s.weekly);
    EXPECT_EQ(per_kind["monthly"], s.monthly);
    EXPECT_EQ(per_kind["yearly"], s.yearly);
    EXPECT_EQ(per_kind["pitr"], 1);
    EXPECT_EQ(kept, s.kept);
    std::reverse(in.begin(), in.end());
  }
}

// Each window is measured back from `now` and holds the bucket `now` is in, so a window
// that does not start exactly on a bucket's newest backup touches one bucket more than
// its length: 15 days, 9 ISO weeks, 7 months, 2 years. "kept" is the daily keepers plus
// the others that are not also daily keepers (listed in each comment).
constexpr auto kY2026 = std::chrono::year{2026};
constexpr auto kY2027 = std::chrono::year{2027};
constexpr auto kY2028 = std::chrono::year{2028};
INSTANTIATE_TEST_SUITE_P(
    Retention, TwoYearsOfBackups,
    ::testing::Values(
        // Friday 2027-01-01, in ISO week 2026-W53 (Mon 12-28 .. Sun 2027-01-03), a backup at
        // now. daily: 12-19 .. 01-01 (12-18 02:00 is the edge itself). weekly: 01-01 and the
        // Sundays 12-27 .. 11-08 (cutoff Fri 11-06). monthly: 01-01 and the last days of
        // Dec .. Jul (cutoff 07-01 02:00). yearly: 2027-01-01, 2026-12-31. pitr: 12-25 02:00
        // (exactly now - 7 days, inclusive). kept: 14 + 6 Sundays 12-13 .. 11-08 + 5 month
        // ends 11-30 .. 07-31 = 25.
        Scenario{"year end in week 53, daily", Every::kDay, At(kY2027 / 1 / 1, 2h), 14, 9, 7, 2,
                 At(kY2026 / 12 / 25, 2h), 25},
        // Hourly: each day's keeper is 23:00 and 12-18 23:00 is inside: 15 daily; the pitr
        // base 12-25 02:00 is not a daily keeper: 15 + 6 + 5 + 1 = 27.
        Scenario{"year end in week 53, hourly", Every::kHour, At(kY2027 / 1 / 1, 2h), 15, 9, 7, 2,
                 At(kY2026 / 12 / 25, 2h), 27},
        // Sunday 2027-01-10 12:00 (2027-W01). Week 2026-W53 ends Sunday 2027-01-03, whose
        // backup keeps it; 2026-12-31 is no weekly keeper (a %Y-%V bucket would make it one).
        // daily: 12-28 .. 01-10. weekly: 01-10, 01-03, Sundays 12-27 .. 11-22 (cutoff 11-15
        // 12:00, after that day's 02:00). monthly: 01-10, month ends 12-31 .. 07-31. yearly:
        // 01-10, 12-31. kept: 14 + 6 (12-27 .. 11-22) + 5 (11-30 .. 07-31) = 25.
        Scenario{"after week 53, daily", Every::kDay, At(kY2027 / 1 / 10, 12h), 14, 8, 7, 2,
                 At(kY2027 / 1 / 3, 2h), 25},
        // Hourly: 12-27 23:00 is a daily keeper and 11-15 23:00 a weekly one: 15 daily, 9
        // weekly; kept 15 + 6 (12-20 .. 11-15) + 5 + pitr 01-03 12:00 = 27.
        Scenario{"after week 53, hourly", Every::kHour, At(kY2027 / 1 / 10, 12h), 15, 9, 7, 2,
                 At(kY2027 / 1 / 3, 12h), 27},
        // Tuesday 2028-02-29 12:00, a leap day. daily: 02-16 .. 02-29. weekly: 02-29 and the
        // Sundays 02-27 .. 01-09 (cutoff Tue 01-04). monthly: cutoff 2027-08-29 12:00, so
        // 02-29 and the month ends 01-31 .. 2027-08-31. yearly: cutoff 2027-02-28 12:00
        // (clamped): 02-29 and 2027-12-31. kept: 14 + 6 (02-13 .. 01-09) + 6 (01-31 ..
        // 08-31) = 26.
        Scenario{"leap day, daily", Every::kDay, At(kY2028 / 2 / 29, 12h), 14, 9, 7, 2,
                 At(kY2028 / 2 / 22, 2h), 26},
        Scenario{"leap day, hourly", Every::kHour, At(kY2028 / 2 / 29, 12h), 15, 9, 7, 2,
                 At(kY2028 / 2 / 22, 12h), 28},
        // Sunday 2028-12-31 at the time of the day's backup: every window starts exactly on
        // the newest backup of a bucket, which the strict edge leaves out (12-17, Sunday
        // 11-05, 06-30 — Dec 31 minus 6 months clamped to June 30 — and 2027-12-31). Exactly
        // 14 daily, 8 weekly, 6 monthly, 1 yearly; kept 14 + 6 (12-17 .. 11-12) + 5 (11-30
        // .. 07-31) = 25, the pitr base 12-24 being a daily keeper.
        Scenario{"aligned edges, daily", Every::kDay, At(kY2028 / 12 / 31, 2h), 14, 8, 6, 1,
                 At(kY2028 / 12 / 24, 2h), 25},
        Scenario{"aligned edges, hourly", Every::kHour, At(kY2028 / 12 / 31, 23h), 14, 8, 6, 1,
                 At(kY2028 / 12 / 24, 23h), 25}));

// --- ISO weeks -----------------------------------------------------------------------

TEST(IsoWeek, MatchesStrftimeForEveryDayFrom1970To2100) {
  for (sys_days d = sys_days{std::chrono::year{1970} / 1 / 1};
       d < sys_days{std::chrono::year{2101} / 1 / 1}; d += days{1}) {
    const int64_t ms = Ms(BackupTime{d});
    const IsoWeek w = IsoWeekOf(d);
    ASSERT_EQ(std::to_string(w.year), Strftime(ms, "%G")) << Strftime(ms, "%F");
    ASSERT_EQ(w.week, static_cast<unsigned>(std::stoi(Strftime(ms, "%V")))) << Strftime(ms, "%F");
  }
}

TEST(IsoWeek, YearEndsBelongToTheWeekOfTheirThursday) {
  EXPECT_EQ(IsoWeekOf(sys_days{kY2026 / 12 / 28}), (IsoWeek{2026, 53}));
  EXPECT_EQ(IsoWeekOf(sys_days{kY2026 / 12 / 31}), (IsoWeek{2026, 53}));
  EXPECT_EQ(IsoWeekOf(sys_days{kY2027 / 1 / 1}), (IsoWeek{2026, 53}));
  EXPECT_EQ(IsoWeekOf(sys_days{kY2027 / 1 / 3}), (IsoWeek{2026, 53}));
  EXPECT_EQ(IsoWeekOf(sys_days{kY2027 / 1 / 4}), (IsoWeek{2027, 1}));
  EXPECT_EQ(IsoWeekOf(sys_days{std::chrono::year{2024} / 12 / 30}), (IsoWeek{2025, 1}));
  EXPECT_EQ(IsoWeekOf(sys_days{std::chrono::year{2021} / 1 / 3}), (IsoWeek{2020, 53}));
}

// --- Small inputs --------------------------------------------------------------------

constexpr BackupTime kNow = At(kY2027 / 1 / 1, 2h);  // a Friday, in ISO week 2026-W53

TEST(Retention, EmptyInputKeepsNothing) {
  auto plan = PlanRetention({}, kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
}

TEST(Retention, ASingleBackupAtNowIsEveryKindOfKeeper) {
  const auto plan = Plan({{.time = kNow}}, kNow);
  ASSERT_EQ(plan.size(), 1U);
  EXPECT_TRUE(plan[0].keep);
  EXPECT_EQ(Names(plan[0]),
            (std::vector<std::string>{"daily", "weekly", "monthly", "yearly", "pitr"}));
}

TEST(Retention, AYoungInstallKeepsItsOldestBackupAsThePitrBase) {
  // Nothing is 7 days old yet: the oldest backup is the base of the window.
  const std::vector<RetentionInput> in = {
      {.time = kNow - 1h}, {.time = kNow - 2h}, {.time = kNow - 90min}};
  const auto plan = Plan(in, kNow);
  EXPECT_EQ(Names(plan[0]), (std::vector<std::string>{"daily", "weekly", "monthly", "yearly"}));
  EXPECT_EQ(Names(plan[1]), (std::vector<std::string>{"pitr"}));
  EXPECT_FALSE(plan[2].keep);
}

TEST(Retention, OfEqualTimesTheLaterInputIsKept) {
  const std::vector<RetentionInput> in = {
      {.time = kNow - days{20}}, {.time = kNow - days{20}}, {.time = kNow - days{20} - 1h}};
  const auto plan = Plan(in, kNow);
  EXPECT_FALSE(plan[0].keep);
  EXPECT_EQ(Names(plan[1]), (std::vector<std::string>{"weekly", "monthly", "yearly", "pitr"}));
  EXPECT_FALSE(plan[2].keep);
}

TEST(Retention, OfEqualOldestTimesTheLaterInputIsThePitrBase) {
  const std::vector<RetentionInput> in = {{.time = kNow - 1h}, {.time = kNow - 1h}};
  const auto plan = Plan(in, kNow);
  EXPECT_EQ(Names(plan[0]), std::vector<std::string>{});
  EXPECT_EQ(Names(plan[1]),
            (std::vector<std::string>{"daily", "weekly", "monthly", "yearly", "pitr"}));
}

TEST(Retention, UnsortedInputKeepsItsOrder) {
  // Three days around a new year, all in ISO week 2026-W53, given out of order.
  const std::vector<RetentionInput> in = {{.time = At(kY2026 / 12 / 30, 5h)},
                                          {.time = At(kY2026 / 12 / 31, 1h)},
                                          {.time = At(kY2026 / 12 / 30, 9h)},
                                          {.time = At(kY2026 / 12 / 31, 0h)},
                                          {.time = At(kY2027 / 1 / 1, 1h)}};
  const auto plan = Plan(in, kNow);
  EXPECT_EQ(Names(plan[0]), (std::vector<std::string>{"pitr"}));  // the oldest, none 7 days old
  EXPECT_EQ(Names(plan[1]), (std::vector<std::string>{"daily", "monthly", "yearly"}));
  EXPECT_EQ(Names(plan[2]), (std::vector<std::string>{"daily"}));
  EXPECT_FALSE(plan[3].keep);
  EXPECT_EQ(Names(plan[4]), (std::vector<std::string>{"daily", "weekly", "monthly", "yearly"}));
}

// --- Unverified backups ----------------------------------------------------------------

TEST(Retention, AnUnverifiedBackupIsNeverKeptNorTakesABucket) {
  const BackupTime now = At(kY2027 / 1 / 1, 23h);
  const std::vector<RetentionInput> in = {
      {.time = At(kY2027 / 1 / 1, 8h)},                       // verified: the one that counts
      {.time = At(kY2027 / 1 / 1, 20h), .verified = false}};  // newer, but failed its check
  const auto plan = Plan(in, now);
  EXPECT_EQ(Names(plan[0]),
            (std::vector<std::string>{"daily", "weekly", "monthly", "yearly", "pitr"}));
  EXPECT_FALSE(plan[1].keep);
  EXPECT_TRUE(plan[1].reasons.empty());
}

TEST(Retention, AnUnverifiedBackupIsNotThePitrBase) {
  const std::vector<RetentionInput> in = {{.time = kNow - days{9}},
                                          {.time = kNow - days{8}, .verified = false}};
  const auto plan = Plan(in, kNow);
  ASSERT_FALSE(Names(plan[0]).empty());
  EXPECT_EQ(Names(plan[0]).back(), "pitr");
  EXPECT_FALSE(plan[1].keep);
}

TEST(Retention, OnlyUnverifiedBackupsKeepNothing) {
  const std::vector<RetentionInput> in = {{.time = kNow, .verified = false},
                                          {.time = kNow - days{30}, .verified = false}};
  for (const auto& d : Plan(in, kNow)) EXPECT_FALSE(d.keep);
}

// --- Window edges: a backup exactly at an edge is outside --------------------------------

// The reasons of a lone backup at `t` other than "pitr" (a lone backup is always the base).
std::vector<std::string> LoneReasons(BackupTime t, BackupTime now) {
  auto names = Names(Plan({{.time = t}}, now).at(0));
  if (names.empty() || names.back() != "pitr") {  // the only backup is always the pitr base
    ADD_FAILURE() << "a lone backup is not the pitr base: " << Show(t);
    return names;
  }
  names.pop_back();
  return names;
}

TEST(Retention, DailyWindowIsStrict) {
  EXPECT_EQ(LoneReasons(kNow - days{14}, kNow),
            (std::vector<std::string>{"weekly", "monthly", "yearly"}));
  EXPECT_EQ(LoneReasons(kNow - days{14} + 1ms, kNow),
            (std::vector<std::string>{"daily", "weekly", "monthly", "yearly"}));
}

TEST(Retention, WeeklyWindowIsStrict) {
  EXPECT_EQ(LoneReasons(kNow - days{56}, kNow), (std::vector<std::string>{"monthly", "yearly"}));
  EXPECT_EQ(LoneReasons(kNow - days{56} + 1ms, kNow),
            (std::vector<std::string>{"weekly", "monthly", "yearly"}));
}

TEST(Retention, MonthlyWindowClampsToTheEndOfTheMonth) {
  // 2027-08-31 10:00 minus 6 months is 2027-02-28 10:00.
  const BackupTime now = At(kY2027 / 8 / 31, 10h);
  EXPECT_EQ(LoneReasons(At(kY2027 / 2 / 28, 10h), now), (std::vector<std::string>{"yearly"}));
  EXPECT_EQ(LoneReasons(At(kY2027 / 2 / 28, 10h) + 1ms, now),
            (std::vector<std::string>{"monthly", "yearly"}));
  // In a leap year the clamp lands on the 29th: 2028-08-31 minus 6 months.
  const BackupTime leap = At(kY2028 / 8 / 31, 10h);
  EXPECT_EQ(LoneReasons(At(kY2028 / 2 / 29, 10h), leap), (std::vector<std::string>{"yearly"}));
  EXPECT_EQ(LoneReasons(At(kY2028 / 2 / 29, 10h) + 1ms, leap),
            (std::vector<std::string>{"monthly", "yearly"}));
}

TEST(Retention, YearlyWindowFromALeapDayEndsOnFebruary28) {
  const BackupTime now = At(kY2028 / 2 / 29, 12h);
  EXPECT_EQ(LoneReasons(At(kY2027 / 2 / 28, 12h), now), std::vector<std::string>{});
  EXPECT_EQ(LoneReasons(At(kY2027 / 2 / 28, 12h) + 1ms, now), (std::vector<std::string>{"yearly"}));
}

TEST(Retention, PitrBaseMayBeExactlySevenDaysOld) {
  const std::vector<RetentionInput> in = {
      {.time = kNow - days{7} - 1ms}, {.time = kNow - days{7}}, {.time = kNow - days{7} + 1ms}};
  const auto plan = Plan(in, kNow);
  EXPECT_EQ(Names(plan[0]), std::vector<std::string>{});
  EXPECT_EQ(Names(plan[1]), (std::vector<std::string>{"pitr"}));
  EXPECT_EQ(Names(plan[2]), (std::vector<std::string>{"daily", "weekly", "monthly", "yearly"}));
}

// --- Policy and errors -----------------------------------------------------------------

TEST(Retention, APolicyOfZeroKeepsNoneOfThatKind) {
  const RetentionPolicy policy{
      .daily_days = 0, .weekly_weeks = 0, .monthly_months = 0, .yearly_years = 0, .pitr_days = 7};
  const std::vector<RetentionInput> in = {{.time = kNow}, {.time = kNow - days{8}}};
  const auto plan = Plan(in, kNow, policy);
  EXPECT_FALSE(plan[0].keep);
  EXPECT_EQ(Names(plan[1]), (std::vector<std::string>{"pitr"}));
}

TEST(Retention, ALongerDailyWindowKeepsMoreDays) {
  const RetentionPolicy policy{.daily_days = 30};
  const std::vector<RetentionInput> in = {{.time = kNow - days{20}}};
  EXPECT_EQ(Names(Plan(in, kNow, policy)[0]),
            (std::vector<std::string>{"daily", "weekly", "monthly", "yearly", "pitr"}));
}

TEST(Retention, ABackupAfterNowIsAnError) {
  const std::vector<RetentionInput> in = {{.time = kNow}, {.time = kNow + 1ms}};
  auto plan = PlanRetention(in, kNow);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(plan.status().message(), "backup 2 is after now");
}

TEST(Retention, ANegativePolicyIsAnError) {
  auto plan = PlanRetention({}, kNow, RetentionPolicy{.weekly_weeks = -1});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("weekly_weeks"), std::string::npos);
}

}  // namespace
}  // namespace pactum::backup
