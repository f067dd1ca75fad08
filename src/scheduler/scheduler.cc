#include "scheduler/scheduler.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <fmt/format.h>

#include "common/files.h"
#include "common/log.h"

namespace pactum::scheduler {
namespace {

using TimePoint = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;

constexpr std::string_view kComponent = "scheduler";
constexpr size_t kMaxNameBytes = 40;
constexpr size_t kMaxErrorBytes = 200;  // of an error in a metric label
constexpr int kMaxRunDueRounds = 100;
constexpr auto kDay = std::chrono::hours(24);

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// The first instant strictly after `after` at `minutes` past midnight UTC.
TimePoint NextDaily(TimePoint after, int minutes) {
  const auto day = std::chrono::floor<std::chrono::days>(after);
  TimePoint at = day + std::chrono::minutes(minutes);
  while (at <= after) at += kDay;
  return at;
}

int64_t Ms(TimePoint t) { return UnixMillis(t); }

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kNone:
      break;
  }
  return "none";
}

}  // namespace

std::string Schedule::Describe() const {
  switch (kind) {
    case Kind::kEvery:
      return fmt::format("every {} ms", every.count());
    case Kind::kDailyAt:
      return fmt::format("daily at {:02}:{:02} UTC", daily_minutes / 60, daily_minutes % 60);
    case Kind::kOnDemand:
      break;
  }
  return "on demand";
}

// One job. `work` and `schedule` never change after Add; everything else is guarded by
// the scheduler's mu_.
struct Scheduler::JobState {
  std::string name;
  Schedule schedule;
  JobFunction work;
  std::optional<TimePoint> next;  // the next scheduled run; none: on demand
  JobStatus status;               // next_run_ms and name/schedule kept in step
  // Metrics, registered once (null without a registry).
  Gauge* last_start = nullptr;
  Gauge* last_duration = nullptr;
  Gauge* next_run = nullptr;
  Gauge* running = nullptr;
  Gauge* failing = nullptr;
  Counter* runs_ok = nullptr;
  Counter* runs_failed = nullptr;
};

Scheduler::Scheduler(const Clock& clock, Options options)
    : clock_(clock), options_(std::move(options)) {}

Scheduler::~Scheduler() { Stop(); }

Status Scheduler::Add(std::string name, Schedule schedule, JobFunction work) {
  if (!ValidName(name)) {
    return InvalidArgument("a job name is 1-40 of a-z 0-9 -: \"" + name.substr(0, 64) + "\"");
  }
  if (schedule.kind == Schedule::Kind::kEvery && schedule.every <= milliseconds(0)) {
    return InvalidArgument("job " + name + ": the period must be positive");
  }
  if (schedule.kind == Schedule::Kind::kDailyAt &&
      (schedule.daily_minutes < 0 || schedule.daily_minutes >= 24 * 60)) {
    return InvalidArgument("job " + name + ": the time of day must be 00:00-23:59");
  }
  if (!work) return InvalidArgument("job " + name + " has no work");
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return FailedPrecondition("jobs are added before the start");
  for (const auto& j : jobs_) {
    if (j->name == name) return AlreadyExists("a job named " + name + " exists already");
  }
  auto job = std::make_unique<JobState>();
  job->name = std::move(name);
  job->schedule = schedule;
  job->work = std::move(work);
  const TimePoint now = clock_.Now();
  switch (schedule.kind) {
    case Schedule::Kind::kEvery:
      job->next = schedule.at_once ? now : now + schedule.every;
      break;
    case Schedule::Kind::kDailyAt:
      job->next = NextDaily(now, schedule.daily_minutes);
      break;
    case Schedule::Kind::kOnDemand:
      break;
  }
  job->status.name = job->name;
  job->status.schedule = schedule.Describe();
  job->status.next_run_ms = job->next ? Ms(*job->next) : 0;
  if (MetricsRegistry* m = options_.metrics; m != nullptr) {
    const std::string label = "job=\"" + job->name + "\"";
    job->last_start = &m->GetGauge("pactum_job_last_start_timestamp_seconds",
                                   "When the job's last run started (0: never)", label);
    job->last_duration = &m->GetGauge("pactum_job_last_duration_milliseconds",
                                      "How long the job's last run took", label);
    job->next_run = &m->GetGauge("pactum_job_next_run_timestamp_seconds",
                                 "The job's next scheduled run (0: on demand only)", label);
    job->running = &m->GetGauge("pactum_job_running", "1 while the job runs", label);
    job->failing = &m->GetGauge("pactum_job_failing", "1 when the job's last run failed", label);
    job->runs_ok =
        &m->GetCounter("pactum_job_runs_total", "Job runs by outcome", label + ",result=\"ok\"");
    job->runs_failed = &m->GetCounter("pactum_job_runs_total", "Job runs by outcome",
                                      label + ",result=\"failed\"");
  }
  ExportLocked(*job);
  jobs_.push_back(std::move(job));
  return Status::Ok();
}

