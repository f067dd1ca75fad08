#include "backup/backup_service.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "audit/checkpoint.h"
#include "backup/backup_keys.h"
#include "backup/prune.h"
#include "common/clock.h"
#include "common/log.h"
#include "store/change_capture.h"

namespace pactum::backup {
namespace {

using json = nlohmann::json;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::string_view kComponent = "backup";

// The first instant after `now_ms` at `minutes` past midnight UTC.
int64_t NextDailyMs(int64_t now_ms, int minutes) {
  const int64_t today = now_ms - now_ms % kDayMs + int64_t{minutes} * 60'000;
  return today > now_ms ? today : today + kDayMs;
}

std::string TargetLabel(const std::string& name) { return "target=\"" + name + "\""; }

}  // namespace

std::string SpoolDirectory(const std::string& data_dir) { return data_dir + "/backup-spool"; }

std::string TargetLedgerPath(const std::string& data_dir) {
  return SpoolDirectory(data_dir) + "/targets.json";
}

Result<std::vector<std::unique_ptr<BackupTarget>>> OpenTargets(
    FileSystem& fs, const std::string& backup_dir, const std::vector<std::string>& names,
    LocalTargetOpen open) {
  std::vector<std::unique_ptr<BackupTarget>> out;
  for (const std::string& name : names) {
    std::string directory = backup_dir;
    directory += '/';
    directory += name;
    ASSIGN_OR_RETURN(auto target, OpenLocalTarget(fs, name, directory, open));
    out.push_back(std::move(target));
  }
  return out;
}

BackupService::BackupService(store::Database& db, crypto::KeyProvider& kek, const Clock& clock,
                             FileSystem& fs, BackupServiceOptions options)
    : db_(db), kek_(kek), clock_(clock), fs_(fs), options_(std::move(options)) {}

BackupService::~BackupService() = default;

Result<std::unique_ptr<BackupService>> BackupService::Open(store::Database& db,
                                                           crypto::KeyProvider& kek,
                                                           const Clock& clock, FileSystem& fs,
                                                           BackupServiceOptions options) {
  std::unique_ptr<BackupService> service(new BackupService(db, kek, clock, fs, std::move(options)));
  RETURN_IF_ERROR(service->Init());
  return service;
}

BackupKeyLookup BackupService::KeyLookup() const {
  return [this](uint32_t v) -> Result<crypto::SecretBytes> {
    if (v != key_.version) return NotFound("backup key version " + std::to_string(v));
    return crypto::SecretBytes::CopyOf(key_.key.span());
  };
}

std::string BackupService::CheckpointFile() const {
  return options_.data_dir + "/" + std::string(audit::kCheckpointFile);
}

Status BackupService::Init() {
  store::ChangeCapture* capture = db_.Changes();
  if (capture == nullptr || !capture->retains_log()) {
    return FailedPrecondition(
        "backups need a database whose changes they can capture (the embedded database, "
        "with external checkpoints)");
  }
  const std::string spool_dir = SpoolDirectory(options_.data_dir);
  RETURN_IF_ERROR(MakeDirectories(spool_dir, 0700));
  auto owner = FileLock::Acquire(spool_dir + "/owner.lock", /*exclusive=*/true);
  if (!owner.ok()) {
    return Unavailable("another pactum process runs the backups of " + options_.data_dir);
  }
  owner_ = std::move(owner).value();
  // Request files of the release before the control socket: nobody answers them now.
  std::error_code ec;
  std::filesystem::remove_all(spool_dir + "/requests", ec);
  ASSIGN_OR_RETURN(spool_, OpenLocalTarget(fs_, "spool", spool_dir + "/objects"));
  // Opened without creating anything, so a deleted target is found lost, not quietly
  // made anew; CheckTargets prepares new and lost ones, then every reachable one is
  // prepared (stale temporaries of a crash removed).
  ASSIGN_OR_RETURN(targets_, OpenTargets(fs_, options_.backup_dir, options_.target_names,
                                         LocalTargetOpen::kExisting));
  for (auto& t : targets_) target_ptrs_.push_back(t.get());
  ASSIGN_OR_RETURN(ledger_, TargetLedger::Load(TargetLedgerPath(options_.data_dir)));
  identity_.resize(targets_.size());
  CheckTargets();
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (identity_[i].state == TargetState::kUnavailable) continue;
    if (Status s = targets_[i]->Prepare(); !s.ok()) {
      log::Warn(kComponent, "a backup target cannot be prepared",
                {{"target", targets_[i]->name()}, {"error", s.ToString()}});
    }
  }
  ASSIGN_OR_RETURN(key_, OpenBackupKey(kek_, options_.data_dir + "/backup.key", target_ptrs_));
  (void)PublishKeyFile(options_.data_dir + "/audit-signing.key", "audit-signing", target_ptrs_);
  BackupKey copy;
  copy.version = key_.version;
  copy.key = crypto::SecretBytes::CopyOf(key_.key.span());
  ASSIGN_OR_RETURN(log_, ChangeLog::Open(*capture, std::move(copy), *spool_,
                                         spool_dir + "/state.json", target_ptrs_, clock_,
                                         ChangeLogOptions{.checkpoint_file = CheckpointFile()}));
  // A target without a verified snapshot of the current lineage gets one at once.
  const LogPosition at = log_->position();
  const BackupKeyLookup keys = KeyLookup();
  for (BackupTarget* t : target_ptrs_) {
    auto manifests = ListManifests(*t, keys);
    if (!manifests.ok()) continue;  // down: it catches up with the next snapshot
    const bool has = std::any_of(manifests->begin(), manifests->end(), [&](const Manifest& m) {
      return m.verification.ok && m.position.lineage == at.lineage;
    });
    if (!has) targets_lack_snapshot_ = true;
  }
  return Status::Ok();
}

