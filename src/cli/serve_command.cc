#include <pthread.h>
#include <sys/resource.h>
#include <csignal>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "api/request_audit.h"
#include "api/routes.h"
#include "audit/checkpoint.h"
#include "audit/request_recorder.h"
#include "audit/sql_audit_log.h"
#include "backup/backup_service.h"
#include "blob/local_blob_store.h"
#include "cli/commands.h"
#include "cli/control_verbs.h"
#include "cli/runtime.h"
#include "cli/serve_jobs.h"
#include "common/file_system.h"
#include "common/files.h"
#include "common/ip_network.h"
#include "common/log.h"
#include "common/version.h"
#include "control/control_server.h"
#include "document/document_service.h"
#include "http/server.h"
#include "http/tls.h"
#include "scheduler/scheduler.h"

namespace pactum::cli {
namespace {

constexpr const char* kComponent = "serve";
// The server's status file in the data directory: {"updated_ms", "jobs": [...]}.
constexpr const char* kStatusFile = "status.json";

// Whether the request and api streams are recorded: always, except in a build made for
// measuring what that costs (CMake option PACTUM_BENCH_NO_AUDIT, never for production).
#ifdef PACTUM_BENCH_NO_AUDIT
constexpr bool kAuditRequests = false;
#else
constexpr bool kAuditRequests = true;
#endif

struct ServeFlags {
  CommonOptions common;
  std::string listen;
  std::string ready_file;
};

// Allows as many open files as the hard limit permits: every connection is a descriptor.
void RaiseFileLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

Result<http::SslCtxPtr> LoadTls(const config::Config& cfg, bool* generated) {
  ASSIGN_OR_RETURN(auto files, http::ResolveTlsFiles(cfg.data_dir, cfg.server.tls_cert_file,
                                                     cfg.server.tls_key_file));
  if (generated != nullptr) *generated = files.generated;
  return http::MakeServerTlsContext(files.cert_file, files.key_file);
}

constexpr std::string_view kInitialTenant = "default";
constexpr std::string_view kInitialAdminEmail = "admin@localhost";

// With no tenant at all, creates tenant "default" with admin admin@localhost and writes
// the admin's one-time password to <data>/initial-admin-password (0600). Returns that
// path, or "" when there was nothing to do (tenants exist, or another process did it).
Result<std::string> FirstStart(const config::Config& cfg, DataDirectory& data) {
  // One process at a time, so two first starts cannot both write the password file.
  ASSIGN_OR_RETURN(const FileLock opening,
                   FileLock::Acquire(cfg.data_dir + "/pactum.open.lock", true, true));
  bool empty = false;
  RETURN_IF_ERROR(data.db->Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT count(*) FROM tenants"));
    empty = !rows.empty() && rows[0].Int(0) == 0;
    return Status::Ok();
  }));
  if (!empty) return std::string();
  // The password file is written before the admin commits, so it cannot be lost.
  const std::string path = cfg.data_dir + "/initial-admin-password";
  auto created =
      CreateTenantWithAdmin(cfg, data, kInitialTenant, kInitialAdminEmail, "Administrator",
                            [&](std::string_view password) {
                              return WriteFileAtomic(path, std::string(password) + "\n", 0600);
                            });
  if (created.status().code() == StatusCode::kAlreadyExists) return std::string();
  if (!created.ok()) return created.status();
  log::Info(kComponent, "first start: created the initial tenant and admin",
            {{"tenant", kInitialTenant}, {"admin", kInitialAdminEmail}, {"password_file", path}});
  return path;
}

// Backups on: the service, its jobs added to `jobs`. Null when backups are off.
Result<std::unique_ptr<backup::BackupService>> OpenBackups(const config::Config& cfg,
                                                           DataDirectory& data, const Clock& clock,
                                                           MetricsRegistry& metrics,
                                                           scheduler::Scheduler& jobs) {
  if (cfg.backup.mode != "on") return std::unique_ptr<backup::BackupService>();
  ASSIGN_OR_RETURN(auto backups,
                   backup::BackupService::Open(
                       *data.db, *data.keys, clock, LocalFileSystem(),
                       {.data_dir = cfg.data_dir,
                        .backup_dir = config::BackupDirectory(cfg),
                        .target_names = cfg.backup.targets,
                        .interval_ms = cfg.backup.interval_ms,
                        .daily_at_minutes = config::ParseDailyAt(cfg.backup.daily_at).value(),
                        .snapshot_after_bytes = cfg.backup.snapshot_after_bytes,
                        .snapshot_after_transactions = cfg.backup.snapshot_after_transactions,
                        .environment = cfg.environment,
                        .metrics = &metrics}));
  RETURN_IF_ERROR(backups->AddJobs(jobs));
  return backups;
}

// The control socket in the data directory; null (logged) when another server on the
// same directory has it: the commands then talk to that one.
Result<std::unique_ptr<control::ControlServer>> StartControl(const config::Config& cfg,
                                                             const ControlDeps& deps) {
  ASSIGN_OR_RETURN(control::Verbs verbs, ServerVerbs(deps));
  auto server = control::ControlServer::Start(cfg.data_dir, std::move(verbs));
  if (server.status().code() == StatusCode::kAlreadyExists) {
    log::Warn(kComponent, "another server answers the control socket of this data directory",
              {{"error", server.status().message()}});
    return std::unique_ptr<control::ControlServer>();
  }
  return server;
}

