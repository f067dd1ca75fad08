#include "backup/retention.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>

namespace pactum::backup {
namespace {

using std::chrono::days;
using std::chrono::floor;
using std::chrono::sys_days;
using std::chrono::year_month_day;

// `t` minus `n` calendar months at the same time of day, the day clamped to the last day
// of the target month.
BackupTime MonthsBefore(BackupTime t, int n) {
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const std::chrono::year_month target = ymd.year() / ymd.month() - std::chrono::months{n};
  const std::chrono::day last = (target / std::chrono::last).day();
  return sys_days{target / std::min(ymd.day(), last)} + (t - day);
}

// Adds `reason` to the newest counting backup of each bucket (`key` names a backup's
// bucket) when that backup is younger than `cutoff`.
template <typename KeyOf>
void KeepNewestPerBucket(std::span<const RetentionInput> backups, BackupTime cutoff,
                         KeepReason reason, const KeyOf& key_of,
                         std::vector<RetentionDecision>& out) {
  std::map<decltype(key_of(sys_days{})), size_t> newest;
  for (size_t i = 0; i < backups.size(); ++i) {
    if (!backups[i].verified) continue;
    const auto [it, inserted] = newest.try_emplace(key_of(floor<days>(backups[i].time)), i);
    // Equal times: the later input wins.
    if (!inserted && backups[i].time >= backups[it->second].time) it->second = i;
  }
  for (const auto& [key, i] : newest) {
    if (backups[i].time > cutoff) out[i].reasons.push_back(reason);
  }
}

// The base of the point-in-time window: the newest counting backup at or before `edge`,
// else the oldest counting backup; nullopt when none counts.
std::optional<size_t> PitrBase(std::span<const RetentionInput> backups, BackupTime edge) {
  std::optional<size_t> base;
  std::optional<size_t> oldest;
  for (size_t i = 0; i < backups.size(); ++i) {
    if (!backups[i].verified) continue;
    const BackupTime t = backups[i].time;
    if (t <= edge && (!base || t >= backups[*base].time)) base = i;
    if (!oldest || t <= backups[*oldest].time) oldest = i;
  }
  return base ? base : oldest;
}

Status Validate(const RetentionPolicy& p) {
  constexpr int kYears = 100;
  const struct {
    const char* name;
    int value;
    int max;
  } fields[] = {
      {"daily_days", p.daily_days, kYears * 366},
      {"weekly_weeks", p.weekly_weeks, kYears * 53},
      {"monthly_months", p.monthly_months, kYears * 12},
      {"yearly_years", p.yearly_years, kYears},
      {"pitr_days", p.pitr_days, kYears * 366},
  };
  for (const auto& f : fields) {
    if (f.value < 0 || f.value > f.max) {
      return InvalidArgument(std::string("retention ") + f.name + " must be between 0 and " +
                             std::to_string(f.max));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view KeepReasonName(KeepReason reason) {
  switch (reason) {
    case KeepReason::kDaily:
      return "daily";
    case KeepReason::kWeekly:
      return "weekly";
    case KeepReason::kMonthly:
      return "monthly";
    case KeepReason::kYearly:
      return "yearly";
    case KeepReason::kPitr:
      return "pitr";
    case KeepReason::kBound:
      return "bound";
  }
  return "unknown";
}

IsoWeek IsoWeekOf(sys_days day) {
  // The week belongs to the year of its Thursday; week 1 holds the year's first Thursday.
  const unsigned iso_weekday = std::chrono::weekday{day}.iso_encoding();  // Monday 1 .. Sunday 7
  const sys_days thursday = day + days{4} - days{iso_weekday};
  const std::chrono::year year = year_month_day{thursday}.year();
  const sys_days first_day = sys_days{year / std::chrono::January / 1};
  return {.year = static_cast<int>(year),
          .week = static_cast<unsigned>((thursday - first_day).count() / 7 + 1)};
}

Result<std::vector<RetentionDecision>> PlanRetention(std::span<const RetentionInput> backups,
                                                     BackupTime now,
                                                     const RetentionPolicy& policy) {
  RETURN_IF_ERROR(Validate(policy));
  for (size_t i = 0; i < backups.size(); ++i) {
    if (backups[i].time > now) {
      return InvalidArgument("backup " + std::to_string(i + 1) + " is after now");
    }
  }
  std::vector<RetentionDecision> out(backups.size());
  KeepNewestPerBucket(
      backups, now - days{policy.daily_days}, KeepReason::kDaily, [](sys_days d) { return d; },
      out);
  KeepNewestPerBucket(backups, now - std::chrono::weeks{policy.weekly_weeks}, KeepReason::kWeekly,
                      IsoWeekOf, out);
  KeepNewestPerBucket(
      backups, MonthsBefore(now, policy.monthly_months), KeepReason::kMonthly,
      [](sys_days d) {
        const year_month_day ymd{d};
        return ymd.year() / ymd.month();
      },
      out);
  KeepNewestPerBucket(
      backups, MonthsBefore(now, 12 * policy.yearly_years), KeepReason::kYearly,
      [](sys_days d) { return year_month_day{d}.year(); }, out);
  if (const auto base = PitrBase(backups, now - days{policy.pitr_days})) {
    out[*base].reasons.push_back(KeepReason::kPitr);
  }
  for (RetentionDecision& d : out) d.keep = !d.reasons.empty();
  return out;
}

}  // namespace pactum::backup
