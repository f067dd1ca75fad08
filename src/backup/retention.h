#pragma once

// The retention policy of database backups (promise P4, DESIGN §8): which backups a prune
// keeps. A pure function of the backups' times and `now`; no clock, no I/O. Thread-safe.
//
// Buckets are UTC calendar buckets and every window is measured back from `now` (not from
// the newest backup), with a strict edge: a backup exactly at the edge is outside. With the
// default policy:
//   daily    the newest backup of each UTC day,              t > now - 14 days
//   weekly   the newest of each ISO-8601 week (Mon..Sun),    t > now - 8 weeks
//   monthly  the newest of each UTC month,                   t > now - 6 calendar months
//   yearly   the newest of each UTC year,                    t > now - 1 calendar year
//   pitr     the base of the point-in-time window: the newest backup with t <= now - 7 days,
//            or, when there is none (a young install), the oldest backup.
// Calendar months and years keep the day of month and the time of day, the day clamped
// to the last day of the target month (2027-08-31 - 6 months = 2027-02-28 at the same
// time; 2028-02-29 - 1 year = 2027-02-28).
// Only verified backups count: an unverified one is never kept and never takes a bucket
// from an older verified one. Among backups with equal times the later input is "newest".

#include <chrono>
#include <compare>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pactum::backup {

// Millisecond precision: what RFC 3339 parsing gives, and room for any calendar year.
using BackupTime = std::chrono::sys_time<std::chrono::milliseconds>;

struct RetentionPolicy {
  int daily_days = 14;     // newest of each day, kept this many days
  int weekly_weeks = 8;    // newest of each ISO week, kept this many weeks
  int monthly_months = 6;  // newest of each month, kept this many calendar months
  int yearly_years = 1;    // newest of each year, kept this many calendar years
  int pitr_days = 7;       // point-in-time window; its base snapshot is kept
};

struct RetentionInput {
  BackupTime time;
  bool verified = true;  // restored and checked; only verified backups count
};

// In the order reasons are listed. kBound is never the policy's: a prune with a replay
// bound gives it (backup/prune.h).
enum class KeepReason { kDaily, kWeekly, kMonthly, kYearly, kPitr, kBound };

// "daily", "weekly", "monthly", "yearly", "pitr", "bound".
std::string_view KeepReasonName(KeepReason reason);

struct RetentionDecision {
  bool keep = false;
  std::vector<KeepReason> reasons;  // every reason that applies, in KeepReason order
};

// One decision per input, in input order. The input need not be sorted.
// kInvalidArgument when a backup is after `now` or a policy field is negative or beyond
// 100 years.
Result<std::vector<RetentionDecision>> PlanRetention(std::span<const RetentionInput> backups,
                                                     BackupTime now,
                                                     const RetentionPolicy& policy = {});

// An ISO-8601 week: week 1 is the week (Monday to Sunday) holding the year's first
// Thursday, so 2027-01-01 is in 2026-W53 and 2024-12-30 in 2025-W01.
struct IsoWeek {
  int year = 0;       // the ISO week-numbering year, not always the calendar year
  unsigned week = 0;  // 1..53
  auto operator<=>(const IsoWeek&) const = default;
};

IsoWeek IsoWeekOf(std::chrono::sys_days day);

}  // namespace pactum::backup
