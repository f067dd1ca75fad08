#include "backup/backup_service.h"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "audit/checkpoint.h"
#include "backup/backup_keys.h"
#include "backup/local_target.h"
#include "backup/prune.h"
#include "common/clock.h"
#include "common/log.h"
#include "store/change_capture.h"

namespace pactum::backup {
namespace {

using json = nlohmann::json;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

}  // namespace

std::string SpoolDirectory(const std::string& data_dir) { return data_dir + "/backup-spool"; }

Result<std::vector<std::unique_ptr<BackupTarget>>> OpenTargets(
    FileSystem& fs, const std::string& backup_dir, const std::vector<std::string>& names) {
  std::vector<std::unique_ptr<BackupTarget>> out;
  for (const std::string& name : names) {
    std::string directory = backup_dir;
    directory += '/';
    directory += name;
    ASSIGN_OR_RETURN(auto target, OpenLocalTarget(fs, name, directory));
    out.push_back(std::move(target));
  }
  return out;
}

BackupService::BackupService(store::Database& db, crypto::KeyProvider& kek, const Clock& clock,
                             FileSystem& fs, BackupServiceOptions options)
    : db_(db), kek_(kek), clock_(clock), fs_(fs), options_(std::move(options)) {}

BackupService::~BackupService() { Stop(); }

Result<std::unique_ptr<BackupService>> BackupService::Open(store::Database& db,
                                                           crypto::KeyProvider& kek,
                                                           const Clock& clock, FileSystem& fs,
                                                           BackupServiceOptions options) {
  std::unique_ptr<BackupService> service(new BackupService(db, kek, clock, fs, std::move(options)));
  RETURN_IF_ERROR(service->Init());
  return service;
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
  RETURN_IF_ERROR(MakeDirectories(spool_dir + "/requests", 0700));
  auto owner = FileLock::Acquire(spool_dir + "/owner.lock", /*exclusive=*/true);
  if (!owner.ok()) {
    return Unavailable("another pactum process runs the backups of " + options_.data_dir);
  }
  owner_ = std::move(owner).value();
  ASSIGN_OR_RETURN(spool_, OpenLocalTarget(fs_, "spool", spool_dir + "/objects"));
  ASSIGN_OR_RETURN(targets_, OpenTargets(fs_, options_.backup_dir, options_.target_names));
  for (auto& t : targets_) target_ptrs_.push_back(t.get());
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
  const BackupKeyLookup keys = [this](uint32_t v) -> Result<crypto::SecretBytes> {
    if (v != key_.version) return NotFound("backup key version " + std::to_string(v));
    return crypto::SecretBytes::CopyOf(key_.key.span());
  };
  for (BackupTarget* t : target_ptrs_) {
    auto manifests = ListManifests(*t, keys);
    if (!manifests.ok()) continue;  // down: it catches up with the next snapshot
    const bool has = std::any_of(manifests->begin(), manifests->end(), [&](const Manifest& m) {
      return m.verification.ok && m.position.lineage == at.lineage;
    });
    if (!has) targets_lack_snapshot_ = true;
  }
  ScheduleNextDaily();
  return Status::Ok();
}

void BackupService::ScheduleNextDaily() {  // under state_mu_ (or before threads start)
  const int64_t now = UnixMillis(clock_.Now());
  const int64_t today = now - now % kDayMs + int64_t{options_.daily_at_minutes} * 60'000;
  next_daily_ms_ = today > now ? today : today + kDayMs;
}

bool BackupService::SnapshotDue() {
  std::lock_guard lock(state_mu_);
  return log_->NeedsSnapshot() || targets_lack_snapshot_ ||
         UnixMillis(clock_.Now()) >= next_daily_ms_;
}

Result<SnapshotResult> BackupService::Snapshot() {
  SnapshotOptions o;
  o.scratch_dir = options_.data_dir + "/backup-scratch";
  o.checkpoint_file = CheckpointFile();
  o.environment = options_.environment;
  o.schema_version = db_.Info().schema_version;
  // A target that was down gets the keys now.
  (void)PublishBackupKey(kek_, key_, target_ptrs_);
  (void)PublishKeyFile(options_.data_dir + "/audit-signing.key", "audit-signing", target_ptrs_);
  {
    std::lock_guard lock(state_mu_);
    if (UnixMillis(clock_.Now()) >= next_daily_ms_) ScheduleNextDaily();
  }
  auto result = TakeSnapshot(*log_, *db_.Changes(), key_, *spool_, target_ptrs_, clock_, o);
  MetricsRegistry* m = options_.metrics;
  if (!result.ok()) {
    std::lock_guard lock(state_mu_);
    last_snapshot_error_ = result.status().message();
    log::Error("backup", "a snapshot failed", {{"error", result.status().message()}});
    if (m != nullptr) {
      m->GetCounter("pactum_backup_snapshots_total", "Snapshots taken", R"(result="failed")").Add();
    }
    return result;
  }
  bool all = true;
  for (const TargetOutcome& o : result->outcomes) {
    if (!o.status.ok() || !o.verification.ok) {
      all = false;
      log::Error("backup", "a snapshot did not reach a target verified",
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
  }
  if (m != nullptr) {
    m->GetCounter("pactum_backup_snapshots_total", "Snapshots taken",
                  all ? R"(result="ok")" : R"(result="failed")")
        .Add();
  }
  Prune();
  log::Info("backup", "snapshot taken",
            {{"snapshot", result->manifest.id},
             {"pages", static_cast<int64_t>(result->manifest.pages)},
             {"stored_bytes", static_cast<int64_t>(result->manifest.stored_bytes)},
             {"snapshot_ms", result->snapshot_ms},
             {"copy_ms", result->copy_ms},
             {"verify_ms", result->verify_ms}});
  return result;
}

void BackupService::Prune() {
  const BackupKeyLookup keys = [this](uint32_t v) -> Result<crypto::SecretBytes> {
    if (v != key_.version) return NotFound("backup key version " + std::to_string(v));
    return crypto::SecretBytes::CopyOf(key_.key.span());
  };
  for (BackupTarget* t : target_ptrs_) {
    auto plan = PlanPrune(*t, keys, UnixMillis(clock_.Now()));
    Status s = plan.status();
    if (s.ok()) s = ApplyPrune(*t, *plan);
    if (!s.ok()) {
      log::Warn("backup", "pruning a target failed; nothing it keeps was touched",
                {{"target", t->name()}, {"error", s.message()}});
    } else if (!plan->delete_objects.empty()) {
      log::Info("backup", "pruned backups the retention policy no longer keeps",
                {{"target", t->name()},
                 {"objects", static_cast<int64_t>(plan->delete_objects.size())},
                 {"bytes", static_cast<int64_t>(plan->delete_bytes)}});
    }
  }
}

Status BackupService::Ship() {
  Status captured = log_->Capture();
  Status uploaded = log_->Upload();
  UpdateMetrics();
  WriteStatus();
  if (!captured.ok() && captured.code() != StatusCode::kFailedPrecondition) return captured;
  return uploaded;
}

Status BackupService::RunOnce(bool force_snapshot, SnapshotResult* snapshot) {
  if (force_snapshot || SnapshotDue()) {
    auto result = Snapshot();
    if (!result.ok()) return result.status();
    if (snapshot != nullptr) *snapshot = *result;
  }
  return Ship();
}

void BackupService::StartSnapshot(const std::string& request) {
  if (snapshot_thread_.joinable()) snapshot_thread_.join();  // the last one has finished
  snapshot_running_ = true;
  snapshot_thread_ = std::thread([this, request] {
    auto result = Snapshot();
    if (!request.empty()) {
      json answer = {{"ok", result.ok()}, {"error", result.ok() ? "" : result.status().message()}};
      if (result.ok()) {
        answer["snapshot"] = result->manifest.ToJson();
        answer["outcomes"] = result->OutcomesJson();
        answer["snapshot_ms"] = result->snapshot_ms;
        answer["copy_ms"] = result->copy_ms;
        answer["verify_ms"] = result->verify_ms;
      }
      const std::string dir = SpoolDirectory(options_.data_dir) + "/requests";
      (void)WriteFileAtomic(dir + "/run-" + request + ".result", answer.dump() + "\n", 0600);
    }
    snapshot_running_ = false;
  });
}

void BackupService::UpdateMetrics() {
  const int64_t now = UnixMillis(clock_.Now());
  std::vector<std::string> failing;
  for (const TargetHealth& h : log_->health()) {
    if (!h.last_error.empty()) {
      failing.push_back(h.name);
      if (std::find(failing_.begin(), failing_.end(), h.name) == failing_.end()) {
        log::Error("backup", "a backup target is failing; the others go on",
                   {{"target", h.name}, {"error", h.last_error}});
      }
    } else if (std::find(failing_.begin(), failing_.end(), h.name) != failing_.end()) {
      log::Info("backup", "a backup target caught up", {{"target", h.name}});
    }
    MetricsRegistry* m = options_.metrics;
    if (m == nullptr) continue;
    const std::string label = "target=\"" + h.name + "\"";
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
  if (options_.metrics != nullptr) {
    options_.metrics
        ->GetGauge("pactum_backup_change_log_segment", "The change log's last segment number")
        .Set(static_cast<int64_t>(log_->position().seq));
  }
}

void BackupService::WriteStatus() {
  const LogPosition at = log_->position();
  std::string last_id;
  std::string last_error;
  int64_t last_ms = 0;
  int64_t next_daily = 0;
  {
    std::lock_guard lock(state_mu_);
    last_id = last_snapshot_id_;
    last_error = last_snapshot_error_;
    last_ms = last_snapshot_ms_;
    next_daily = next_daily_ms_;
  }
  json targets = json::array();
  const int64_t now = UnixMillis(clock_.Now());
  for (const TargetHealth& h : log_->health()) {
    targets.push_back({{"name", h.name},
                       {"ok", h.last_error.empty()},
                       {"last_success_ms", h.last_success_ms},
                       {"pending_segments", h.pending},
                       {"lag_ms", h.oldest_pending_ms == 0 ? 0 : now - h.oldest_pending_ms},
                       {"error", h.last_error}});
  }
  const json status = {
      {"updated_ms", now},
      {"change_log",
       {{"lineage", at.lineage}, {"segment", at.seq}, {"last_commit_ms", at.time_ms}}},
      {"needs_snapshot", log_->NeedsSnapshot()},
      {"last_snapshot", {{"id", last_id}, {"taken_ms", last_ms}, {"error", last_error}}},
      {"snapshot_running", snapshot_running_.load()},
      {"next_daily_ms", next_daily},
      {"targets", targets}};
  const Status s = WriteFileAtomic(SpoolDirectory(options_.data_dir) + "/status.json",
                                   status.dump(2) + "\n", 0600);
  if (!s.ok()) log::Warn("backup", "cannot write the backup status file", {{"error", s.message()}});
}

void BackupService::AnswerRequests() {
  if (snapshot_running_) return;  // requests wait for the running snapshot to finish
  const std::string dir = SpoolDirectory(options_.data_dir) + "/requests";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("run-") || !name.ends_with(".request")) continue;
    const std::string id = name.substr(4, name.size() - 4 - 8);
    if (id.empty() || id.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
    std::filesystem::remove(entry.path(), ec);
    StartSnapshot(id);
    return;  // one snapshot at a time; another request is answered by the next one
  }
}

void BackupService::Loop() {
  // At a fixed rate: a transaction committed at t is captured by the round starting at
  // t + interval at the latest, whatever the rounds before took.
  const auto interval = std::chrono::milliseconds(options_.interval_ms);
  auto next = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    AnswerRequests();
    const Status s = Ship();
    (void)s;  // per-target errors are in health, logged on change
    if (!snapshot_running_ && SnapshotDue()) StartSnapshot("");
    next += interval;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // a long round (a snapshot): start again from now
    lock.lock();
    cv_.wait_until(lock, next, [this] { return stop_; });
  }
}

void BackupService::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void BackupService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  // What was committed before the stop reaches the targets.
  const Status captured = log_->Capture();
  const Status uploaded = log_->Upload();
  if (!captured.ok() || !uploaded.ok()) {
    log::Warn("backup", "the last change-log round before stopping did not finish",
              {{"error", (!captured.ok() ? captured : uploaded).message()}});
  }
  WriteStatus();
}

}  // namespace pactum::backup
