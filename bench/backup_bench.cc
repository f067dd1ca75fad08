// Database backups, in one run against the real encrypted store and two local-directory
// targets (issue 7):
//  1. builds an encrypted database of --mib MiB (default 1024; scripts/bench-backup passes
//  BENCH_BACKUP_MIB) of
//     contract-like rows (names, dates, amounts, a paragraph of varied words: text that
//     compresses about as contract metadata does), then reopens it with external
//     checkpoints, as the server runs with backups on;
//  2. takes a full snapshot with backup::TakeSnapshot to site-a and site-b: snapshot_ms
//     (read, hash, compress, seal into the spool), and TakeSnapshot's copy_ms split into
//     the copies and the verification restore of each copy;
//  3. restores that backup with backup::Restore into a new file;
//  4. the change-log delay: one thread commits small transactions at a steady rate while
//     another runs ChangeLog::Capture() + Upload() at a fixed 1 s rate, as the server's
//     backup-changelog job does. A transaction's delay is the end of the first successful
//     round whose Capture included it minus its commit (the return of Database::Write).
//     Capture reads with writes paused on the writer's mutex, the one Write's callback
//     runs under, so a transaction whose callback started before the round's Capture was
//     called is in it; one whose callback started later is counted in the next round
//     (at worst an over-estimate for a transaction racing the pause).
//  5. the replay cost of the change log, which snapshots by growth bound
//     (backup.snapshot_after_bytes / _transactions): restores of the latest state, first
//     after --replay-txns more small transactions (one row each, as the delay load), then
//     after --replay-mib MiB more of large ones (2000 rows each); each restore's time less
//     the snapshot-only restore of 3 is its replay, and the two give the cost per
//     transaction and per GiB of page images replayed.
// Prints one JSON object on stdout; progress on stderr. The page cache is warm (the
// database was just written), as it is for `restic backup` run after it.
//
//   pactum_bench_backup --dir PARENT [--mib N] [--keep] [--write-rate R] [--write-seconds S]
//                       [--replay-txns T] [--replay-mib M]
//
// --keep leaves the run's directory (PARENT/pactum-backup-bench-XXXXXX, holding
// pactum.db) in place and names it in the JSON ("dir", "db_path"), for scripts/bench-backup
// to back up the same file with restic.

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "backup/backup_target.h"
#include "backup/change_log.h"
#include "backup/local_target.h"
#include "backup/restore.h"
#include "backup/snapshot.h"
#include "common/clock.h"
#include "crypto/random.h"
#include "crypto/secret.h"
#include "store/sqlite_database.h"

namespace {

using namespace pactum;
using Steady = std::chrono::steady_clock;

constexpr uint64_t kMiB = uint64_t{1024} * 1024;

double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A failed step ends the run (caught in main, exit status 1).
[[noreturn]] void Fail(const std::string& what, const Status& s) {
  throw std::runtime_error(what + ": " + s.ToString());
}

// A bad command line (exit status 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void Check(const std::string& what, const Status& s) {
  if (!s.ok()) Fail(what, s);
}

uint64_t FileBytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

// Contract-like rows: repeated vocabulary (party names, clause words) with unique ids,
// dates and amounts, the way contract metadata and notes look.
class ContractText {
 public:
  explicit ContractText(uint64_t seed) : rng_(seed) {}

  std::string Counterparty() {
    static const char* const kFirst[] = {
        "Northwind", "Contoso",   "Fabrikam",    "Litware", "Adatum",     "Tailspin",  "Woodgrove",
        "Proseware", "Lucerne",   "Margie's",    "Alpine",  "Coho",       "Wingtip",   "Fourth",
        "Trey",      "Humongous", "Blue Yonder", "Graphic", "Wide World", "Southridge"};
    static const char* const kSecond[] = {"Traders",   "Logistics", "Holdings", "Systems",
                                          "Insurance", "Partners",  "Foods",    "Energy",
                                          "Software",  "Consulting"};
    static const char* const kForm[] = {"Ltd", "GmbH", "S.A.", "Inc.", "B.V.", "AG", "LLP"};
    return std::string(Pick(kFirst)) + " " + Pick(kSecond) + " " + Pick(kForm);
  }

