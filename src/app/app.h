#pragma once

// The composition root: one object that builds the server's service graph from the
// typed Config — the audit trail and its checkpoints, the tenant, auth, contract and
// document services, every API endpoint, the request and api streams, and the
// background jobs (housekeeping, audit checkpoints, backups) on one scheduler.
//
// `pactum serve` builds one over the data directory it opened; the API integration tests
// build one over their own database, with a fake clock and fault-injecting ports
// (tests/support/api_test.h). What differs between the two is in Ports and Options,
// nothing else: a service added here is in both.
//
// Not here: the data directory's lock, master key and database file (cli/runtime.h
// opens them, other commands need them too), the first start's tenant, the HTTPS
// listener and the control socket (cli/serve_command.cc).

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api/endpoint.h"
#include "api/request_audit.h"
#include "audit/audit_sink.h"
#include "audit/checkpoint.h"
#include "audit/request_recorder.h"
#include "audit/sql_audit_log.h"
#include "auth/login_throttle.h"
#include "auth/session_service.h"
#include "auth/token_service.h"
#include "auth/two_factor.h"
#include "auth/user_service.h"
#include "backup/backup_service.h"
#include "blob/local_blob_store.h"
#include "common/clock.h"
#include "common/file_system.h"
#include "common/metrics.h"
#include "config/config.h"
#include "contract/contract_service.h"
#include "contract/custom_fields.h"
#include "crypto/key_provider.h"
#include "document/document_service.h"
#include "http/request_observer.h"
#include "http/router.h"
#include "scheduler/scheduler.h"
#include "store/database.h"
#include "tenant/settings_service.h"
#include "tenant/tenant_keys.h"
#include "tenant/tenant_service.h"

namespace pactum::app {

// The server's status file in the data directory: {"updated_ms", "jobs": [...]}.
inline constexpr std::string_view kStatusFile = "status.json";
// The first start's one-time password of the initial admin (cli/serve_command.cc writes
// it); deleted once that admin has chosen a password.
inline constexpr std::string_view kInitialPasswordFile = "initial-admin-password";
inline constexpr std::string_view kInitialTenant = "default";
inline constexpr std::string_view kInitialAdminEmail = "admin@localhost";

// What the graph stands on; all outlive the App.
struct Ports {
  store::Database* db = nullptr;        // the tenant data
  crypto::KeyProvider* keys = nullptr;  // the master key
  const Clock* clock = nullptr;         // every service's and job's time
  FileSystem* files = nullptr;          // stored files, checkpoints, backups, the password file
  http::Router* router = nullptr;       // the endpoints are installed here
  MetricsRegistry* metrics = nullptr;   // /metrics
  // The database the request and api streams are written through; null: `db`. (A test
  // passes a wrapper it can make fail.)
  store::Database* request_db = nullptr;
  // Wraps the sink the services append their events to (a test's fault injector); the
  // App owns what it returns. Unset: the audit log itself.
  std::function<std::unique_ptr<audit::AuditSink>(audit::AuditSink& log)> wrap_audit;
};

struct Options {
  // Whether requests are recorded (always, but in a build made to measure what that
  // costs, never for prod: cli/serve_command.cc).
  bool record_requests = true;
  // Batches every 200 ms (the crash bound), or of 10,000 events: every commit makes the
  // readers' connections drop their page caches, so few large batches (measured:
  // scripts/bench-audit, docs/benchmarks.md).
  audit::RecorderOptions recorder{.max_batch = 10000};
  api::EndpointOptions endpoints;  // tests: strict
};

class App {
 public:
  // Builds everything `config` asks for; opens the audit signing key `signer` was read
  // from, the blob store under <data>/files and, with backups on, the backup targets.
  // Nothing runs yet: the jobs start with StartJobs().
  static Result<std::unique_ptr<App>> Build(const config::Config& config, Ports ports,
                                            audit::AuditSigner signer, Options options = {});
  ~App();  // the jobs stop first
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Starts the scheduler's threads (tests call jobs().RunDue() with a fake clock instead).
  void StartJobs();
  // After the last request: writes the request streams' last batch, stops the jobs, signs
  // the last audit checkpoints and ships what the last requests committed to the backup
  // targets. Failures are logged; the first is returned.
  Status Finish();

