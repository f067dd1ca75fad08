// The audit trail's verification speed (target: 500k events/s on one core) and append
// rate. Each round makes a fresh encrypted database (the server's defaults: WAL,
// synchronous=FULL, 32 MiB page cache) in a temporary directory, appends N request-shaped
// events to one chain with SqlAuditLog::AppendBatch (1000 per batch, as the request
// recorder writes them), signs a checkpoint of the head, then runs VerifyChain over the
// whole chain on the calling thread. Medians of the rounds; both the wall time and the
// thread's CPU time are reported, since the machine may be shared.
//
//   pactum_bench_audit_verify [--events N] [--rounds R] [--json]

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/sql_audit_log.h"
#include "audit/verifier.h"
#include "crypto/random.h"
#include "store/sqlite_database.h"

namespace {

using pactum::audit::Event;

constexpr int kBatch = 1000;
constexpr int64_t kTenant = 1;

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// What the request stream records for one API call (about 300 bytes a row).
Event RequestEvent(int64_t i) {
  Event e;
  e.stream = pactum::audit::Stream::kRequest;
  e.action = "http.request";
  e.target = "/api/v1/contracts/{id}";
  e.actor.tenant_id = kTenant;
  e.actor.user_id = 1 + i % 50;
  e.actor.ip = "192.0.2.";
  e.actor.ip += std::to_string(i % 250);
  e.actor.request_id = "req-";
  e.actor.request_id += std::to_string(1000000 + i);
  e.actor.user_agent = "Mozilla/5.0 (X11; Linux x86_64) pactum-bench";
  e.details = {{"method", i % 5 == 0 ? "PATCH" : "GET"},
               {"status", i % 97 == 0 ? 404 : 200},
               {"bytes", 900 + i % 300},
               {"duration_ms", i % 13}};
  return e;
}

struct Round {
  double append_wall = 0;
  double verify_wall = 0;
  double verify_cpu = 0;
};

[[noreturn]] void Fail(const std::string& what, const pactum::Status& s) {
  throw std::runtime_error(what + ": " + s.ToString());
}

Round RunRound(const std::filesystem::path& dir, int64_t events) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  pactum::store::SqliteOptions o;
  o.path = (dir / "pactum.db").string();
  auto key = std::make_shared<pactum::crypto::SecretBytes>(32);
  pactum::crypto::RandomBytes(key->span());
  o.key = key;
  auto db = pactum::store::OpenSqliteDatabase(o);
  if (!db.ok()) Fail("opening the database", db.status());
  const pactum::Status tenant = (*db)->Write([](pactum::store::Session& s) {
    return s.Execute("INSERT INTO tenants (id, slug, created_at) VALUES (1, 'bench', 'x')")
        .status();
  });
  if (!tenant.ok()) Fail("creating the tenant", tenant);
  pactum::crypto::SecretBytes seed(32);
  pactum::crypto::RandomBytes(seed.span());
  auto signer = pactum::audit::AuditSigner::FromSeed(seed.span());
  if (!signer.ok()) Fail("signer", signer.status());
  auto redact = signer->RedactKey();
  if (!redact.ok()) Fail("redact key", redact.status());
  const pactum::SystemClock clock;
  pactum::audit::SqlAuditLog log(**db, clock, std::move(redact).value());

  Round r;
  std::vector<Event> batch;
  batch.reserve(kBatch);
  for (int64_t i = 0; i < events; i += kBatch) {
    batch.clear();  // making the events is the caller's work: not timed
    for (int64_t j = i; j < std::min(events, i + kBatch); ++j) batch.push_back(RequestEvent(j));
    const double start = WallSeconds();
    if (pactum::Status s = log.AppendBatch(batch); !s.ok()) Fail("appending", s);
    r.append_wall += WallSeconds() - start;
  }

  pactum::audit::CheckpointFile file(pactum::LocalFileSystem(),
                                     (dir / "audit-checkpoints.jsonl").string());
  pactum::audit::Checkpointer checkpointer(log, file, *signer, clock, {});
  auto signed_count = checkpointer.Run(/*force=*/true);
  if (!signed_count.ok()) Fail("signing", signed_count.status());
  auto checkpoints = file.ReadAll();
  if (!checkpoints.ok()) Fail("reading checkpoints", checkpoints.status());

  const double wall = WallSeconds();
  const double cpu = ThreadCpuSeconds();
  auto report = pactum::audit::VerifyChain(log, *checkpoints, signer->public_key(), kTenant, {});
  r.verify_cpu = ThreadCpuSeconds() - cpu;
  r.verify_wall = WallSeconds() - wall;
  if (!report.ok()) Fail("verifying", report.status());
  if (report->problem || report->events != events || report->checkpointed_seq != events) {
    throw std::runtime_error("the chain did not verify (" + std::to_string(report->events) +
                             " events)");
  }
  db->reset();
  std::filesystem::remove_all(dir);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t events = 1000000;
  int rounds = 3;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--events" && i + 1 < argc) {
      events = std::max<int64_t>(kBatch, std::strtoll(argv[++i], nullptr, 10));
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, static_cast<int>(std::strtol(argv[++i], nullptr, 10)));
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "usage: pactum_bench_audit_verify [--events N] [--rounds R] [--json]\n");
      return 2;
    }
  }
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("pactum_bench_audit_" + std::to_string(::getpid()));
  std::vector<double> append_rate;
  std::vector<double> verify_rate;
  std::vector<double> verify_cpu_rate;
  for (int i = 0; i < rounds; ++i) {
    Round r;
    try {
      r = RunRound(dir, events);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "pactum_bench_audit_verify: %s\n", e.what());
      std::filesystem::remove_all(dir);
      return 1;
    }
    const auto n = static_cast<double>(events);
    append_rate.push_back(n / r.append_wall);
    verify_rate.push_back(n / r.verify_wall);
    verify_cpu_rate.push_back(n / r.verify_cpu);
    if (!json) {
      std::printf("round %d: append %.0f events/s, verify %.0f events/s (%.0f per CPU second)\n",
                  i + 1, n / r.append_wall, n / r.verify_wall, n / r.verify_cpu);
    }
  }
  const double verify = Median(verify_rate);
  if (json) {
    std::printf(
        "{\"events\":%lld,\"rounds\":%d,\"append_events_per_s\":%.0f,"
        "\"verify_events_per_s\":%.0f,\"verify_events_per_cpu_s\":%.0f,\"verify_ratio\":%.2f}\n",
        static_cast<long long>(events), rounds, Median(append_rate), verify,
        Median(verify_cpu_rate), verify / 500000.0);
  } else {
    std::printf("%lld events in one chain, %d rounds (medians):\n", static_cast<long long>(events),
                rounds);
    std::printf("  append (AppendBatch, %d a batch)   %10.0f events/s\n", kBatch,
                Median(append_rate));
    std::printf(
        "  verify (VerifyChain, one thread)    %10.0f events/s   ratio %.2f  "
        "(target >= 500000)\n",
        verify, verify / 500000.0);
    std::printf("  verify per CPU second               %10.0f events/s\n", Median(verify_cpu_rate));
  }
  return 0;
}