  std::string Person() {
    static const char* const kGiven[] = {
        "Anna",  "Ben",   "Chiara", "David", "Elif", "Femi",  "Grace",   "Hiro", "Ines", "Jonas",
        "Kavya", "Lukas", "Maria",  "Nils",  "Olga", "Pablo", "Quentin", "Rosa", "Sven", "Tariq"};
    static const char* const kFamily[] = {"Schmidt", "Rossi",    "Dubois", "Nowak",  "Garcia",
                                          "Jensen",  "Okafor",   "Tanaka", "Silva",  "Müller",
                                          "Smith",   "Kowalski", "Novak",  "Larsen", "Moreau"};
    return std::string(Pick(kGiven)) + " " + Pick(kFamily);
  }

  std::string Date(int from_year, int years) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", from_year + Below(years), 1 + Below(12),
                  1 + Below(28));
    return buf;
  }

  std::string Title() {
    static const char* const kKind[] = {"Master Services Agreement", "Non-Disclosure Agreement",
                                        "Software License",          "Hosting Agreement",
                                        "Data Processing Addendum",  "Supply Agreement",
                                        "Maintenance Contract",      "Statement of Work",
                                        "Framework Agreement",       "Lease"};
    return std::string(Pick(kKind)) + " — " + Counterparty() + " " + Date(2019, 8).substr(0, 4);
  }

  // 40 to 140 words, clause vocabulary weighted towards the common words (roughly Zipf),
  // with the odd number, date or name.
  std::string Paragraph() {
    static const char* const kWords[] = {"the",
                                         "of",
                                         "and",
                                         "to",
                                         "shall",
                                         "party",
                                         "agreement",
                                         "in",
                                         "any",
                                         "or",
                                         "this",
                                         "such",
                                         "be",
                                         "by",
                                         "with",
                                         "services",
                                         "notice",
                                         "for",
                                         "days",
                                         "written",
                                         "term",
                                         "payment",
                                         "customer",
                                         "supplier",
                                         "parties",
                                         "provided",
                                         "under",
                                         "without",
                                         "termination",
                                         "obligations",
                                         "confidential",
                                         "information",
                                         "liability",
                                         "rights",
                                         "including",
                                         "applicable",
                                         "law",
                                         "reasonable",
                                         "prior",
                                         "consent",
                                         "renewal",
                                         "indemnify",
                                         "warranty",
                                         "breach",
                                         "invoice",
                                         "within",
                                         "thirty",
                                         "fees",
                                         "license",
                                         "data",
                                         "processing",
                                         "subject",
                                         "governing",
                                         "jurisdiction",
                                         "arbitration",
                                         "escrow",
                                         "audit",
                                         "security",
                                         "availability",
                                         "support",
                                         "response",
                                         "service",
                                         "level",
                                         "credits",
                                         "exclusive",
                                         "non-exclusive",
                                         "territory",
                                         "deliverables",
                                         "acceptance",
                                         "milestone",
                                         "amendment",
                                         "assignment",
                                         "force",
                                         "majeure",
                                         "insurance",
                                         "limitation",
                                         "damages",
                                         "indirect",
                                         "consequential",
                                         "gross",
                                         "negligence",
                                         "wilful",
                                         "misconduct",
                                         "survive",
                                         "expiry",
                                         "automatically",
                                         "extended",
                                         "successive",
                                         "periods",
                                         "unless",
                                         "terminated",
                                         "either",
                                         "upon",
                                         "material",
                                         "remedied",
                                         "personal",
                                         "controller",
                                         "processor",
                                         "sub-processor",
                                         "transfer"};
    constexpr int kCount = sizeof(kWords) / sizeof(kWords[0]);
    std::string out;
    const int n = 40 + Below(100);
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += ' ';
      const int r = Below(100);
      if (r < 2) {
        out += std::to_string(Below(100000));
      } else if (r < 3) {
        out += Date(2020, 10);
      } else if (r < 4) {
        out += Person();
      } else {
        // Skewed towards low indices: the square of a uniform draw.
        const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
        out += kWords[static_cast<int>(u * u * kCount)];
      }
      if (Below(12) == 0) out += '.';
    }
    return out;
  }

  int Below(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }

 private:
  template <size_t N>
  const char* Pick(const char* const (&list)[N]) {
    return list[rng_() % N];
  }

  std::mt19937_64 rng_;
};