int Serve(const ServeFlags& flags) {
  auto cfg = LoadConfig(flags.common, [&](config::Config& c) {
    if (!flags.listen.empty()) c.server.listen = flags.listen;
    if (!flags.ready_file.empty()) c.server.ready_file = flags.ready_file;
  });
  if (!cfg) return kExitUsage;
  log::Level level{};
  log::ParseLevel(cfg->log_level, &level);
  log::SetLevel(level);

  // Signals are taken by sigwait() below: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit();

  MetricsRegistry metrics;
  auto data = OpenDataDirectory(*cfg, &metrics);
  if (!data.ok()) {
    PrintError(data.status().message());
    return kExitFailure;
  }
  SystemClock clock;
  // The audit trail: events in the database, signed checkpoints in a file beside it.
  auto signer = OpenAuditSigner(*cfg, *data);
  auto redact_key =
      signer.ok() ? signer->RedactKey() : Result<crypto::SecretBytes>(signer.status());
  if (!redact_key.ok()) {
    PrintError("cannot open the audit signing key: " + redact_key.status().message());
    return kExitFailure;
  }
  audit::SqlAuditLog audit_log(*data->db, clock, std::move(redact_key).value());
  audit::CheckpointFile checkpoint_file(LocalFileSystem(),
                                        cfg->data_dir + "/" + std::string(audit::kCheckpointFile));
  audit::Checkpointer checkpointer(audit_log, checkpoint_file, *signer, clock, {});
  // The very first start: a tenant and an admin to log in with.
  std::string initial_password_file;
  if (auto first = FirstStart(*cfg, *data); !first.ok()) {
    PrintError(first.status().message());
    return kExitFailure;
  } else {
    initial_password_file = *first;
  }
  bool generated = false;
  auto tls = LoadTls(*cfg, &generated);
  if (!tls.ok()) {
    PrintError(tls.status().message());
    return kExitFailure;
  }
  if (generated) {
    log::Info(kComponent, "created a self-signed TLS certificate",
              {{"path", cfg->data_dir + "/tls/cert.pem"}});
  }

  std::vector<IpNetwork> allow;
  for (const auto& n : cfg->server.metrics_allowlist) allow.push_back(*IpNetwork::Parse(n));
  tenant::TenantKeys tenant_keys(*data->keys, clock);
  tenant::TenantService tenants(*data->db, clock, tenant_keys);
  auth::UserService users(*data->db, clock, PasswordParamsFrom(*cfg), audit_log);
  tenant::SettingsService settings(*data->db, clock, audit_log);
  auth::SessionService sessions(*data->db, clock, settings, audit_log);
  // Per account: 3 free failures, then 1 s, 2 s, 4 s ...; per address (shared by many
  // people behind NAT): 20 free failures.
  auth::LoginThrottle throttle(clock, {3, std::chrono::minutes(15)},
                               {20, std::chrono::minutes(15)});
  auth::TokenService tokens(*data->db, clock, audit_log);
  auth::TwoFactorService two_factor(*data->db, clock, tenant_keys, audit_log);
  http::Router router;
  api::EndpointTable endpoints(
      router, {tenants, users, sessions, throttle, tokens, two_factor, settings, audit_log});
  contract::ContractService contracts(*data->db, clock, audit_log);
  contract::CustomFieldService custom_fields(*data->db, clock, audit_log);
  // Documents' encrypted objects live under <data>/files, named by random ids.
  auto blobs = blob::LocalBlobStore::Open(LocalFileSystem(), cfg->data_dir + "/files");
  if (!blobs.ok()) {
    PrintError("cannot open the file store: " + blobs.status().message());
    return kExitFailure;
  }
  document::DocumentService documents(*data->db, clock, tenant_keys, **blobs,
                                      cfg->documents.allowed_types, audit_log);
  api::AddAllEndpoints(endpoints, {.contracts = contracts,
                                   .custom_fields = custom_fields,
                                   .documents = documents,
                                   .audit = {audit_log, checkpoint_file, signer->public_key()},
                                   .system = {*data->db, metrics, std::move(allow)}});

  // The request and api streams, written in batches. Declared before the server, so they
  // outlive it: the last batch is written after the last request.
  std::optional<audit::RequestRecorder> recorder;
  std::optional<api::RequestAudit> request_audit;
  if (kAuditRequests) {
    // Batches every 200 ms (the crash bound), or of 10,000 events: every commit makes the
    // readers' connections drop their page caches, so few large batches (measured:
    // scripts/bench-audit, docs/benchmarks.md).
    recorder.emplace(audit_log, audit::RecorderOptions{.max_batch = 10000}, &metrics);
    request_audit.emplace(*recorder, audit_log, router);
  } else if (cfg->environment == "prod") {
    PrintError("this build does not record requests (PACTUM_BENCH_NO_AUDIT): not for prod");
    return kExitFailure;
  } else {
    log::Warn(kComponent,
              "built with PACTUM_BENCH_NO_AUDIT: requests are not recorded (benchmarks only)");
  }
  http::Server server(cfg->server, cfg->limits, router, metrics,
                      request_audit ? &*request_audit : nullptr);
  if (Status s = server.Start(*tls); !s.ok()) {
    PrintError(s.message());
    return kExitFailure;
  }
  const std::string url = server.BaseUrl();
  log::Info(kComponent, "serving",
            {{"url", url}, {"version", kVersion}, {"environment", cfg->environment}});
  // After the start succeeded: a start that fails stays one line on stderr.
  WarnIfMasterKeyInDataDirectory(*cfg, *data);
  if (flags.common.json) {
    nlohmann::json line{{"url", url}, {"version", kVersion}};
    if (!initial_password_file.empty()) {
      line["initial_admin_email"] = kInitialAdminEmail;
      line["initial_admin_password_file"] = initial_password_file;
    }
    std::cout << line << std::endl;
  } else {
    if (!initial_password_file.empty()) {
      std::cout << "First start: created tenant '" << kInitialTenant << "' with admin "
                << kInitialAdminEmail << "; the one-time password is in " << initial_password_file
                << " (change it at the first login)" << std::endl;
    }
    std::cout << "Pactum " << kVersion << " is serving at " << url << "/  (Ctrl-C stops it)"
              << std::endl;
  }
  // The background work, as jobs of one scheduler: housekeeping, audit checkpoints and
  // backups; each job's state in /metrics and in <data>/status.json.
  scheduler::Scheduler jobs(
      clock, {.metrics = &metrics, .status_file = cfg->data_dir + "/" + kStatusFile});
  Status added =
      AddServeJobs(jobs, {.contracts = contracts,
                          .documents = documents,
                          .blobs = **blobs,
                          .orphan_grace = std::chrono::minutes(cfg->documents.orphan_grace_minutes),
                          .checkpointer = checkpointer});
  auto backups = OpenBackups(*cfg, *data, clock, metrics, jobs);
  if (!backups.ok()) {
    PrintError("cannot start backups: " + backups.status().message());
    server.Shutdown();
    return kExitFailure;
  }
  if (!added.ok()) {
    PrintError("cannot schedule the background work: " + added.message());
    server.Shutdown();
    return kExitFailure;
  }
  jobs.Start();
  // `pactum` commands reach this server through <data>/control.sock.
  auto control = StartControl(*cfg, {.backups = backups->get()});
  // On every way out the jobs stop first: they use the services declared above.
  const struct StopJobs {
    scheduler::Scheduler& jobs;
    ~StopJobs() { jobs.Stop(); }
  } stop_jobs{jobs};
  if (!control.ok()) {
    PrintError("cannot open the control socket: " + control.status().message());
    server.Shutdown();
    return kExitFailure;
  }
  // Last: whoever waits for the ready file finds everything above already printed.
  if (!cfg->server.ready_file.empty()) {
    if (Status s = WriteFileAtomic(cfg->server.ready_file, url + "\n", 0644); !s.ok()) {
      PrintError("cannot write ready file " + cfg->server.ready_file);
      server.Shutdown();
      return kExitFailure;
    }
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      auto fresh = LoadTls(*cfg, nullptr);
      if (fresh.ok()) {
        server.SetTls(*fresh);
        log::Info(kComponent, "reloaded TLS certificate");
      } else {
        log::Error(kComponent, "TLS reload failed; keeping the current certificate",
                   {{"error", fresh.status().ToString()}});
      }
      continue;
    }
    log::Info(kComponent, "shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    const bool drained = server.Shutdown();
    if (recorder) {
      if (Status s = recorder->Flush(); !s.ok()) {
        log::Error(kComponent, "the last requests could not be recorded",
                   {{"error", s.ToString()}});
      }
    }
    if (*control) (*control)->Stop();  // commands waiting for an answer are told
    jobs.Stop();
    if (auto n = checkpointer.Run(/*force=*/true); !n.ok()) {
      log::Error(kComponent, "signing audit checkpoints failed",
                 {{"error", n.status().ToString()}});
    }
    if (*backups) (*backups)->Finish();  // ships what the last requests committed
    log::Info(kComponent, "stopped", {{"drained", drained}});
    log::Flush();
    return kExitOk;
  }
}

}  // namespace

void AddServeCommand(CLI::App& app, std::function<int()>& run) {
  auto flags = std::make_shared<ServeFlags>();
  auto* serve = app.add_subcommand("serve", "Run the HTTPS server");
  AddCommonOptions(*serve, flags->common);
  serve->add_option("--listen", flags->listen, "HOST:PORT to listen on (env PACTUM_LISTEN)");
  serve->add_option("--ready-file", flags->ready_file,
                    "Write the base URL to this file once accepting connections");
  serve->callback([&run, flags] { run = [flags] { return Serve(*flags); }; });
}

}  // namespace pactum::cli
