#pragma once

// The background work of a process (change-log rounds, snapshots, prune, housekeeping,
// audit checkpoints; later reminders, mail, replication) as named jobs on one Scheduler,
// timed by the injected Clock alone.
//
// A job has a schedule: every N (on the grid first + k*N; runs missed while the job was
// still running, or while the process was stopped or asleep, are not made up: one run
// catches up), daily at a UTC time of day, or on demand only. Trigger() asks for a run as
// soon as possible on top of the schedule, without moving it; triggers that arrive while
// the job runs are coalesced into one run after it.
//
// Guarantees: a job never runs twice at once. Each job has a thread of its own once
// started, so a long job (a snapshot) never holds up a short one (a change-log round).
// Stop() starts nothing new, sets the stop token the running jobs were given (a long job
// may end early on it), waits for them to return and ends every job thread.
//
// Two ways to drive it. Start(): each job's thread sleeps until the job is due by the
// clock, looking at the clock at least every `max_sleep` so that a step of the wall clock
// is noticed. Or, never started, RunDue() runs on the caller's thread every job that is due
// by the clock at that moment, again while runs make others due (a trigger), which is how
// tests advance a FakeClock and run what is due, deterministically. Wake() makes started
// job threads look at the clock at once (a test that advanced a FakeClock).
//
// What each job did is visible: its last run (start, duration, outcome), next run, last
// error (cleared by a success) and run counts, in Jobs(), in the metrics (pactum_job_*,
// label job="<name>") and in the status file (Options::status_file, written after every
// run: {"updated_ms", "jobs": [...]}, see JobsJson()).
//
// Thread-safe. Add() jobs before Start() or the first RunDue(). The clock and the metrics
// registry are not owned and must outlive the scheduler.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"

namespace pactum::scheduler {

struct Schedule {
  enum class Kind { kEvery, kDailyAt, kOnDemand };
  Kind kind = Kind::kOnDemand;
  std::chrono::milliseconds every{0};  // kEvery: > 0
  bool at_once = true;                 // kEvery: the first run when added, else one period later
  int daily_minutes = 0;               // kDailyAt: minutes after midnight UTC, 0..1439

  static Schedule Every(std::chrono::milliseconds period, bool at_once = true) {
    return {.kind = Kind::kEvery, .every = period, .at_once = at_once};
  }
  static Schedule DailyAt(int minutes_utc) {
    return {.kind = Kind::kDailyAt, .daily_minutes = minutes_utc};
  }
  static Schedule OnDemand() { return {}; }

  // "every 1000 ms", "daily at 02:00 UTC", "on demand".
  std::string Describe() const;
};

// A job's work. OK or the error to show as the job's last error; `stop` is set when the
// scheduler stops (a long job may return early on it). Exceptions are caught and count as
// an internal error.
using JobFunction = std::function<Status(std::stop_token stop)>;

enum class Outcome { kNone, kOk, kFailed };  // kNone: never ran

struct JobStatus {
  std::string name;
  std::string schedule;  // Schedule::Describe()
  bool running = false;
  bool triggered = false;     // a run was asked for and has not started yet
  int64_t last_start_ms = 0;  // Unix ms by the clock; 0: never
  int64_t last_duration_ms = 0;
  Outcome last_outcome = Outcome::kNone;
  std::string last_error;       // the message of the last run's error; empty after a success
  int64_t last_failure_ms = 0;  // start of the last failed run (kept after a success); 0: none
  int64_t next_run_ms = 0;      // the next scheduled run (a trigger runs sooner); 0: none
  uint64_t runs_ok = 0;
  uint64_t runs_failed = 0;
};

class Scheduler {
 public:
  struct Options {
    MetricsRegistry* metrics = nullptr;  // pactum_job_* when set
    std::string status_file;             // written (0600) after every run when set
    std::chrono::milliseconds max_sleep{1000};
  };

  Scheduler(const Clock& clock, Options options);
  ~Scheduler();  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Adds a job. Its first run is scheduled from the clock now. kInvalidArgument for a name
  // that is not 1-40 of [a-z0-9-] or a bad schedule; kAlreadyExists for a name taken;
  // kFailedPrecondition once started or stopped.
  Status Add(std::string name, Schedule schedule, JobFunction work);

  // Gives each job its thread. Once only; nothing happens after Stop().
  void Start();

  // Asks for a run of `name` as soon as possible. kNotFound for an unknown job;
  // kUnavailable once stopped.
  Status Trigger(std::string_view name);

  // Makes started job threads look at the clock now.
  void Wake();

  // Never-started schedulers only (tests): runs each job due by the clock now on this
  // thread, in the order added, and repeats while those runs made jobs due (triggers),
  // at most 100 rounds. Returns the number of runs; 0 once started or stopped.
  int RunDue();

  // Stops as described above; idempotent. The jobs' threads have ended when it returns.
  void Stop();

  bool stopped() const;
  std::vector<JobStatus> Jobs() const;
  // kNotFound for an unknown job.
  Result<JobStatus> Job(std::string_view name) const;
  // [{"name", "schedule", "running", "triggered", "last_start_ms", "last_duration_ms",
  //   "last_outcome": "none"|"ok"|"failed", "last_error", "last_failure_ms",
  //   "next_run_ms", "runs_ok", "runs_failed"}], in the order added.
  nlohmann::json JobsJson() const;

 private:
  struct JobState;

  bool DueLocked(const JobState& job, std::chrono::system_clock::time_point now) const;
  // Runs `job` (due, not running) with `lock` held on entry and exit; unlocks while the
  // work runs.
  void RunLocked(JobState& job, std::unique_lock<std::mutex>& lock);
  void ThreadMain(JobState& job);
  void ExportLocked(const JobState& job);
  void WriteStatusFile();

  const Clock& clock_;
  const Options options_;
  std::stop_source stop_source_;

  mutable std::mutex mu_;
  std::condition_variable cv_;                   // wakes job threads: trigger, stop, Wake()
  std::vector<std::unique_ptr<JobState>> jobs_;  // GUARDED_BY(mu_) (the vector; see JobState)
  bool started_ = false;                         // GUARDED_BY(mu_)
  bool stopping_ = false;                        // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;             // started and joined by the owner's thread

  std::mutex status_file_mu_;  // serializes status file writes, so the newest state wins
};

}  // namespace pactum::scheduler