Status InsertContract(store::Session& s, ContractText& text, int64_t id) {
  static const char* const kStatus[] = {"draft",  "active",  "active",
                                        "active", "expired", "terminated"};
  static const char* const kCurrency[] = {"EUR", "EUR", "USD", "GBP", "CHF"};
  return s
      .Execute(
          "INSERT INTO bench_contracts (id, reference, title, counterparty, owner, status, "
          "start_date, end_date, value_cents, currency, notes) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
          {id, "PCT-" + std::to_string(2019 + id % 8) + "-" + std::to_string(100000 + id),
           text.Title(), text.Counterparty(), text.Person(), std::string(kStatus[text.Below(6)]),
           text.Date(2019, 6), text.Date(2025, 6),
           static_cast<int64_t>(text.Below(50000000)) * 100 + text.Below(100),
           std::string(kCurrency[text.Below(5)]), text.Paragraph()})
      .status();
}

std::shared_ptr<const crypto::SecretBytes> NewKey() {
  auto key = std::make_shared<crypto::SecretBytes>(32);
  crypto::RandomBytes(key->span());
  return key;
}

std::unique_ptr<store::Database> OpenDb(const std::string& path,
                                        const std::shared_ptr<const crypto::SecretBytes>& key,
                                        bool external_checkpoints, bool synchronous_full) {
  store::SqliteOptions o;
  o.path = path;
  o.key = key;
  o.external_checkpoints = external_checkpoints;
  o.synchronous_full = synchronous_full;
  auto db = store::OpenSqliteDatabase(o);
  if (!db.ok()) Fail("open " + path, db.status());
  return std::move(db).value();
}

// Fills the database until the file and its WAL hold `target_bytes`. SQLite checkpoints
// by itself here (no external checkpoints yet), so the WAL stays small.
int64_t BuildDatabase(store::Database& db, const std::string& path, uint64_t target_bytes) {
  Check("create table", db.Write([](store::Session& s) -> Status {
    return s
        .Execute(
            "CREATE TABLE bench_contracts (id INTEGER PRIMARY KEY, reference TEXT NOT NULL, "
            "title TEXT NOT NULL, counterparty TEXT NOT NULL, owner TEXT NOT NULL, "
            "status TEXT NOT NULL, start_date TEXT NOT NULL, end_date TEXT NOT NULL, "
            "value_cents INTEGER NOT NULL, currency TEXT NOT NULL, notes TEXT NOT NULL)")
        .status();
  }));
  Check("create index", db.Write([](store::Session& s) -> Status {
    return s.Execute("CREATE INDEX bench_contracts_end ON bench_contracts (end_date, status)")
        .status();
  }));
  ContractText text(20261127);
  int64_t rows = 0;
  constexpr int kBatch = 2000;
  while (FileBytes(path) + FileBytes(path + "-wal") < target_bytes) {
    Check("insert", db.Write([&](store::Session& s) -> Status {
      for (int i = 0; i < kBatch; ++i) {
        RETURN_IF_ERROR(InsertContract(s, text, ++rows));
      }
      return Status::Ok();
    }));
    if (rows % 100000 == 0) {
      std::cerr << "  " << rows << " rows, " << (FileBytes(path) + FileBytes(path + "-wal")) / kMiB
                << " MiB\n";
    }
  }
  return rows;
}

