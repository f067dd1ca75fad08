#include "scheduler/scheduler.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace pactum::scheduler {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing_support::FakeClock;
using testing_support::TempDir;

// 2027-01-01T00:00:00Z, where FakeClock starts.
constexpr int64_t kStartMs = 1798761600000;
constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr int64_t kDayMs = 24 * kHourMs;

// State shared between a test and job threads: waits end when `ready` holds, or fail the
// test after a generous limit that only guards against a hang (never a timing check).
class Shared {
 public:
  void Update(const std::function<void()>& change) {
    {
      std::lock_guard lock(mu_);
      change();
    }
    cv_.notify_all();
  }
  bool WaitUntil(const std::function<bool()>& ready) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, seconds(60), ready);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

JobStatus StatusOf(const Scheduler& s, std::string_view name) {
  auto job = s.Job(name);
  EXPECT_TRUE(job.ok()) << job.status().ToString();
  return job.ok() ? *job : JobStatus{};
}

TEST(Scheduler, AnIntervalJobRunsOnItsGridAndCatchesUpOnce) {
  FakeClock clock;
  Scheduler s(clock, {});
  int runs = 0;
  ASSERT_TRUE(s.Add("round", Schedule::Every(seconds(10)), [&](std::stop_token) {
                 ++runs;
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(s.RunDue(), 1) << "the first run at once";
  EXPECT_EQ(s.RunDue(), 0);
  EXPECT_EQ(StatusOf(s, "round").next_run_ms, kStartMs + 10'000);
  clock.Advance(seconds(9));
  EXPECT_EQ(s.RunDue(), 0);
  clock.Advance(seconds(1));
  EXPECT_EQ(s.RunDue(), 1);
  // 35 s more: the three missed slots are not made up, one run catches up, and the grid
  // stays where it was (20, 30, 40 missed; next at 50).
  clock.Advance(seconds(35));
  EXPECT_EQ(s.RunDue(), 1);
  EXPECT_EQ(runs, 3);
  const JobStatus st = StatusOf(s, "round");
  EXPECT_EQ(st.next_run_ms, kStartMs + 50'000);
  EXPECT_EQ(st.last_start_ms, kStartMs + 45'000);
  EXPECT_EQ(st.runs_ok, 3U);
}

TEST(Scheduler, AnIntervalJobAddedWithoutAtOnceWaitsOnePeriod) {
  FakeClock clock;
  Scheduler s(clock, {});
  ASSERT_TRUE(s.Add("later", Schedule::Every(minutes(1), /*at_once=*/false), [](std::stop_token) {
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(s.RunDue(), 0);
  clock.Advance(minutes(1));
  EXPECT_EQ(s.RunDue(), 1);
}

TEST(Scheduler, ADailyJobRunsAtItsUtcTimeOfDay) {
  FakeClock clock;
  Scheduler s(clock, {});
  int runs = 0;
  ASSERT_TRUE(s.Add("daily", Schedule::DailyAt(2 * 60 + 30), [&](std::stop_token) {
                 ++runs;
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(StatusOf(s, "daily").next_run_ms, kStartMs + 150 * kMinuteMs) << "02:30 today";
  clock.Advance(hours(2) + minutes(29));
  EXPECT_EQ(s.RunDue(), 0);
  clock.Advance(minutes(1));
  EXPECT_EQ(s.RunDue(), 1);
  EXPECT_EQ(StatusOf(s, "daily").next_run_ms, kStartMs + kDayMs + 150 * kMinuteMs);
  // Three days asleep: one run, then the next 02:30 after it.
  clock.Advance(hours(72) + hours(3));
  EXPECT_EQ(s.RunDue(), 1);
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(StatusOf(s, "daily").next_run_ms, kStartMs + 4 * kDayMs + 150 * kMinuteMs);
}

TEST(Scheduler, ATriggerRunsAJobSoonerWithoutMovingItsSchedule) {
  FakeClock clock;
  Scheduler s(clock, {});
  int daily = 0;
  int on_demand = 0;
  ASSERT_TRUE(s.Add("daily", Schedule::DailyAt(120), [&](std::stop_token) {
                 ++daily;
                 return Status::Ok();
               }).ok());
  ASSERT_TRUE(s.Add("asked", Schedule::OnDemand(), [&](std::stop_token) {
                 ++on_demand;
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(s.RunDue(), 0) << "an on-demand job never runs by itself";
  EXPECT_EQ(StatusOf(s, "asked").next_run_ms, 0);
  ASSERT_TRUE(s.Trigger("daily").ok());
  ASSERT_TRUE(s.Trigger("asked").ok());
  ASSERT_TRUE(s.Trigger("asked").ok());
  EXPECT_TRUE(StatusOf(s, "asked").triggered);
  EXPECT_EQ(s.RunDue(), 2) << "two triggers before a run are one run";
  EXPECT_EQ(daily, 1);
  EXPECT_EQ(on_demand, 1);
  EXPECT_EQ(StatusOf(s, "daily").next_run_ms, kStartMs + 120 * kMinuteMs) << "still 02:00 today";
  EXPECT_EQ(s.Trigger("nobody").code(), StatusCode::kNotFound);
}

TEST(Scheduler, AJobTriggeredByAnotherRunsInTheSameRunDue) {
  FakeClock clock;
  Scheduler s(clock, {});
  std::vector<std::string> order;
  ASSERT_TRUE(s.Add("first", Schedule::Every(seconds(1)), [&](std::stop_token) {
                 order.emplace_back("first");
                 return s.Trigger("second");
               }).ok());
  ASSERT_TRUE(s.Add("second", Schedule::OnDemand(), [&](std::stop_token) {
                 order.emplace_back("second");
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(s.RunDue(), 2);
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second"}));
}

TEST(Scheduler, AFailingJobsErrorIsVisibleThenClearedBySuccess) {
  TempDir dir;
  FakeClock clock;
  MetricsRegistry metrics;
  Scheduler s(clock, {.metrics = &metrics, .status_file = dir.File("status.json")});
  bool fail = true;
  ASSERT_TRUE(s.Add("ship", Schedule::Every(seconds(1)), [&](std::stop_token) {
                 clock.Advance(milliseconds(250));  // the run takes 250 ms of clock time
                 return fail ? Unavailable("backup target site-a is unavailable", "ENOENT /x")
                             : Status::Ok();
               }).ok());
  EXPECT_EQ(s.RunDue(), 1);
  JobStatus st = StatusOf(s, "ship");
  EXPECT_EQ(st.last_outcome, Outcome::kFailed);
  EXPECT_EQ(st.last_error, "backup target site-a is unavailable") << "the message, no detail";
  EXPECT_EQ(st.last_failure_ms, kStartMs);
  EXPECT_EQ(st.last_duration_ms, 250);
  std::string text = metrics.Render();
  EXPECT_NE(text.find("pactum_job_failing{job=\"ship\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pactum_job_runs_total{job=\"ship\",result=\"failed\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pactum_job_last_error_info{job=\"ship\",error=\"backup target site-a is "
                      "unavailable\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pactum_job_last_duration_milliseconds{job=\"ship\"} 250\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("pactum_job_last_start_timestamp_seconds{job=\"ship\"} 1798761600\n"),
            std::string::npos)
      << text;
  auto file = nlohmann::json::parse(*ReadFile(dir.File("status.json")));
  EXPECT_EQ(file["jobs"][0]["name"], "ship");
  EXPECT_EQ(file["jobs"][0]["last_outcome"], "failed");
  EXPECT_EQ(file["jobs"][0]["last_error"], "backup target site-a is unavailable");
  EXPECT_EQ(file["jobs"][0]["next_run_ms"], kStartMs + 1000);

  fail = false;
  clock.Advance(seconds(1));
  EXPECT_EQ(s.RunDue(), 1);
  st = StatusOf(s, "ship");
  EXPECT_EQ(st.last_outcome, Outcome::kOk);
  EXPECT_EQ(st.last_error, "");
  EXPECT_EQ(st.last_failure_ms, kStartMs) << "when it last failed stays known";
  EXPECT_EQ(st.runs_ok, 1U);
  EXPECT_EQ(st.runs_failed, 1U);
  text = metrics.Render();
  EXPECT_NE(text.find("pactum_job_failing{job=\"ship\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pactum_job_last_error_info{job=\"ship\",error=\"\"} 1\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("site-a"), std::string::npos) << text;
  file = nlohmann::json::parse(*ReadFile(dir.File("status.json")));
  EXPECT_EQ(file["jobs"][0]["last_outcome"], "ok");
  EXPECT_EQ(file["jobs"][0]["last_error"], "");
}

TEST(Scheduler, AThrowingJobIsAFailureNotACrash) {
  FakeClock clock;
  Scheduler s(clock, {});
  ASSERT_TRUE(s.Add("throws", Schedule::OnDemand(), [](std::stop_token) -> Status {
                 throw std::runtime_error("boom");
               }).ok());
  ASSERT_TRUE(s.Trigger("throws").ok());
  EXPECT_EQ(s.RunDue(), 1);
  EXPECT_EQ(StatusOf(s, "throws").last_outcome, Outcome::kFailed);
}

TEST(Scheduler, AddRefusesBadNamesSchedulesAndDuplicates) {
  FakeClock clock;
  Scheduler s(clock, {});
  const auto ok = [](std::stop_token) { return Status::Ok(); };
  EXPECT_EQ(s.Add("", Schedule::OnDemand(), ok).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Add("Snapshot", Schedule::OnDemand(), ok).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Add("a\"b", Schedule::OnDemand(), ok).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Add(std::string(41, 'a'), Schedule::OnDemand(), ok).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Add("zero", Schedule::Every(milliseconds(0)), ok).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Add("late", Schedule::DailyAt(24 * 60), ok).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Add("none", Schedule::OnDemand(), nullptr).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(s.Add("job-1", Schedule::OnDemand(), ok).ok());
  EXPECT_EQ(s.Add("job-1", Schedule::OnDemand(), ok).code(), StatusCode::kAlreadyExists);
  s.Start();
  EXPECT_EQ(s.Add("job-2", Schedule::OnDemand(), ok).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.RunDue(), 0) << "a started scheduler runs its jobs on their threads";
}

TEST(Scheduler, AJobNeverRunsTwiceAtOnce) {
  FakeClock clock;
  Scheduler s(clock, {});
  Shared shared;
  int running = 0;
  int most_at_once = 0;
  int runs = 0;
  bool release = false;
  ASSERT_TRUE(s.Add("snapshot", Schedule::OnDemand(), [&](std::stop_token) {
                 shared.Update([&] {
                   ++running;
                   most_at_once = std::max(most_at_once, running);
                 });
                 shared.WaitUntil([&] { return release; });
                 shared.Update([&] {
                   --running;
                   ++runs;
                 });
                 return Status::Ok();
               }).ok());
  s.Start();
  ASSERT_TRUE(s.Trigger("snapshot").ok());
  ASSERT_TRUE(shared.WaitUntil([&] { return running == 1; }));
  // Asked again and again while it runs: one more run, after this one.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s.Trigger("snapshot").ok());
  EXPECT_TRUE(StatusOf(s, "snapshot").running);
  EXPECT_TRUE(StatusOf(s, "snapshot").triggered);
  shared.Update([&] { release = true; });
  ASSERT_TRUE(shared.WaitUntil([&] { return runs == 2; }));
  ASSERT_TRUE(shared.WaitUntil([&] {
    const JobStatus st = StatusOf(s, "snapshot");
    return !st.running && !st.triggered;
  }));
  s.Stop();
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(most_at_once, 1);
}

TEST(Scheduler, ALongJobDoesNotHoldUpAShortOne) {
  FakeClock clock;
  Scheduler s(clock, {});
  Shared shared;
  bool long_started = false;
  bool release_long = false;
  int short_runs = 0;
  ASSERT_TRUE(s.Add("snapshot", Schedule::OnDemand(), [&](std::stop_token) {
                 shared.Update([&] { long_started = true; });
                 shared.WaitUntil([&] { return release_long; });
                 return Status::Ok();
               }).ok());
  ASSERT_TRUE(s.Add("round", Schedule::Every(seconds(1)), [&](std::stop_token) {
                 shared.Update([&] { ++short_runs; });
                 return Status::Ok();
               }).ok());
  s.Start();
  ASSERT_TRUE(s.Trigger("snapshot").ok());
  ASSERT_TRUE(shared.WaitUntil([&] { return long_started; }));
  ASSERT_TRUE(shared.WaitUntil([&] { return short_runs >= 1; }));
  // Two more rounds by the clock while the snapshot still runs.
  for (int want = 2; want <= 3; ++want) {
    clock.Advance(seconds(1));
    s.Wake();
    ASSERT_TRUE(shared.WaitUntil([&] { return short_runs >= want; })) << want;
  }
  EXPECT_TRUE(StatusOf(s, "snapshot").running);
  shared.Update([&] { release_long = true; });
  s.Stop();
  EXPECT_EQ(StatusOf(s, "snapshot").last_outcome, Outcome::kOk);
}

TEST(Scheduler, StopWaitsForTheRunningJobAndStartsNothingNew) {
  FakeClock clock;
  Scheduler s(clock, {});
  Shared shared;
  bool started = false;
  std::atomic<int> runs{0};
  std::atomic<int> other_runs{0};
  ASSERT_TRUE(s.Add("long", Schedule::OnDemand(), [&](std::stop_token stop) {
                 ++runs;
                 shared.Update([&] { started = true; });
                 // Ends only when asked to stop, as a long job that checks its token does.
                 std::mutex mu;
                 std::condition_variable_any cv;
                 std::unique_lock lock(mu);
                 cv.wait(lock, stop, [] { return false; });
                 return Unavailable("stopped before the end");
               }).ok());
  ASSERT_TRUE(s.Add("other", Schedule::Every(hours(1), /*at_once=*/false), [&](std::stop_token) {
                 ++other_runs;
                 return Status::Ok();
               }).ok());
  s.Start();
  ASSERT_TRUE(s.Trigger("long").ok());
  ASSERT_TRUE(shared.WaitUntil([&] { return started; }));
  ASSERT_TRUE(s.Trigger("long").ok());  // pending when the stop comes: never runs
  s.Stop();                             // returns only once the run has returned
  const JobStatus st = StatusOf(s, "long");
  EXPECT_FALSE(st.running);
  EXPECT_EQ(st.last_outcome, Outcome::kFailed);
  EXPECT_EQ(st.last_error, "stopped before the end");
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.Trigger("long").code(), StatusCode::kUnavailable);
  clock.Advance(hours(2));
  EXPECT_EQ(s.RunDue(), 0);
  EXPECT_EQ(other_runs, 0);
  s.Stop();  // again: nothing to do
}

TEST(Scheduler, StartedJobsFollowTheFakeClock) {
  FakeClock clock;
  Scheduler s(clock, {});
  Shared shared;
  int runs = 0;
  ASSERT_TRUE(s.Add("hourly", Schedule::Every(hours(1), /*at_once=*/false), [&](std::stop_token) {
                 shared.Update([&] { ++runs; });
                 return Status::Ok();
               }).ok());
  s.Start();
  clock.Advance(hours(1));
  s.Wake();
  ASSERT_TRUE(shared.WaitUntil([&] { return runs == 1; }));
  s.Stop();
  EXPECT_EQ(StatusOf(s, "hourly").next_run_ms, kStartMs + 2 * kHourMs);
}

TEST(Scheduler, DescribesSchedules) {
  EXPECT_EQ(Schedule::Every(milliseconds(1500)).Describe(), "every 1500 ms");
  EXPECT_EQ(Schedule::DailyAt(125).Describe(), "daily at 02:05 UTC");
  EXPECT_EQ(Schedule::OnDemand().Describe(), "on demand");
}

}  // namespace
}  // namespace pactum::scheduler
