#include <pthread.h>
#include <sys/resource.h>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/request_audit.h"
#include "api/routes.h"
#include "audit/checkpoint.h"
#include "audit/request_recorder.h"
#include "audit/sql_audit_log.h"
#include "backup/backup_service.h"
#include "blob/local_blob_store.h"
#include "cli/commands.h"
#include "cli/runtime.h"
#include "common/file_system.h"
#include "common/files.h"
#include "common/ip_network.h"
#include "common/log.h"
#include "common/version.h"
#include "document/document_service.h"
#include "http/server.h"
#include "http/tls.h"

namespace pactum::cli {
namespace {

// Runs `task` at once and then every `every` on a thread of its own, until destroyed.
class Periodic {
 public:
  Periodic(std::chrono::seconds every, std::function<void()> task)
      : thread_([this, every, task = std::move(task)] {
          std::unique_lock lock(mu_);
          while (!stop_) {
            lock.unlock();
            task();
            lock.lock();
            cv_.wait_for(lock, every, [this] { return stop_; });
          }
        }) {}
  ~Periodic() {
    {
      const std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;   // GUARDED_BY(mu_)
  std::thread thread_;  // last: starts once the members above exist
};

constexpr const char* kComponent = "serve";

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
  // Hourly: contracts in the trash for 30 days go for good, with their documents; stored
  // objects without a document (a crash between write and commit) and unfinished uploads
  // go after a grace period.
  const auto grace = std::chrono::minutes(cfg->documents.orphan_grace_minutes);
  const Periodic housekeeping(std::chrono::hours(1), [&contracts, &documents, &blobs, grace] {
    auto purged = contracts.PurgeTrash();
    if (!purged.ok()) {
      log::Error(kComponent, "purging the trash failed", {{"error", purged.status().ToString()}});
    } else if (!purged->contract_ids.empty()) {
      documents.RemoveObjects(purged->blob_ids);
      log::Info(
          kComponent, "purged contracts from the trash",
          {{"contracts", purged->contract_ids.size()}, {"documents", purged->blob_ids.size()}});
    }
    if (auto swept = documents.SweepOrphans(grace); !swept.ok()) {
      log::Error(kComponent, "sweeping orphaned files failed",
                 {{"error", swept.status().ToString()}});
    } else if (*swept > 0) {
      log::Info(kComponent, "removed orphaned files", {{"count", *swept}});
    }
    // A temporary file is written to once per MiB: at the slowest allowed upload rate that
    // is minutes apart, so only day-old ones are certainly abandoned.
    if (auto stale = blobs.value()->RemoveStaleTemporaries(std::chrono::hours(24));
        stale.ok() && *stale > 0) {
      log::Info(kComponent, "removed unfinished uploads", {{"count", *stale}});
    }
  });
  // Chains are checkpointed every 1000 events or 60 s (checked every 5 s), and at shutdown.
  std::mutex checkpoint_mu;
  const auto checkpoint = [&checkpointer, &checkpoint_mu](bool force) {
    const std::lock_guard lock(checkpoint_mu);
    if (auto n = checkpointer.Run(force); !n.ok()) {
      log::Error(kComponent, "signing audit checkpoints failed",
                 {{"error", n.status().ToString()}});
    }
  };
  std::optional<Periodic> checkpoints;
  checkpoints.emplace(std::chrono::seconds(5), [&checkpoint] { checkpoint(false); });
  // Backups: the change log every interval, a snapshot at once when none exists and daily.
  std::unique_ptr<backup::BackupService> backups;
  if (cfg->backup.mode == "on") {
    auto opened = backup::BackupService::Open(
        *data->db, *data->keys, clock, LocalFileSystem(),
        {.data_dir = cfg->data_dir,
         .backup_dir = config::BackupDirectory(*cfg),
         .target_names = cfg->backup.targets,
         .interval_ms = cfg->backup.interval_ms,
         .daily_at_minutes = config::ParseDailyAt(cfg->backup.daily_at).value(),
         .environment = cfg->environment,
         .metrics = &metrics});
    if (!opened.ok()) {
      PrintError("cannot start backups: " + opened.status().message());
      server.Shutdown();
      return kExitFailure;
    }
    backups = std::move(opened).value();
    backups->Start();
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
    checkpoints.reset();
    checkpoint(true);
    if (backups) backups->Stop();  // ships what the last requests committed
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
