// `pactum backup retention-plan` against the real binary: backup times on stdin, the plan
// on stdout, one-line errors.

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/lines.h"
#include "tests/support/pactum_process.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

constexpr const char* kNow = "2027-01-10T12:00:00Z";  // a Sunday, in ISO week 2027-W01

// Crosses a day, an ISO week (2026-W53 runs Mon 2026-12-28 .. Sun 2027-01-03), a month and
// a year, with offsets, a fraction, a blank line and surrounding whitespace.
constexpr const char* kInput =
    "2027-01-10T02:00:00Z\n"
    "2026-12-31T23:00:00Z\n"
    "2027-01-01T00:30:00+01:00\n"  // 2026-12-31T23:30Z: the newest of that day, month, year
    "2027-01-03T18:00:00.250Z\n"   // Sunday: the newest of 2026-W53
    "2027-01-03T09:15:00-02:00\n"  // 11:15Z: the newest at least 7 days old
    "\n"
    "2026-11-20T03:00:00Z\n"  // alone in its ISO week, 8 weeks back: the week's and November's
    "2026-11-19T03:00:00Z\n"
    "2026-06-30T00:00:00Z\n"  // before now - 6 months (2026-07-10T12:00Z)
    "2025-12-31T23:59:59Z\n"  // before now - 1 year
    "\t2027-01-09T12:00:00Z \r\n";

CommandResult Plan(const std::string& input, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"backup", "retention-plan", "--now", kNow};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunPactumWithInput(args, input);
}

TEST(BackupCli, RetentionPlanJsonKeepsInputOrderAndNamesEveryReason) {
  const auto r = Plan(kInput, {"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const auto plan = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(plan.is_discarded()) << r.out;
  const auto expected = nlohmann::json::parse(R"([
    {"time": "2027-01-10T02:00:00Z", "keep": true,
     "reasons": ["daily", "weekly", "monthly", "yearly"]},
    {"time": "2026-12-31T23:00:00Z", "keep": false, "reasons": []},
    {"time": "2027-01-01T00:30:00+01:00", "keep": true, "reasons": ["daily", "monthly", "yearly"]},
    {"time": "2027-01-03T18:00:00.250Z", "keep": true, "reasons": ["daily", "weekly"]},
    {"time": "2027-01-03T09:15:00-02:00", "keep": true, "reasons": ["pitr"]},
    {"time": "2026-11-20T03:00:00Z", "keep": true, "reasons": ["weekly", "monthly"]},
    {"time": "2026-11-19T03:00:00Z", "keep": false, "reasons": []},
    {"time": "2026-06-30T00:00:00Z", "keep": false, "reasons": []},
    {"time": "2025-12-31T23:59:59Z", "keep": false, "reasons": []},
    {"time": "2027-01-09T12:00:00Z", "keep": true, "reasons": ["daily"]}
  ])");
  EXPECT_EQ(plan, expected) << plan.dump(1);
}

TEST(BackupCli, RetentionPlanTextIsOneLinePerBackupAndASummary) {
  const auto r = Plan(kInput);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = SplitLines(r.out);
  ASSERT_EQ(lines.size(), 11U) << r.out;
  EXPECT_EQ(lines[0].rfind("keep  2027-01-10T02:00:00Z  ", 0), 0U) << lines[0];
  EXPECT_EQ(lines[0].substr(lines[0].size() - 27), "daily weekly monthly yearly");
  EXPECT_EQ(lines[1], "drop  2026-12-31T23:00:00Z");
  EXPECT_EQ(lines[4].rfind("keep  2027-01-03T09:15:00-02:00  pitr", 0), 0U) << lines[4];
  EXPECT_EQ(lines[9].rfind("keep  2027-01-09T12:00:00Z  ", 0), 0U) << lines[9];
  EXPECT_EQ(lines[10], "6 kept of 10");
}

TEST(BackupCli, RetentionPlanOfNothingIsEmpty) {
  const auto json = Plan("", {"--json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, "[]\n");
  const auto text = Plan("\n  \n");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out, "0 kept of 0\n");
}

TEST(BackupCli, ABadLineIsExit1WithOneLineNamingIt) {
  const auto r = Plan("2027-01-10T02:00:00Z\n\nnot a \"time\"\n2027-01-09T02:00:00Z\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "pactum: line 3: not an RFC 3339 time: \"not a \\\"time\\\"\"\n");
  EXPECT_EQ(r.out, "");
}

TEST(BackupCli, ABadLineIsQuotedSafelyAndCut) {
  const auto control = Plan("2027-01-10\x1b[2J\x07\n");
  EXPECT_EQ(control.exit_code, 1);
  EXPECT_EQ(control.err, "pactum: line 1: not an RFC 3339 time: \"2027-01-10\\x1b[2J\\x07\"\n");
  const auto long_line = Plan(std::string(100'000, '9') + "\n");
  EXPECT_EQ(long_line.exit_code, 1);
  EXPECT_EQ(Lines(long_line.err), 1U);
  EXPECT_LT(long_line.err.size(), 160U) << long_line.err;
  EXPECT_NE(long_line.err.find("\"..."), std::string::npos) << long_line.err;
}

TEST(BackupCli, ABackupAfterNowIsExit1NamingTheLine) {
  const auto r = Plan("2027-01-10T02:00:00Z\n2027-01-10T12:00:00.001Z\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_EQ(r.err.rfind("pactum: line 2: ", 0), 0U) << r.err;
  EXPECT_NE(r.err.find("after --now"), std::string::npos) << r.err;
  // A backup at --now itself is fine.
  EXPECT_EQ(Plan("2027-01-10T12:00:00Z\n").exit_code, 0);
}

TEST(BackupCli, AMissingOrBadNowIsAUsageError) {
  const auto missing = RunPactumWithInput({"backup", "retention-plan"}, "");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(Lines(missing.err), 1U) << missing.err;
  EXPECT_NE(missing.err.find("--now"), std::string::npos) << missing.err;
  for (const char* bad : {"yesterday", "2027-01-10", "2027-02-30T00:00:00Z", ""}) {
    const auto r = RunPactumWithInput({"backup", "retention-plan", "--now", bad}, "");
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_EQ(Lines(r.err), 1U) << r.err;
    EXPECT_NE(r.err.find("--now"), std::string::npos) << r.err;
  }
}

TEST(BackupCli, BackupNeedsASubcommand) {
  const auto r = RunPactumWithInput({"backup"}, "");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
}

TEST(BackupCli, RetentionPlanHelpExplainsThePolicy) {
  const auto r = RunPactumWithInput({"backup", "retention-plan", "--help"}, "");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* text : {"--now", "14 days", "8 weeks", "6 months", "1 year", "7+ days"}) {
    EXPECT_NE(r.out.find(text), std::string::npos) << text << " in " << r.out;
  }
}

}  // namespace
}  // namespace pactum