std::unique_ptr<backup::BackupTarget> Target(const std::string& name, const std::string& dir) {
  auto t = backup::OpenLocalTarget(LocalFileSystem(), name, dir);
  if (!t.ok()) Fail("target " + name, t.status());
  return std::move(t).value();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(std::llround(p * static_cast<double>(v.size() - 1)));
  return v[std::min(i, v.size() - 1)];
}

struct Options {
  std::string parent;
  uint64_t mib = 1024;
  bool keep = false;
  int write_rate = 200;       // transactions per second
  int write_seconds = 20;     // of steady load
  int interval_ms = 1000;     // the change-log rate (BackupServiceOptions::interval_ms)
  int replay_txns = 20000;    // small transactions added before the first replay restore
  uint64_t replay_mib = 256;  // MiB of large transactions added before the second
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--dir") {
      o.parent = next();
    } else if (a == "--mib") {
      o.mib = std::stoull(next());
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--write-rate") {
      o.write_rate = std::stoi(next());
    } else if (a == "--write-seconds") {
      o.write_seconds = std::stoi(next());
    } else if (a == "--replay-txns") {
      o.replay_txns = std::stoi(next());
    } else if (a == "--replay-mib") {
      o.replay_mib = std::stoull(next());
    } else {
      throw UsageError("unknown argument " + a);
    }
  }
  if (o.parent.empty() || o.mib == 0 || o.write_rate <= 0 || o.write_seconds <= 0 ||
      o.replay_txns < 0) {
    throw UsageError("--dir is required; sizes and rates must be positive");
  }
  return o;
}