void BackupService::CheckTargets() {
  const int64_t now = UnixMillis(clock_.Now());
  MetricsRegistry* m = options_.metrics;
  for (size_t i = 0; i < targets_.size(); ++i) {
    BackupTarget& t = *targets_[i];
    std::optional<TargetRecord> record;
    {
      std::lock_guard lock(state_mu_);
      if (const TargetRecord* r = ledger_.Find(t.name()); r != nullptr) record = *r;
    }
    const TargetCheck check = CheckTarget(t, record ? &*record : nullptr);
    // A loss already handled: the target was made anew under the id the ledger holds and
    // waits for its verified snapshot.
    const bool open_loss = check.state == TargetState::kLost && record && record->lost_ms != 0 &&
                           check.marker && check.marker->id == record->id;
    Status changed;
    if (check.state == TargetState::kNew || (check.state == TargetState::kLost && !open_loss) ||
        (check.state == TargetState::kOk && !record)) {
      if (check.state == TargetState::kLost) {
        log::Error(kComponent,
                   "a backup target lost its backups; it is made anew and gets a new snapshot",
                   {{"target", t.name()}, {"reason", check.reason}});
        if (m != nullptr) {
          m->GetCounter("pactum_backup_target_losses_total",
                        "Times a backup target was found to have lost its backups",
                        TargetLabel(t.name()))
              .Add();
        }
      } else if (check.state == TargetState::kNew) {
        log::Info(kComponent, "initialising a new backup target", {{"target", t.name()}});
      }
      Result<TargetMarker> marker = check.marker ? Result<TargetMarker>(*check.marker)
                                                 : Result<TargetMarker>(NotFound("no marker"));
      if (!check.marker) {
        changed = t.Prepare();
        if (changed.ok()) {
          marker = EnsureMarker(t, now);
          changed = marker.status();
        }
      }
      if (changed.ok()) {
        std::lock_guard lock(state_mu_);
        TargetRecord& r = ledger_.At(t.name());
        const int64_t losses = r.losses;
        const int64_t last_loss = r.last_loss_ms;
        r = TargetRecord{.id = marker->id, .since_ms = now};
        r.losses = losses;
        r.last_loss_ms = last_loss;
        if (check.state == TargetState::kLost) {
          r.lost_ms = now;
          r.lost_reason = check.reason;
          ++r.losses;
          r.last_loss_ms = now;
        }
        changed = ledger_.Save();
        if (check.state != TargetState::kOk) targets_lack_snapshot_ = true;
      }
      if (!changed.ok()) {
        log::Error(kComponent, "cannot initialise a backup target",
                   {{"target", t.name()}, {"error", changed.ToString()}});
      }
    }
    std::lock_guard lock(state_mu_);
    if (open_loss) targets_lack_snapshot_ = true;
    Identity& id = identity_[i];
    const TargetRecord* now_known = ledger_.Find(t.name());
    if (check.state == TargetState::kUnavailable) {
      id = {TargetState::kUnavailable, check.reason};
    } else if (now_known != nullptr && now_known->lost_ms != 0) {
      id = {TargetState::kLost, now_known->lost_reason};
    } else if (!changed.ok()) {
      id = {check.state, check.reason};
    } else {
      id = {TargetState::kOk, ""};
    }
    if (m != nullptr) {
      m->GetGauge("pactum_backup_target_lost",
                  "1 while a backup target that lost its backups has no verified snapshot again",
                  TargetLabel(t.name()))
          .Set(id.state == TargetState::kLost ? 1 : 0);
    }
  }
}

