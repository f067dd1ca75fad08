#include <pthread.h>
#include <sys/resource.h>
#include <csignal>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/app.h"
#include "cli/commands.h"
#include "cli/control_verbs.h"
#include "cli/runtime.h"
#include "common/file_system.h"
#include "common/files.h"
#include "common/log.h"
#include "common/version.h"
#include "control/control_server.h"
#include "http/server.h"
#include "http/tls.h"

namespace pactum::cli {
namespace {

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
  const std::string path = cfg.data_dir + "/" + std::string(app::kInitialPasswordFile);
  auto created =
      CreateTenantWithAdmin(cfg, data, app::kInitialTenant, app::kInitialAdminEmail,
                            "Administrator", [&](std::string_view password) {
                              return WriteFileAtomic(path, std::string(password) + "\n", 0600);
                            });
  if (created.status().code() == StatusCode::kAlreadyExists) return std::string();
  if (!created.ok()) return created.status();
  log::Info(kComponent, "first start: created the initial tenant and admin",
            {{"tenant", app::kInitialTenant},
             {"admin", app::kInitialAdminEmail},
             {"password_file", path}});
  return path;
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
  auto signer = OpenAuditSigner(*cfg, *data);
  if (!signer.ok()) {
    PrintError("cannot open the audit signing key: " + signer.status().message());
    return kExitFailure;
  }
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
  if (!kAuditRequests) {
    if (cfg->environment == "prod") {
      PrintError("this build does not record requests (PACTUM_BENCH_NO_AUDIT): not for prod");
      return kExitFailure;
    }
    log::Warn(kComponent,
              "built with PACTUM_BENCH_NO_AUDIT: requests are not recorded (benchmarks only)");
  }

  // Everything the server runs, built in one place (app/app.h). Declared before the
  // server, so it outlives it: the request streams' last batch is written after the last
  // request.
  http::Router router;
  auto built = app::App::Build(*cfg,
                               {.db = data->db.get(),
                                .keys = data->keys.get(),
                                .clock = &clock,
                                .files = &LocalFileSystem(),
                                .router = &router,
                                .metrics = &metrics},
                               std::move(signer).value(), {.record_requests = kAuditRequests});
  if (!built.ok()) {
    PrintError(built.status().message());
    return kExitFailure;
  }
  app::App& pactum = **built;
  http::Server server(cfg->server, cfg->limits, router, metrics, pactum.request_observer());
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
      line["initial_admin_email"] = app::kInitialAdminEmail;
      line["initial_admin_password_file"] = initial_password_file;
    }
    std::cout << line << std::endl;
  } else {
    if (!initial_password_file.empty()) {
      std::cout << "First start: created tenant '" << app::kInitialTenant << "' with admin "
                << app::kInitialAdminEmail << "; the one-time password is in "
                << initial_password_file
                << " (change it at the first login; the file is deleted then)" << std::endl;
    }
    std::cout << "Pactum " << kVersion << " is serving at " << url << "/  (Ctrl-C stops it)"
              << std::endl;
  }
  pactum.StartJobs();
  // `pactum` commands reach this server through <data>/control.sock.
  auto control = StartControl(*cfg, {.backups = pactum.backups()});
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
    // Commands waiting for an answer are told first (a backup.run waits on a job); then
    // the last requests' batch, the jobs, the last checkpoints, the backups' last round.
    if (*control) (*control)->Stop();
    (void)pactum.Finish();  // its failures are logged
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