bool Scheduler::DueLocked(const JobState& job, TimePoint now) const {
  if (job.status.running) return false;
  return job.status.triggered || (job.next && now >= *job.next);
}

void Scheduler::RunLocked(JobState& job, std::unique_lock<std::mutex>& lock) {
  const std::optional<TimePoint> slot = job.next;
  job.status.triggered = false;
  job.status.running = true;
  const TimePoint start = clock_.Now();
  job.status.last_start_ms = Ms(start);
  const bool was_failing = job.status.last_outcome == Outcome::kFailed;
  const std::string previous_error = job.status.last_error;
  ExportLocked(job);
  lock.unlock();

  Status result;
  try {
    result = job.work(stop_source_.get_token());
  } catch (const std::exception& e) {
    result = Internal(std::string("job threw: ") + e.what());
  } catch (...) {
    result = Internal("job threw");
  }
  const TimePoint end = clock_.Now();
  // Logged when it changes, not at every run of a job that keeps failing the same way.
  if (!result.ok()) {
    if (!was_failing || previous_error != result.message()) {
      log::Error(kComponent, "a job failed", {{"job", job.name}, {"error", result.ToString()}});
    }
  } else if (was_failing) {
    log::Info(kComponent, "a job succeeded again", {{"job", job.name}});
  }

  lock.lock();
  job.status.running = false;
  job.status.last_duration_ms = std::max<int64_t>(0, Ms(end) - Ms(start));
  if (result.ok()) {
    job.status.last_outcome = Outcome::kOk;
    job.status.last_error.clear();
    ++job.status.runs_ok;
  } else {
    job.status.last_outcome = Outcome::kFailed;
    job.status.last_error = result.message().empty() ? result.ToString() : result.message();
    job.status.last_failure_ms = Ms(start);
    ++job.status.runs_failed;
  }
  // The next slot. A run that started before its slot (a trigger) leaves the schedule as
  // it was; one that ran at or after it moves to the first slot after its start.
  if (slot && *slot <= start) {
    if (job.schedule.kind == Schedule::Kind::kEvery) {
      const auto behind = start - *slot;
      job.next = *slot + (behind / job.schedule.every + 1) * job.schedule.every;
    } else if (job.schedule.kind == Schedule::Kind::kDailyAt) {
      job.next = NextDaily(start, job.schedule.daily_minutes);
    }
  }
  job.status.next_run_ms = job.next ? Ms(*job.next) : 0;
  ExportLocked(job);
  if (job.runs_ok != nullptr) (result.ok() ? job.runs_ok : job.runs_failed)->Add();
  lock.unlock();
  WriteStatusFile();
  lock.lock();
}

void Scheduler::ExportLocked(const JobState& job) {
  if (job.last_start == nullptr) return;
  job.last_start->Set(job.status.last_start_ms / 1000);
  job.last_duration->Set(job.status.last_duration_ms);
  job.next_run->Set(job.status.next_run_ms / 1000);
  job.running->Set(job.status.running ? 1 : 0);
  job.failing->Set(job.status.last_outcome == Outcome::kFailed ? 1 : 0);
  // The error text as a label, one series per job whose value is replaced: the message
  // is client-safe by the Status contract, cut so a label stays small.
  options_.metrics->SetInfo(
      "pactum_job_last_error_info", "The job's last error (error=\"\" after a success)",
      "job=\"" + job.name + "\"",
      "error=\"" +
          MetricsRegistry::EscapeLabel(
              std::string_view(job.status.last_error).substr(0, kMaxErrorBytes)) +
          "\"");
}