std::string BackupService::SnapshotWantedLocked(int64_t now_ms) const {
  // Without a lineage nothing is shipped at all: asked for at every round until one works.
  if (log_->NeedsSnapshot()) return "the change log starts a new lineage";
  std::string why;
  if (targets_lack_snapshot_) {
    why = "a target lacks a verified snapshot of the current change log";
  } else {
    const LogGrowth g = log_->growth();
    if (options_.snapshot_after_bytes > 0 &&
        g.page_bytes >= static_cast<uint64_t>(options_.snapshot_after_bytes)) {
      why = "the change log since the last snapshot holds " + std::to_string(g.page_bytes) +
            " bytes of pages";
    } else if (options_.snapshot_after_transactions > 0 &&
               g.transactions >= static_cast<uint64_t>(options_.snapshot_after_transactions)) {
      why = "the change log since the last snapshot holds " + std::to_string(g.transactions) +
            " transactions";
    }
  }
  if (why.empty()) return why;
  if (snapshot_failed_ms_ != 0 && now_ms < snapshot_failed_ms_ + options_.snapshot_retry_ms) {
    return {};  // the last one failed: not again at every round
  }
  return why;
}

Result<SnapshotResult> BackupService::Snapshot() {
  SnapshotOptions o;
  o.scratch_dir = options_.data_dir + "/backup-scratch";
  o.checkpoint_file = CheckpointFile();
  o.environment = options_.environment;
  o.schema_version = db_.Info().schema_version;
  // A target that was down, or made anew, gets the keys now.
  (void)PublishBackupKey(kek_, key_, target_ptrs_);
  (void)PublishKeyFile(options_.data_dir + "/audit-signing.key", "audit-signing", target_ptrs_);
  auto result = TakeSnapshot(*log_, *db_.Changes(), key_, *spool_, target_ptrs_, clock_, o);
  MetricsRegistry* m = options_.metrics;
  const int64_t now = UnixMillis(clock_.Now());
  if (!result.ok()) {
    std::lock_guard lock(state_mu_);
    last_snapshot_error_ = result.status().message();
    snapshot_failed_ms_ = now;
    targets_lack_snapshot_ = true;
    log::Error(kComponent, "a snapshot failed", {{"error", result.status().message()}});
    if (m != nullptr) {
      m->GetCounter("pactum_backup_snapshots_total", "Snapshots taken", R"(result="failed")").Add();
    }
    return result;
  }
  bool all = true;
  for (const TargetOutcome& o : result->outcomes) {
    if (!o.status.ok() || !o.verification.ok) {
      all = false;
      log::Error(kComponent, "a snapshot did not reach a target verified",
                 {{"snapshot", result->manifest.id},
                  {"target", o.target},
                  {"error", o.status.ok() ? o.verification.error : o.status.message()}});
      if (m != nullptr && o.status.ok()) {
        m->GetCounter("pactum_backup_verify_failures_total",
                      "Backups that failed their verification by restore")
            .Add();
      }
    }
  }
  {
    std::lock_guard lock(state_mu_);
    last_snapshot_id_ = result->manifest.id;
    last_snapshot_ms_ = result->manifest.taken_ms;
    last_snapshot_error_ = all ? "" : "not every target holds a verified copy";
    targets_lack_snapshot_ = !all;
    snapshot_failed_ms_ = all ? 0 : now;
    // What each target now verifiably holds; a loss ends with its first verified snapshot.
    bool ledger_changed = false;
    for (const TargetOutcome& o : result->outcomes) {
      TargetRecord* r = ledger_.Find(o.target);
      if (r == nullptr || !o.status.ok() || !o.verification.ok) continue;
      if (r->lost_ms != 0) {
        log::Info(kComponent,
                  "a backup target that lost its backups holds a verified snapshot again",
                  {{"target", o.target}, {"snapshot", result->manifest.id}});
      }
      r->last_snapshot = result->manifest.id;
      r->lost_ms = 0;
      r->lost_reason.clear();
      ledger_changed = true;
    }
    for (size_t i = 0; i < targets_.size(); ++i) {
      const TargetRecord* r = ledger_.Find(targets_[i]->name());
      if (identity_[i].state == TargetState::kLost && r != nullptr && r->lost_ms == 0) {
        identity_[i] = {TargetState::kOk, ""};
        if (m != nullptr) {
          m->GetGauge("pactum_backup_target_lost",
                      "1 while a backup target that lost its backups has no verified snapshot "
                      "again",
                      TargetLabel(targets_[i]->name()))
              .Set(0);
        }
      }
    }
    if (ledger_changed) {
      if (Status s = ledger_.Save(); !s.ok()) {
        log::Warn(kComponent, "cannot write the backup target ledger", {{"error", s.ToString()}});
      }
    }
  }
  if (m != nullptr) {
    m->GetCounter("pactum_backup_snapshots_total", "Snapshots taken",
                  all ? R"(result="ok")" : R"(result="failed")")
        .Add();
  }
  log::Info(kComponent, "snapshot taken",
            {{"snapshot", result->manifest.id},
             {"pages", static_cast<int64_t>(result->manifest.pages)},
             {"stored_bytes", static_cast<int64_t>(result->manifest.stored_bytes)},
             {"snapshot_ms", result->snapshot_ms},
             {"copy_ms", result->copy_ms},
             {"verify_ms", result->verify_ms}});
  return result;
}

