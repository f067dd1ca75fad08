// The HTTPS server under load, for scripts/bench-http: the production server, TLS policy
// and headers, with an authenticated-shaped JSON route. It checks a bearer token in
// constant time and serializes a ~1 KiB contract-shaped JSON document (JsonWriter, as API
// handlers do), either on the I/O thread (/inline/...) or through the worker pool
// (/worker/...), the hop every database-backed handler takes.
//
//   pactum_bench_server DATA_DIR READY_FILE   (runs until SIGTERM/SIGINT)

#include <pthread.h>
#include <csignal>
#include <cstdio>

#include "common/files.h"
#include "common/json_writer.h"
#include "common/metrics.h"
#include "config/config.h"
#include "crypto/random.h"
#include "http/server.h"
#include "http/tls.h"

namespace {

constexpr std::string_view kToken = "Bearer bench-token-7f3a9c2e5b1d4f60";

pactum::http::Response Contract(pactum::http::Request& req) {
  if (!pactum::crypto::ConstantTimeEquals(req.Header("Authorization"), kToken)) {
    return pactum::http::Response::Error(
        pactum::Status(pactum::StatusCode::kUnauthenticated, "authentication required"));
  }
  pactum::JsonWriter w;
  w.BeginObject()
      .Field("id", req.Param("id"))
      .Field("title", "Master services agreement for managed hosting and support")
      .Field("counterparty", "Example Hosting Services GmbH")
      .Field("type", "msa")
      .Field("status", "active")
      .Field("owner_id", 42)
      .Field("start_date", "2026-01-01")
      .Field("end_date", "2028-12-31")
      .Field("auto_renew", true)
      .Field("renewal_months", 12)
      .Field("notice_days", 90)
      .Field("value_cents", int64_t{12500000})
      .Field("currency", "EUR")
      .Key("tags")
      .BeginArray()
      .String("hosting")
      .String("it")
      .String("critical")
      .String("gdpr")
      .EndArray()
      .Key("custom")
      .BeginObject()
      .Field("cost_center", "IT-4711")
      .Field("dpa_signed", true)
      .Field("region", "eu-central")
      .EndObject()
      .Field("version", 7)
      .Field("created_at", "2026-01-02T09:15:00Z")
      .Field("updated_at", "2026-11-20T16:45:12Z")
      .Field("notes", std::string(380, 'n'))
      .EndObject();
  return pactum::http::Response::Text(200, w.Take(), "application/json");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: pactum_bench_server DATA_DIR READY_FILE\n");
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  pactum::config::Config cfg;
  cfg.server.listen = "127.0.0.1:0";
  cfg.limits.max_connections_per_ip = 10000;
  if (!pactum::MakeDirectories(argv[1], 0700).ok()) return 1;
  auto files = pactum::http::ResolveTlsFiles(argv[1], "", "");
  if (!files.ok()) return 1;
  auto tls = pactum::http::MakeServerTlsContext(files->cert_file, files->key_file);
  if (!tls.ok()) return 1;

  pactum::http::Router router;
  router.Add(pactum::http::Method::kGet, "/inline/contracts/{id}", Contract,
             {.execution = pactum::http::Execution::kInline});
  router.Add(pactum::http::Method::kGet, "/worker/contracts/{id}", Contract);
  // The same document serialized once at start: isolates the server's own cost per request.
  pactum::http::Request sample;
  sample.headers.push_back({"Authorization", std::string(kToken)});
  sample.params.emplace_back("id", "c-1001");
  const std::string prebuilt = Contract(sample).body;
  router.Add(pactum::http::Method::kGet, "/inline/prebuilt/{id}",
             [&prebuilt](pactum::http::Request& req) {
               if (!pactum::crypto::ConstantTimeEquals(req.Header("Authorization"), kToken)) {
                 return pactum::http::Response::Error(pactum::Status(
                     pactum::StatusCode::kUnauthenticated, "authentication required"));
               }
               return pactum::http::Response::Text(200, prebuilt, "application/json");
             },
             {.execution = pactum::http::Execution::kInline});
  pactum::MetricsRegistry metrics;
  pactum::http::Server server(cfg.server, cfg.limits, router, metrics);
  if (!server.Start(*tls).ok()) return 1;
  if (!pactum::WriteFileAtomic(argv[2], server.BaseUrl() + "\n", 0644).ok()) return 1;
  int sig = 0;
  sigwait(&signals, &sig);
  server.Shutdown();
  return 0;
}