int Run(const Options& opt) {
  std::filesystem::create_directories(opt.parent);
  std::string tmpl = opt.parent + "/pactum-backup-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = tmpl;
  const std::string db_path = dir + "/pactum.db";
  const auto db_key = NewKey();
  nlohmann::json out;
  out["database_mib_target"] = opt.mib;
  out["cores"] = std::thread::hardware_concurrency();

  // 1. The database.
  std::cerr << "building a " << opt.mib << " MiB database in " << dir << "\n";
  {
    const auto start = Steady::now();
    auto db = OpenDb(db_path, db_key, /*external_checkpoints=*/false, /*synchronous_full=*/false);
    out["rows"] = BuildDatabase(*db, db_path, opt.mib * kMiB);
    db.reset();  // checkpoints the WAL into the file
    out["build_ms"] = Ms(Steady::now() - start);
  }
  const uint64_t db_bytes = FileBytes(db_path);
  out["database_bytes"] = db_bytes;
  std::cerr << "database: " << db_bytes << " bytes (" << db_bytes / kMiB << " MiB)\n";

  auto db = OpenDb(db_path, db_key, /*external_checkpoints=*/true, /*synchronous_full=*/true);
  // One write before the snapshot, as a server that has just started would have made.
  Check("first write", db->Write([](store::Session& s) -> Status {
    return s.Execute("UPDATE bench_contracts SET status = 'active' WHERE id = 1").status();
  }));
  auto spool = Target("spool", dir + "/backup-spool");
  auto site_a = Target("site-a", dir + "/site-a");
  auto site_b = Target("site-b", dir + "/site-b");
  const std::vector<backup::BackupTarget*> targets = {site_a.get(), site_b.get()};
  backup::BackupKey key;
  key.version = 1;
  key.key = crypto::SecretBytes(32);
  crypto::RandomBytes(key.key.span());
  const backup::BackupKeyLookup keys = [&key](uint32_t v) -> Result<crypto::SecretBytes> {
    if (v != key.version) return NotFound("no such backup key version");
    return crypto::SecretBytes::CopyOf(key.key.span());
  };
  SystemClock clock;
  backup::BackupKey log_key;
  log_key.version = key.version;
  log_key.key = crypto::SecretBytes::CopyOf(key.key.span());
  auto opened = backup::ChangeLog::Open(*db->Changes(), std::move(log_key), *spool,
                                        dir + "/backup-spool-state.json", targets, clock,
                                        backup::ChangeLogOptions{});
  if (!opened.ok()) Fail("change log", opened.status());
  std::unique_ptr<backup::ChangeLog> log = std::move(opened).value();

  // 2. The full snapshot to both targets.
  std::cerr << "snapshot to site-a and site-b\n";
  {
    backup::SnapshotOptions so;
    so.scratch_dir = dir + "/scratch";
    so.environment = "bench";
    const auto start = Steady::now();
    auto snap = backup::TakeSnapshot(*log, *db->Changes(), key, *spool, targets, clock, so);
    const double wall_ms = Ms(Steady::now() - start);
    if (!snap.ok()) Fail("snapshot", snap.status());
    int64_t verify_ms = 0;
    nlohmann::json per_target = nlohmann::json::array();
    for (const backup::TargetOutcome& o : snap->outcomes) {
      if (!o.status.ok() || !o.verification.ok) {
        std::cerr << "backup_bench: snapshot on " << o.target << " failed: " << o.status.ToString()
                  << " " << o.verification.error << "\n";
        return 1;
      }
      verify_ms += o.verification.restore_ms;
      per_target.push_back({{"target", o.target}, {"verify_ms", o.verification.restore_ms}});
    }
    const backup::Manifest& m = snap->manifest;
    const int64_t copy_only_ms = snap->copy_ms;  // the copies alone (verify_ms apart)
    const double mb = static_cast<double>(db_bytes) / 1e6;
    nlohmann::json s;
    s["id"] = m.id;
    s["plain_bytes"] = m.plain_bytes;
    s["stored_bytes"] = m.stored_bytes;
    s["compression_ratio"] =
        static_cast<double>(m.plain_bytes) / static_cast<double>(m.stored_bytes);
    s["snapshot_ms"] = snap->snapshot_ms;
    s["copy_ms"] = copy_only_ms;
    s["verify_ms"] = snap->verify_ms;  // restores of every copy and the manifests
    s["verify_restore_ms"] = verify_ms;
    s["targets"] = per_target;
    s["wall_ms"] = wall_ms;
    s["mb_per_s"] = mb / (static_cast<double>(snap->snapshot_ms + copy_only_ms) / 1000.0);
    s["mb_per_s_with_verify"] =
        mb / (static_cast<double>(snap->snapshot_ms + snap->copy_ms + snap->verify_ms) / 1000.0);
    s["snapshot_stage_mb_per_s"] = mb / (static_cast<double>(snap->snapshot_ms) / 1000.0);
    out["snapshot"] = s;
  }

  // 3. Restore of that backup into a new file.
  std::cerr << "restore\n";
  double snapshot_restore_ms = 0;
  {
    backup::RestoreRequest r;
    r.db_path = dir + "/restored.db";
    r.db_key = crypto::SecretBytes(32);
    crypto::RandomBytes(r.db_key.span());
    r.targets = targets;
    r.keys = keys;
    r.environment = "bench";
    const auto start = Steady::now();
    auto report = backup::Restore(r);
    const double ms = Ms(Steady::now() - start);
    if (!report.ok()) Fail("restore", report.status());
    if (!report->check.integrity_ok) {
      std::cerr << "backup_bench: restored database: " << report->check.integrity << "\n";
      return 1;
    }
    snapshot_restore_ms = ms;
    out["restore"] = {{"ms", ms},
                      {"bytes", FileBytes(r.db_path)},
                      {"segments", report->segments},
                      {"from", report->snapshot_target},
                      {"mb_per_s", static_cast<double>(db_bytes) / 1e6 / (ms / 1000.0)}};
    std::filesystem::remove(r.db_path);
  }

  // 4. Change-log delay under a steady write load.
  std::cerr << "change-log delay: " << opt.write_rate << " txn/s for " << opt.write_seconds
            << " s, shipping every " << opt.interval_ms << " ms\n";
  {
    const size_t total = static_cast<size_t>(opt.write_rate) * opt.write_seconds;
    std::vector<Steady::time_point> callback_at(total);  // the transaction began (lock held)
    std::vector<Steady::time_point> committed_at(total);
    std::atomic<size_t> committed{0};
    std::atomic<bool> writer_done{false};
    std::atomic<int64_t> write_errors{0};
    const auto load_start = Steady::now() + std::chrono::milliseconds(200);
    std::thread writer([&] {
      ContractText text(7);
      const auto period = std::chrono::nanoseconds(1000000000LL / opt.write_rate);
      for (size_t i = 0; i < total; ++i) {
        std::this_thread::sleep_until(load_start + period * static_cast<int64_t>(i));
        const Status s = db->Write([&](store::Session& session) -> Status {
          callback_at[i] = Steady::now();
          return session
              .Execute("UPDATE bench_contracts SET status = $1, notes = $2 WHERE id = $3",
                       {std::string("active"), text.Paragraph().substr(0, 200),
                        static_cast<int64_t>(1 + i)})
              .status();
        });
        committed_at[i] = Steady::now();
        if (!s.ok()) write_errors.fetch_add(1);
        committed.store(i + 1, std::memory_order_release);
      }
      writer_done.store(true);
    });

    // Rounds: (time the Capture was called, end of the round's Upload), successful only.
    std::vector<std::pair<Steady::time_point, Steady::time_point>> rounds;
    std::vector<double> capture_ms;
    std::vector<double> upload_ms;
    int failed_rounds = 0;
    auto next = load_start;
    bool last = false;
    while (true) {
      std::this_thread::sleep_until(next);
      last = writer_done.load();
      const auto round_start = Steady::now();
      const Status c = log->Capture();
      const auto captured = Steady::now();
      const Status u = c.ok() ? log->Upload() : c;
      const auto end = Steady::now();
      if (c.ok() && u.ok()) {
        rounds.emplace_back(round_start, end);
        capture_ms.push_back(Ms(captured - round_start));
        upload_ms.push_back(Ms(end - captured));
      } else {
        ++failed_rounds;
        std::cerr << "  round failed: " << (c.ok() ? u : c).ToString() << "\n";
      }
      if (last && c.ok() && u.ok()) break;
      next += std::chrono::milliseconds(opt.interval_ms);
      const auto now = Steady::now();
      if (next < now) next = now;
    }
    writer.join();

    std::vector<double> delays;
    delays.reserve(total);
    size_t round = 0;
    for (size_t i = 0; i < committed.load(); ++i) {
      while (round < rounds.size() && rounds[round].first <= callback_at[i]) ++round;
      if (round == rounds.size()) break;  // cannot happen: the last round follows the writer
      delays.push_back(Ms(rounds[round].second - committed_at[i]));
    }
    const double achieved =
        static_cast<double>(total) /
        std::chrono::duration<double>(committed_at[total - 1] - callback_at[0]).count();
    out["change_log"] = {{"write_rate_target", opt.write_rate},
                         {"write_rate", achieved},
                         {"write_seconds", opt.write_seconds},
                         {"transactions", total},
                         {"measured", delays.size()},
                         {"write_errors", write_errors.load()},
                         {"interval_ms", opt.interval_ms},
                         {"rounds", rounds.size()},
                         {"failed_rounds", failed_rounds},
                         {"delay_p50_ms", Percentile(delays, 0.50)},
                         {"delay_p99_ms", Percentile(delays, 0.99)},
                         {"delay_max_ms", Percentile(delays, 1.0)},
                         {"capture_p50_ms", Percentile(capture_ms, 0.5)},
                         {"capture_max_ms", Percentile(capture_ms, 1.0)},
                         {"upload_p50_ms", Percentile(upload_ms, 0.5)},
                         {"upload_max_ms", Percentile(upload_ms, 1.0)}};
  }

  // 5. Replay cost: the restore of the latest state less the snapshot-only restore.
  {
    const auto ship = [&] {
      Check("capture", log->Capture());
      Check("upload", log->Upload());
    };
    const auto restore_latest = [&](const char* what) {
      const backup::LogGrowth g = log->growth();
      backup::RestoreRequest r;
      r.db_path = dir + "/replayed.db";
      r.db_key = crypto::SecretBytes(32);
      crypto::RandomBytes(r.db_key.span());
      r.targets = {site_b.get()};
      r.keys = keys;
      r.environment = "bench";
      const auto start = Steady::now();
      auto report = backup::Restore(r);
      const double ms = Ms(Steady::now() - start);
      if (!report.ok()) Fail(std::string("restore ") + what, report.status());
      std::filesystem::remove(r.db_path);
      std::cerr << "  restore after " << what << ": " << ms << " ms, " << report->commits
                << " transactions, " << g.page_bytes / kMiB << " MiB of pages replayed\n";
      return nlohmann::json{{"ms", ms},
                            {"replay_ms", ms - snapshot_restore_ms},
                            {"transactions", report->commits},
                            {"segments", report->segments},
                            {"page_bytes", g.page_bytes}};
    };
    std::cerr << "replay: " << opt.replay_txns << " small transactions\n";
    ContractText text(11);
    for (int i = 0; i < opt.replay_txns; ++i) {
      Check("small write", db->Write([&](store::Session& s) -> Status {
        return s
            .Execute("UPDATE bench_contracts SET status = $1, notes = $2 WHERE id = $3",
                     {std::string("expired"), text.Paragraph().substr(0, 200),
                      static_cast<int64_t>(1 + i % 100000)})
            .status();
      }));
      if (i % 5000 == 4999) ship();
    }
    ship();
    const nlohmann::json small = restore_latest("small transactions");
    std::cerr << "replay: " << opt.replay_mib << " MiB of large transactions\n";
    int64_t id = 10'000'000;
    const uint64_t target = log->growth().page_bytes + opt.replay_mib * kMiB;
    while (log->growth().page_bytes < target) {
      Check("large write", db->Write([&](store::Session& s) -> Status {
        for (int i = 0; i < 2000; ++i) RETURN_IF_ERROR(InsertContract(s, text, ++id));
        return Status::Ok();
      }));
      ship();
    }
    const nlohmann::json large = restore_latest("large transactions");
    // replay_ms = per_txn * transactions + per_byte * page_bytes, solved for both runs.
    const double t1 = small["transactions"].get<double>();
    const double b1 = small["page_bytes"].get<double>();
    const double m1 = small["replay_ms"].get<double>();
    const double t2 = large["transactions"].get<double>();
    const double b2 = large["page_bytes"].get<double>();
    const double m2 = large["replay_ms"].get<double>();
    const double det = t1 * b2 - t2 * b1;
    const double per_txn = det != 0 ? (m1 * b2 - m2 * b1) / det : 0;
    const double per_byte = det != 0 ? (t1 * m2 - t2 * m1) / det : 0;
    out["replay"] = {{"after_small", small},
                     {"after_large", large},
                     {"ms_per_100k_transactions", per_txn * 100000},
                     {"ms_per_gib_of_pages", per_byte * static_cast<double>(1024 * kMiB)}};
  }

  log.reset();
  db.reset();
  out["database_bytes_at_end"] = FileBytes(db_path);
  if (opt.keep) {
    out["dir"] = dir;
    out["db_path"] = db_path;
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::cout << out.dump() << "\n";
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    opt = ParseArgs(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "backup_bench: " << e.what()
              << "\nusage: pactum_bench_backup --dir PARENT [--mib N] [--keep] "
                 "[--write-rate R] [--write-seconds S] [--replay-txns T] [--replay-mib M]\n";
    return 2;
  }
  try {
    return Run(opt);
  } catch (const std::exception& e) {
    std::cerr << "backup_bench: " << e.what() << "\n";
    return 1;
  }
}