Status BackupService::PruneRun() {
  const BackupKeyLookup keys = KeyLookup();
  Status first;
  for (BackupTarget* t : target_ptrs_) {
    auto plan = PlanPrune(
        *t, keys, UnixMillis(clock_.Now()), RetentionPolicy{},
        ReplayBound{.page_bytes = static_cast<uint64_t>(options_.snapshot_after_bytes),
                    .transactions = static_cast<uint64_t>(options_.snapshot_after_transactions)});
    Status s = plan.status();
    if (s.ok()) s = ApplyPrune(*t, *plan);
    if (!s.ok()) {
      log::Warn(kComponent, "pruning a target failed; nothing it keeps was touched",
                {{"target", t->name()}, {"error", s.message()}});
      if (first.ok()) first = s;
    } else if (!plan->delete_objects.empty()) {
      log::Info(kComponent, "pruned backups the retention policy no longer keeps",
                {{"target", t->name()},
                 {"objects", static_cast<int64_t>(plan->delete_objects.size())},
                 {"bytes", static_cast<int64_t>(plan->delete_bytes)}});
    }
  }
  return first;
}

Status BackupService::Ship() {
  Status captured = log_->Capture();
  Status uploaded = log_->Upload();
  UpdateMetrics();
  WriteStatus();
  if (!captured.ok() && captured.code() != StatusCode::kFailedPrecondition) return captured;
  return uploaded;
}

Status BackupService::ChangeLogRound() {
  CheckTargets();
  Status shipped = Ship();  // per-target errors are in health, logged on change
  std::string why;
  {
    std::lock_guard lock(state_mu_);
    if (!snapshot_asked_ && !snapshot_running_)
      why = SnapshotWantedLocked(UnixMillis(clock_.Now()));
    if (!why.empty()) {
      snapshot_asked_ = true;
      snapshot_reason_ = why;
    }
  }
  if (!why.empty() && scheduler_ != nullptr) {
    if (Status s = scheduler_->Trigger(kSnapshotJob); !s.ok()) {
      std::lock_guard lock(state_mu_);
      snapshot_asked_ = false;
    }
  }
  return shipped;
}

Status BackupService::SnapshotRun() {
  std::string why;
  {
    std::lock_guard lock(state_mu_);
    snapshot_asked_ = false;
    snapshot_running_ = true;
    ++snapshot_runs_started_;
    why = snapshot_reason_.empty()
              ? fmt::format("daily at {:02}:{:02} UTC", options_.daily_at_minutes / 60,
                            options_.daily_at_minutes % 60)
              : snapshot_reason_;
    snapshot_reason_.clear();
  }
  log::Info(kComponent, "taking a snapshot", {{"reason", why}});
  auto result = Snapshot();
  bool all = result.ok();
  std::string failed_on;
  if (result.ok()) {
    for (const TargetOutcome& o : result->outcomes) {
      if (!o.status.ok() || !o.verification.ok) {
        all = false;
        failed_on += (failed_on.empty() ? "" : ", ") + o.target;
      }
    }
  }
  {
    std::lock_guard lock(state_mu_);
    snapshot_running_ = false;
    snapshot_runs_finished_ = snapshot_runs_started_;
    last_result_ = result;
  }
  snapshot_done_.notify_all();
  WriteStatus();
  if (result.ok() && scheduler_ != nullptr) (void)scheduler_->Trigger(kPruneJob);
  if (!result.ok()) return result.status();
  if (!all) return Unavailable("the snapshot did not reach every target verified: " + failed_on);
  return Status::Ok();
}