void Scheduler::WriteStatusFile() {
  if (options_.status_file.empty()) return;
  std::lock_guard file_lock(status_file_mu_);
  const nlohmann::json status = {{"updated_ms", Ms(clock_.Now())}, {"jobs", JobsJson()}};
  if (Status s = WriteFileAtomic(options_.status_file, status.dump(2) + "\n", 0600); !s.ok()) {
    log::Warn(kComponent, "cannot write the status file",
              {{"path", options_.status_file}, {"error", s.ToString()}});
  }
}

void Scheduler::ThreadMain(JobState& job) {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const TimePoint now = clock_.Now();
    if (DueLocked(job, now)) {
      RunLocked(job, lock);
      continue;
    }
    auto wait = options_.max_sleep;
    if (job.next) {
      wait = std::min(wait, std::chrono::ceil<milliseconds>(*job.next - now));
    }
    cv_.wait_for(lock, wait);
  }
}

void Scheduler::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  threads_.reserve(jobs_.size());
  for (auto& job : jobs_) {
    threads_.emplace_back([this, j = job.get()] { ThreadMain(*j); });
  }
}

Status Scheduler::Trigger(std::string_view name) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Unavailable("the scheduler has stopped");
    auto it =
        std::find_if(jobs_.begin(), jobs_.end(), [&](const auto& j) { return j->name == name; });
    if (it == jobs_.end()) return NotFound("no job named " + std::string(name));
    (*it)->status.triggered = true;
  }
  cv_.notify_all();
  return Status::Ok();
}

void Scheduler::Wake() {
  // Through the mutex: a thread between its look at the clock and its wait holds it, so
  // the notification cannot fall between the two.
  { const std::lock_guard lock(mu_); }
  cv_.notify_all();
}

int Scheduler::RunDue() {
  int runs = 0;
  std::unique_lock lock(mu_);
  for (int round = 0; round < kMaxRunDueRounds; ++round) {
    if (started_ || stopping_) break;
    bool ran = false;
    for (size_t i = 0; i < jobs_.size(); ++i) {
      JobState& job = *jobs_[i];
      if (started_ || stopping_) break;
      if (!DueLocked(job, clock_.Now())) continue;
      RunLocked(job, lock);
      ran = true;
      ++runs;
    }
    if (!ran) break;
  }
  return runs;
}

void Scheduler::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  stop_source_.request_stop();
  cv_.notify_all();
  for (auto& t : threads) t.join();
}

bool Scheduler::stopped() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

std::vector<JobStatus> Scheduler::Jobs() const {
  std::lock_guard lock(mu_);
  std::vector<JobStatus> out;
  out.reserve(jobs_.size());
  for (const auto& j : jobs_) out.push_back(j->status);
  return out;
}

Result<JobStatus> Scheduler::Job(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const auto& j : jobs_) {
    if (j->name == name) return j->status;
  }
  return NotFound("no job named " + std::string(name));
}

nlohmann::json Scheduler::JobsJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const JobStatus& s : Jobs()) {
    out.push_back({{"name", s.name},
                   {"schedule", s.schedule},
                   {"running", s.running},
                   {"triggered", s.triggered},
                   {"last_start_ms", s.last_start_ms},
                   {"last_duration_ms", s.last_duration_ms},
                   {"last_outcome", OutcomeName(s.last_outcome)},
                   {"last_error", s.last_error},
                   {"last_failure_ms", s.last_failure_ms},
                   {"next_run_ms", s.next_run_ms},
                   {"runs_ok", s.runs_ok},
                   {"runs_failed", s.runs_failed}});
  }
  return out;
}

}  // namespace pactum::scheduler
