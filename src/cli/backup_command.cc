// pactum backup: the database backups of promise P4 (DESIGN §8). Each subcommand has its
// own Add*Command below, registered by AddBackupCommand. For now only retention-plan, the
// policy as a calculator; run, list, status, restore, verify and prune come with the
// backups themselves.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/event_codec.h"
#include "backup/retention.h"
#include "cli/commands.h"
#include "cli/runtime.h"

namespace pactum::cli {
namespace {

// --- shared by the backup subcommands --------------------------------------------------

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

// `text` in double quotes for a one-line error: quotes, backslashes, control and non-ASCII
// bytes escaped; cut after 64 bytes ("..." after the closing quote).
std::string Quote(std::string_view text) {
  constexpr size_t kMaxBytes = 64;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxBytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (text.size() > kMaxBytes) out += "...";
  return out;
}

// An RFC 3339 time ("Z" or a numeric offset, optional fraction; milliseconds kept).
std::optional<backup::BackupTime> ParseBackupTime(std::string_view text) {
  const auto ms = audit::ParseTimeMs(text);
  if (!ms) return std::nullopt;
  return backup::BackupTime{std::chrono::milliseconds{*ms}};
}

// --- retention-plan ------------------------------------------------------------------

struct TimeLine {
  std::string text;  // as given, trimmed
  backup::BackupTime time;
};

// Backup times, one per line; blank lines are skipped but counted, so errors name the
// line the user sees.
Result<std::vector<TimeLine>> ReadTimes(std::istream& in, backup::BackupTime now) {
  std::vector<TimeLine> out;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    const std::string_view text = Trim(line);
    if (text.empty()) continue;
    const std::string where = "line " + std::to_string(number) + ": ";
    const auto t = ParseBackupTime(text);
    if (!t) return InvalidArgument(where + "not an RFC 3339 time: " + Quote(text));
    if (*t > now) return InvalidArgument(where + Quote(text) + " is after --now");
    out.push_back({std::string(text), *t});
  }
  if (in.bad()) return Unavailable("cannot read the backup times from stdin");
  return out;
}

std::string Reasons(const backup::RetentionDecision& d) {
  std::string out;
  for (backup::KeepReason r : d.reasons) {
    if (!out.empty()) out += ' ';
    out += backup::KeepReasonName(r);
  }
  return out;
}

int RetentionPlan(const CommonOptions& options, const std::string& now_text) {
  const auto now = ParseBackupTime(now_text);
  if (!now) {
    PrintError("--now: not an RFC 3339 time: " + Quote(now_text));
    return kExitUsage;
  }
  auto lines = ReadTimes(std::cin, *now);
  if (!lines.ok()) {
    PrintError(lines.status().message());
    return kExitFailure;
  }
  std::vector<backup::RetentionInput> inputs;
  inputs.reserve(lines->size());
  for (const TimeLine& l : *lines) inputs.push_back({.time = l.time});
  auto plan = backup::PlanRetention(inputs, *now);
  if (!plan.ok()) {
    PrintError(plan.status().message());
    return kExitFailure;
  }

  if (options.json) {
    // ordered_json: the fields in the documented order, time first.
    auto out = nlohmann::ordered_json::array();
    for (size_t i = 0; i < lines->size(); ++i) {
      auto reasons = nlohmann::ordered_json::array();
      for (backup::KeepReason r : (*plan)[i].reasons) reasons.push_back(backup::KeepReasonName(r));
      out.push_back(nlohmann::ordered_json{
          {"time", (*lines)[i].text}, {"keep", (*plan)[i].keep}, {"reasons", reasons}});
    }
    std::cout << out << "\n" << std::flush;
    return kExitOk;
  }
  size_t width = 0;
  for (const TimeLine& l : *lines) width = std::max(width, l.text.size());
  size_t kept = 0;
  for (size_t i = 0; i < lines->size(); ++i) {
    const backup::RetentionDecision& d = (*plan)[i];
    std::string row = (d.keep ? "keep  " : "drop  ") + (*lines)[i].text;
    if (d.keep) {
      ++kept;
      row.append(width - (*lines)[i].text.size() + 2, ' ');
      row += Reasons(d);
    }
    std::cout << row << "\n";
  }
  std::cout << kept << " kept of " << lines->size() << "\n" << std::flush;
  return kExitOk;
}

void AddRetentionPlanCommand(CLI::App& backup, std::function<int()>& run) {
  auto options = std::make_shared<CommonOptions>();
  auto now = std::make_shared<std::string>();
  auto* plan = backup.add_subcommand(
      "retention-plan",
      "Show which of the backup times on stdin (RFC 3339, one per line) the retention "
      "policy keeps, and why");
  plan->footer(
      "Policy: keep the newest backup of each UTC day for 14 days, ISO week for 8 weeks, month\n"
      "for 6 months and year for 1 year before --now, and the newest one 7+ days old (the PITR "
      "base).");
  plan->add_option("--now", *now, "The time to plan for (RFC 3339)")->required();
  AddCommonOptions(*plan, *options);
  plan->callback(
      [&run, options, now] { run = [options, now] { return RetentionPlan(*options, *now); }; });
}

}  // namespace

void AddBackupCommand(CLI::App& app, std::function<int()>& run) {
  auto* backup = app.add_subcommand("backup", "Database backups");
  backup->require_subcommand(1);
  AddRetentionPlanCommand(*backup, run);
}

}  // namespace pactum::cli