Status BackupService::AddJobs(scheduler::Scheduler& scheduler) {
  scheduler_ = &scheduler;
  RETURN_IF_ERROR(
      scheduler.Add(std::string(kChangeLogJob),
                    scheduler::Schedule::Every(std::chrono::milliseconds(options_.interval_ms)),
                    [this](std::stop_token) { return ChangeLogRound(); }));
  RETURN_IF_ERROR(scheduler.Add(std::string(kSnapshotJob),
                                scheduler::Schedule::DailyAt(options_.daily_at_minutes),
                                [this](std::stop_token) { return SnapshotRun(); }));
  return scheduler.Add(std::string(kPruneJob), scheduler::Schedule::OnDemand(),
                       [this](std::stop_token) { return PruneRun(); });
}

Result<SnapshotResult> BackupService::RequestSnapshot(std::stop_token stop) {
  std::unique_lock lock(state_mu_);
  if (finished_ || scheduler_ == nullptr) return Unavailable("the server is stopping");
  const uint64_t wanted = snapshot_runs_started_ + 1;  // a run going on now started too early
  if (snapshot_reason_.empty()) snapshot_reason_ = "asked for (pactum backup run)";
  lock.unlock();
  if (Status s = scheduler_->Trigger(kSnapshotJob); !s.ok()) {
    return Unavailable("the server is stopping");
  }
  lock.lock();
  snapshot_done_.wait(lock, stop, [&] { return finished_ || snapshot_runs_finished_ >= wanted; });
  if (snapshot_runs_finished_ < wanted || !last_result_) {
    return Unavailable("the server is stopping; the snapshot was not taken");
  }
  return *last_result_;
}

Status BackupService::RunOnce(bool force_snapshot, SnapshotResult* snapshot) {
  bool wanted = force_snapshot;
  if (!wanted) {
    std::lock_guard lock(state_mu_);
    wanted = !SnapshotWantedLocked(UnixMillis(clock_.Now())).empty();
  }
  if (wanted) {
    auto result = Snapshot();
    if (!result.ok()) return result.status();
    if (snapshot != nullptr) *snapshot = *result;
    (void)PruneRun();
  }
  return Ship();
}

void BackupService::Finish() {
  {
    std::lock_guard lock(state_mu_);
    finished_ = true;
  }
  snapshot_done_.notify_all();
  // What was committed before the stop reaches the targets.
  Status captured = log_->Capture();
  if (captured.code() == StatusCode::kFailedPrecondition) captured = Status::Ok();  // no lineage
  const Status uploaded = log_->Upload();
  if (!captured.ok() || !uploaded.ok()) {
    log::Warn(kComponent, "the last change-log round before stopping did not finish",
              {{"error", (!captured.ok() ? captured : uploaded).message()}});
  }
  UpdateMetrics();
  WriteStatus();
}