  // The request observer for the HTTPS server; null when requests are not recorded.
  http::RequestObserver* request_observer();

  tenant::TenantKeys& tenant_keys() { return *tenant_keys_; }
  audit::SqlAuditLog& audit_log() { return *audit_log_; }
  audit::AuditSink& audit_sink() { return *audit_sink_; }  // what the services append to
  audit::AuditSigner& signer() { return *signer_; }
  audit::CheckpointFile& checkpoint_file() { return *checkpoint_file_; }
  audit::Checkpointer& checkpointer() { return *checkpointer_; }
  tenant::TenantService& tenants() { return *tenants_; }
  auth::UserService& users() { return *users_; }
  tenant::SettingsService& settings() { return *settings_; }
  auth::SessionService& sessions() { return *sessions_; }
  auth::LoginThrottle& throttle() { return *throttle_; }
  auth::TokenService& tokens() { return *tokens_; }
  auth::TwoFactorService& two_factor() { return *two_factor_; }
  contract::ContractService& contracts() { return *contracts_; }
  contract::CustomFieldService& custom_fields() { return *custom_fields_; }
  blob::LocalBlobStore& blobs() { return *blobs_; }
  document::DocumentService& documents() { return *documents_; }
  api::EndpointTable& endpoints() { return *endpoints_; }
  audit::RequestRecorder* recorder() { return recorder_.get(); }  // null: not recorded
  audit::SqlAuditLog* request_log() { return request_log_; }      // null: not recorded
  scheduler::Scheduler& jobs() { return *jobs_; }
  backup::BackupService* backups() { return backups_.get(); }  // null: backups are off

 private:
  App() = default;
  Status Wire(const config::Config& config, const Ports& ports, audit::AuditSigner signer,
              const Options& options);
  Status WatchInitialPassword(const config::Config& config, FileSystem& files);

  // In construction order; destroyed in reverse (the jobs and the recorder first).
  std::unique_ptr<tenant::TenantKeys> tenant_keys_;
  std::unique_ptr<audit::AuditSigner> signer_;
  std::unique_ptr<audit::SqlAuditLog> audit_log_;
  std::unique_ptr<audit::AuditSink> audit_wrapper_;
  audit::AuditSink* audit_sink_ = nullptr;
  std::unique_ptr<audit::CheckpointFile> checkpoint_file_;
  std::unique_ptr<audit::Checkpointer> checkpointer_;
  std::unique_ptr<tenant::TenantService> tenants_;
  std::unique_ptr<auth::UserService> users_;
  std::unique_ptr<tenant::SettingsService> settings_;
  std::unique_ptr<auth::SessionService> sessions_;
  std::unique_ptr<auth::LoginThrottle> throttle_;
  std::unique_ptr<auth::TokenService> tokens_;
  std::unique_ptr<auth::TwoFactorService> two_factor_;
  std::unique_ptr<contract::ContractService> contracts_;
  std::unique_ptr<contract::CustomFieldService> custom_fields_;
  std::unique_ptr<blob::LocalBlobStore> blobs_;
  std::unique_ptr<document::DocumentService> documents_;
  std::unique_ptr<api::EndpointTable> endpoints_;
  std::unique_ptr<audit::SqlAuditLog> own_request_log_;  // when request_db is not db
  audit::SqlAuditLog* request_log_ = nullptr;
  std::unique_ptr<audit::RequestRecorder> recorder_;
  std::unique_ptr<api::RequestAudit> request_audit_;
  std::unique_ptr<backup::BackupService> backups_;
  std::unique_ptr<scheduler::Scheduler> jobs_;
};

}  // namespace pactum::app
