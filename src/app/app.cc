#include "app/app.h"

#include <atomic>
#include <utility>
#include <vector>

#include "api/routes.h"
#include "app/jobs.h"
#include "common/ip_network.h"
#include "common/log.h"

namespace pactum::app {
namespace {

constexpr std::string_view kComponent = "serve";

crypto::PasswordParams PasswordParamsOf(const config::Config& config) {
  crypto::PasswordParams p;
  p.passes = static_cast<uint64_t>(config.auth.argon2_passes);
  p.memory_bytes = static_cast<size_t>(config.auth.argon2_memory_mib) << 20;
  return p;
}

// Removes <data>/initial-admin-password, logging what happened; true when it is gone.
bool RemoveInitialPassword(FileSystem& files, const std::string& data_dir, std::string_view why) {
  const std::string path = data_dir + "/" + std::string(kInitialPasswordFile);
  auto dir = files.OpenDirectory(data_dir);
  Status removed = dir.ok() ? (*dir)->Remove(kInitialPasswordFile) : dir.status();
  if (removed.code() == StatusCode::kNotFound) return true;
  if (!removed.ok()) {
    log::Error(kComponent, "cannot delete the initial admin's one-time password file",
               {{"path", path}, {"error", removed.ToString()}});
    return false;
  }
  log::Info(kComponent, "deleted the initial admin's one-time password file",
            {{"path", path}, {"reason", why}});
  // Gone for this process either way; a removal lost to a crash is redone at the next start.
  if (Status synced = (*dir)->Sync(); !synced.ok()) {
    log::Warn(kComponent, "the deletion of the one-time password file may not be durable yet",
              {{"path", path}, {"error", synced.ToString()}});
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<App>> App::Build(const config::Config& config, Ports ports,
                                        audit::AuditSigner signer, Options options) {
  if (ports.db == nullptr || ports.keys == nullptr || ports.clock == nullptr ||
      ports.files == nullptr || ports.router == nullptr || ports.metrics == nullptr) {
    return InvalidArgument("the composition root needs every port");
  }
  if (ports.request_db == nullptr) ports.request_db = ports.db;
  std::unique_ptr<App> app(new App());
  RETURN_IF_ERROR(app->Wire(config, ports, std::move(signer), options));
  return app;
}

Status App::Wire(const config::Config& config, const Ports& ports, audit::AuditSigner signer,
                 const Options& options) {
  store::Database& db = *ports.db;
  const Clock& clock = *ports.clock;
  FileSystem& files = *ports.files;

  // The audit trail: events in the database, signed checkpoints in a file beside it.
  tenant_keys_ = std::make_unique<tenant::TenantKeys>(*ports.keys, clock);
  signer_ = std::make_unique<audit::AuditSigner>(std::move(signer));
  auto redact_key = signer_->RedactKey();
  if (!redact_key.ok()) {
    return Status(redact_key.status().code(),
                  "cannot open the audit signing key: " + redact_key.status().message());
  }
  audit_log_ = std::make_unique<audit::SqlAuditLog>(db, clock, std::move(redact_key).value());
  if (ports.wrap_audit) audit_wrapper_ = ports.wrap_audit(*audit_log_);
  audit_sink_ = audit_wrapper_ ? audit_wrapper_.get() : audit_log_.get();
  audit::AuditSink& sink = *audit_sink_;
  checkpoint_file_ = std::make_unique<audit::CheckpointFile>(
      files, config.data_dir + "/" + std::string(audit::kCheckpointFile));
  checkpointer_ = std::make_unique<audit::Checkpointer>(*audit_log_, *checkpoint_file_, *signer_,
                                                        clock, audit::CheckpointPolicy{});

  tenants_ = std::make_unique<tenant::TenantService>(db, clock, *tenant_keys_);
  users_ = std::make_unique<auth::UserService>(db, clock, PasswordParamsOf(config), sink);
  settings_ = std::make_unique<tenant::SettingsService>(db, clock, sink);
  sessions_ = std::make_unique<auth::SessionService>(db, clock, *settings_, sink);
  // Per account: 3 free failures, then 1 s, 2 s, 4 s ...; per address (shared by many
  // people behind NAT): 20 free failures.
  throttle_ = std::make_unique<auth::LoginThrottle>(
      clock, auth::ThrottlePolicy{3, std::chrono::minutes(15)},
      auth::ThrottlePolicy{20, std::chrono::minutes(15)});
  tokens_ = std::make_unique<auth::TokenService>(db, clock, sink);
  two_factor_ = std::make_unique<auth::TwoFactorService>(db, clock, *tenant_keys_, sink);
  contracts_ = std::make_unique<contract::ContractService>(db, clock, sink);
  custom_fields_ = std::make_unique<contract::CustomFieldService>(db, clock, sink);
  // Documents' encrypted objects live under <data>/files, named by random ids.
  auto blobs = blob::LocalBlobStore::Open(files, config.data_dir + "/files");
  if (!blobs.ok()) {
    return Status(blobs.status().code(), "cannot open the file store: " + blobs.status().message());
  }
  blobs_ = std::move(blobs).value();
  documents_ = std::make_unique<document::DocumentService>(db, clock, *tenant_keys_, *blobs_,
                                                           config.documents.allowed_types, sink);
  RETURN_IF_ERROR(WatchInitialPassword(config, files));

  std::vector<IpNetwork> allow;
  for (const auto& n : config.server.metrics_allowlist) {
    auto network = IpNetwork::Parse(n);
    if (!network.ok()) return InvalidArgument("server.metrics_allowlist: not a network: " + n);
    allow.push_back(*network);
  }
  endpoints_ =
      std::make_unique<api::EndpointTable>(*ports.router,
                                           api::AuthDeps{*tenants_, *users_, *sessions_, *throttle_,
                                                         *tokens_, *two_factor_, *settings_, sink},
                                           options.endpoints);
  api::AddAllEndpoints(*endpoints_,
                       {.contracts = *contracts_,
                        .custom_fields = *custom_fields_,
                        .documents = *documents_,
                        .audit = {*audit_log_, *checkpoint_file_, signer_->public_key()},
                        .system = {db, *ports.metrics, std::move(allow)}});

  // The request and api streams, written in batches by the recorder's thread.
  if (options.record_requests) {
    if (ports.request_db == ports.db) {
      request_log_ = audit_log_.get();
    } else {
      ASSIGN_OR_RETURN(crypto::SecretBytes key, signer_->RedactKey());
      own_request_log_ =
          std::make_unique<audit::SqlAuditLog>(*ports.request_db, clock, std::move(key));
      request_log_ = own_request_log_.get();
    }
    recorder_ =
        std::make_unique<audit::RequestRecorder>(*request_log_, options.recorder, ports.metrics);
    request_audit_ = std::make_unique<api::RequestAudit>(*recorder_, *request_log_, *ports.router);
  }

  // The background work, as jobs of one scheduler; each job's state in /metrics and in
  // <data>/status.json.
  jobs_ = std::make_unique<scheduler::Scheduler>(
      clock, scheduler::Scheduler::Options{
                 .metrics = ports.metrics,
                 .status_file = config.data_dir + "/" + std::string(kStatusFile)});
  if (Status added = AddServeJobs(
          *jobs_, {.contracts = *contracts_,
                   .documents = *documents_,
                   .blobs = *blobs_,
                   .orphan_grace = std::chrono::minutes(config.documents.orphan_grace_minutes),
                   .checkpointer = *checkpointer_});
      !added.ok()) {
    return Status(added.code(), "cannot schedule the background work: " + added.message());
  }
  if (config.backup.mode == "on") {
    auto daily_at = config::ParseDailyAt(config.backup.daily_at);
    if (!daily_at.ok()) return daily_at.status();
    auto backups = backup::BackupService::Open(
        db, *ports.keys, clock, files,
        {.data_dir = config.data_dir,
         .backup_dir = config::BackupDirectory(config),
         .target_names = config.backup.targets,
         .interval_ms = config.backup.interval_ms,
         .daily_at_minutes = *daily_at,
         .snapshot_after_bytes = config.backup.snapshot_after_bytes,
         .snapshot_after_transactions = config.backup.snapshot_after_transactions,
         .environment = config.environment,
         .metrics = ports.metrics});
    if (!backups.ok()) {
      return Status(backups.status().code(), "cannot start backups: " + backups.status().message());
    }
    backups_ = std::move(backups).value();
    RETURN_IF_ERROR(backups_->AddJobs(*jobs_));
  }
  return Status::Ok();
}

// The first start wrote the initial admin's one-time password to a file; once that admin
// has chosen a password of their own the file is a stale secret: it goes at that moment,
// or at the next start when the change happened without this process (a crash between
// the commit and the removal, `pactum` commands).
Status App::WatchInitialPassword(const config::Config& config, FileSystem& files) {
  auto dir = files.OpenDirectory(config.data_dir);
  if (!dir.ok()) return Status::Ok();  // nothing there to watch (e.g. no data directory yet)
  if (Status there = (*dir)->Stat(kInitialPasswordFile).status(); !there.ok()) {
    if (there.code() != StatusCode::kNotFound) {
      log::Error(kComponent, "cannot look for the initial admin's one-time password file",
                 {{"error", there.ToString()}});
    }
    return Status::Ok();
  }
  // A cleanup: a database that cannot answer here is logged, and does not stop a start.
  auto tenant = tenants_->FindBySlug(kInitialTenant);
  auto admin = tenant.ok() ? users_->FindByEmail(tenant->id, kInitialAdminEmail)
                           : Result<auth::User>(tenant.status());
  if (!admin.ok() && admin.status().code() != StatusCode::kNotFound) {
    log::Error(kComponent, "cannot tell whether the initial admin still has a one-time password",
               {{"error", admin.status().ToString()}});
    return Status::Ok();
  }
  if (!admin.ok() || !admin->password_change_required) {
    RemoveInitialPassword(files, config.data_dir, "the initial admin's password was changed");
    return Status::Ok();
  }
  auto gone = std::make_shared<std::atomic<bool>>(false);
  users_->OnPasswordSet(
      [&files, data_dir = config.data_dir, id = admin->id, gone](int64_t user_id) {
        if (user_id != id || gone->load()) return;
        if (RemoveInitialPassword(files, data_dir, "the initial admin changed the password")) {
          gone->store(true);
        }
      });
  return Status::Ok();
}

App::~App() {
  if (jobs_) jobs_->Stop();
}

void App::StartJobs() { jobs_->Start(); }

http::RequestObserver* App::request_observer() { return request_audit_.get(); }

Status App::Finish() {
  Status first;
  if (recorder_) {
    if (Status s = recorder_->Flush(); !s.ok()) {
      log::Error(kComponent, "the last requests could not be recorded", {{"error", s.ToString()}});
      first = s;
    }
  }
  jobs_->Stop();
  if (auto n = checkpointer_->Run(/*force=*/true); !n.ok()) {
    log::Error(kComponent, "signing audit checkpoints failed", {{"error", n.status().ToString()}});
    if (first.ok()) first = n.status();
  }
  if (backups_) backups_->Finish();  // ships what the last requests committed
  return first;
}

}  // namespace pactum::app