void BackupService::UpdateMetrics() {
  const int64_t now = UnixMillis(clock_.Now());
  std::vector<std::string> failing;
  for (const TargetHealth& h : log_->health()) {
    if (!h.last_error.empty()) {
      failing.push_back(h.name);
      if (std::find(failing_.begin(), failing_.end(), h.name) == failing_.end()) {
        log::Error(kComponent, "a backup target is failing; the others go on",
                   {{"target", h.name}, {"error", h.last_error}});
      }
    } else if (std::find(failing_.begin(), failing_.end(), h.name) != failing_.end()) {
      log::Info(kComponent, "a backup target caught up", {{"target", h.name}});
    }
    MetricsRegistry* m = options_.metrics;
    if (m == nullptr) continue;
    const std::string label = TargetLabel(h.name);
    m->GetGauge("pactum_backup_target_up", "1 when the last upload to the target succeeded", label)
        .Set(h.last_error.empty() ? 1 : 0);
    m->GetGauge("pactum_backup_target_pending", "Change-log segments not yet on the target", label)
        .Set(h.pending);
    m->GetGauge("pactum_backup_target_lag_seconds",
                "How long the target has been behind (0: up to date)", label)
        .Set(h.oldest_pending_ms == 0 ? 0 : (now - h.oldest_pending_ms) / 1000);
    m->GetGauge("pactum_backup_target_last_success_timestamp_seconds",
                "When the target last received everything", label)
        .Set(h.last_success_ms / 1000);
  }
  failing_ = std::move(failing);
  if (MetricsRegistry* m = options_.metrics; m != nullptr) {
    const LogGrowth g = log_->growth();
    m->GetGauge("pactum_backup_change_log_segment", "The change log's last segment number")
        .Set(static_cast<int64_t>(log_->position().seq));
    m->GetGauge("pactum_backup_change_log_since_snapshot_bytes",
                "Bytes of pages in the change log since the last snapshot")
        .Set(static_cast<int64_t>(g.page_bytes));
    m->GetGauge("pactum_backup_change_log_since_snapshot_transactions",
                "Transactions in the change log since the last snapshot")
        .Set(static_cast<int64_t>(g.transactions));
  }
}

void BackupService::WriteStatus() {
  const std::lock_guard serialized(status_mu_);  // the newest state is written last
  const LogPosition at = log_->position();
  const LogGrowth growth = log_->growth();
  const int64_t now = UnixMillis(clock_.Now());
  std::string last_id;
  std::string last_error;
  int64_t last_ms = 0;
  bool running = false;
  std::vector<Identity> identity;
  std::map<std::string, TargetRecord, std::less<>> records;
  {
    std::lock_guard lock(state_mu_);
    last_id = last_snapshot_id_;
    last_error = last_snapshot_error_;
    last_ms = last_snapshot_ms_;
    running = snapshot_running_;
    identity = identity_;
    records = ledger_.records();
  }
  int64_t next_daily = NextDailyMs(now, options_.daily_at_minutes);
  if (scheduler_ != nullptr) {
    if (auto job = scheduler_->Job(kSnapshotJob); job.ok()) next_daily = job->next_run_ms;
  }
  json targets = json::array();
  const std::vector<TargetHealth> health = log_->health();
  for (size_t i = 0; i < health.size(); ++i) {
    const TargetHealth& h = health[i];
    const Identity& id = i < identity.size() ? identity[i] : Identity{};
    const bool lost = id.state == TargetState::kLost;
    json t = {{"name", h.name},
              {"ok", h.last_error.empty() && !lost},
              {"last_success_ms", h.last_success_ms},
              {"pending_segments", h.pending},
              {"lag_ms", h.oldest_pending_ms == 0 ? 0 : now - h.oldest_pending_ms},
              {"error", lost ? "lost its backups: " + id.reason : h.last_error},
              {"identity", TargetStateName(id.state)},
              {"lost", lost}};
    if (const auto r = records.find(h.name); r != records.end()) {
      t["marker_id"] = r->second.id;
      t["lost_since_ms"] = r->second.lost_ms;
      t["losses"] = r->second.losses;
      t["last_loss_ms"] = r->second.last_loss_ms;
      t["last_verified_snapshot"] = r->second.last_snapshot;
    }
    targets.push_back(std::move(t));
  }
  const json status = {
      {"updated_ms", now},
      {"change_log",
       {{"lineage", at.lineage},
        {"segment", at.seq},
        {"last_commit_ms", at.time_ms},
        {"since_snapshot",
         {{"segments", growth.segments},
          {"transactions", growth.transactions},
          {"page_bytes", growth.page_bytes}}}}},
      {"needs_snapshot", log_->NeedsSnapshot()},
      {"last_snapshot", {{"id", last_id}, {"taken_ms", last_ms}, {"error", last_error}}},
      {"snapshot_running", running},
      {"next_daily_ms", next_daily},
      {"snapshot_after",
       {{"bytes", options_.snapshot_after_bytes},
        {"transactions", options_.snapshot_after_transactions}}},
      {"targets", targets}};
  const Status s = WriteFileAtomic(SpoolDirectory(options_.data_dir) + "/status.json",
                                   status.dump(2) + "\n", 0600);
  if (!s.ok())
    log::Warn(kComponent, "cannot write the backup status file", {{"error", s.message()}});
}

}  // namespace pactum::backup
