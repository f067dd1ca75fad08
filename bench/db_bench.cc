// The encrypted database against plain SQLite, same workload, same run, same machine:
// contract-shaped rows with a full-text index, inserted in batches and one per
// transaction, then point reads by id and full-text queries. Both use 4096-byte pages,
// WAL and synchronous=NORMAL (no fsync per commit, so the cost of encryption is not
// hidden behind the disk) and the server's page cache (database.cache_mib, 32 MiB). Point
// reads run twice: with that cache, and with a 2 MiB cache against a database 30x larger,
// so that almost every read decrypts a page (the worst case). Rounds alternate plain and
// encrypted; the median of each is reported with the ratio encrypted / plain.
//
//   pactum_bench_db [--rows N] [--rounds R] [--json]

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "store/encrypted_vfs.h"

namespace {

using Clock = std::chrono::steady_clock;

const char* const kWords[] = {"renewal",  "indemnity", "liability", "termination", "notice",
                              "payment",  "services",  "hosting",   "license",     "warranty",
                              "audit",    "privacy",   "security",  "escrow",      "support",
                              "delivery", "pricing",   "exclusive", "governing",   "arbitration"};
constexpr int kWordCount = sizeof(kWords) / sizeof(kWords[0]);

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
  }
}

void Exec(sqlite3* db, const char* sql) {
  Check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db, sql);
}

struct Phase {
  const char* name;
  const char* unit;
  double per_second;
};

class Workload {
 public:
  Workload(const std::string& path, const char* vfs, bool encrypted) {
    Check(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), db_,
          "open");
    Exec(db_, "PRAGMA temp_store=MEMORY; PRAGMA journal_mode=MEMORY; PRAGMA page_size=4096;");
    if (encrypted) {  // as the server lays out a new file
      int reserve = pactum::store::kEncryptedReserveBytes;
      Check(sqlite3_file_control(db_, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve), db_,
            "reserve");
    }
    Exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768;");
    Exec(db_,
         "CREATE TABLE contracts (id INTEGER PRIMARY KEY, title TEXT, counterparty TEXT, "
         "status TEXT, end_date TEXT, value_cents INTEGER, notes TEXT);"
         "CREATE INDEX contracts_end ON contracts(end_date);"
         "CREATE VIRTUAL TABLE contracts_fts USING fts5(title, notes, content='contracts', "
         "content_rowid='id');");
    Check(sqlite3_prepare_v2(db_, "INSERT INTO contracts VALUES (?, ?, ?, ?, ?, ?, ?)", -1,
                             &insert_, nullptr),
          db_, "prepare");
    Check(
        sqlite3_prepare_v2(db_, "INSERT INTO contracts_fts (rowid, title, notes) VALUES (?, ?, ?)",
                           -1, &insert_fts_, nullptr),
        db_, "prepare");
  }
  ~Workload() {
    sqlite3_finalize(insert_);
    sqlite3_finalize(insert_fts_);
    sqlite3_close_v2(db_);
  }
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  Phase InsertBatches(int rows, int batch) {
    const auto start = Clock::now();
    for (int i = 0; i < rows; i += batch) {
      Exec(db_, "BEGIN");
      for (int j = i; j < std::min(rows, i + batch); ++j) InsertRow(j);
      Exec(db_, "COMMIT");
    }
    return {"insert, 100 rows per transaction", "rows/s", rows / Seconds(start)};
  }

  Phase InsertSingles(int first, int count) {
    const auto start = Clock::now();
    for (int j = first; j < first + count; ++j) {
      Exec(db_, "BEGIN");
      InsertRow(j);
      Exec(db_, "COMMIT");
    }
    return {"insert, 1 row per transaction", "txn/s", count / Seconds(start)};
  }

  void Checkpoint() { Exec(db_, "PRAGMA wal_checkpoint(TRUNCATE);"); }

  void SmallCache() { Exec(db_, "PRAGMA cache_size=-2048;"); }

  Phase PointReads(int rows, int count, const char* name) {
    sqlite3_stmt* q = nullptr;
    Check(sqlite3_prepare_v2(db_, "SELECT title, counterparty, notes FROM contracts WHERE id = ?",
                             -1, &q, nullptr),
          db_, "prepare");
    const auto start = Clock::now();
    int64_t bytes = 0;
    for (int i = 0; i < count; ++i) {
      sqlite3_bind_int(q, 1, static_cast<int>(rng_() % static_cast<unsigned>(rows)));
      if (sqlite3_step(q) == SQLITE_ROW) bytes += sqlite3_column_bytes(q, 2);
      sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    if (bytes == 0) throw std::runtime_error("point reads found nothing");
    return {name, "reads/s", count / Seconds(start)};
  }

  Phase FullText(int count) {
    sqlite3_stmt* q = nullptr;
    Check(sqlite3_prepare_v2(db_,
                             "SELECT rowid FROM contracts_fts WHERE contracts_fts MATCH ? "
                             "ORDER BY rank LIMIT 20",
                             -1, &q, nullptr),
          db_, "prepare");
    const auto start = Clock::now();
    int64_t hits = 0;
    for (int i = 0; i < count; ++i) {
      const std::string match = Clause(rng_() % kClauses);  // in about 1 row of 250
      sqlite3_bind_text(q, 1, match.c_str(), -1, SQLITE_TRANSIENT);
      while (sqlite3_step(q) == SQLITE_ROW) ++hits;
      sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    if (hits == 0) throw std::runtime_error("full-text queries found nothing");
    return {"full-text query, top 20", "queries/s", count / Seconds(start)};
  }

 private:
  static double Seconds(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  static constexpr unsigned kClauses = 10000;
  static std::string Clause(unsigned n) { return "clause" + std::to_string(n); }

  void InsertRow(int id) {
    std::string notes;
    for (int w = 0; w < 40; ++w) {  // 20 common words and 20 of 10,000 rarer ones
      notes += w % 2 == 0 ? std::string(kWords[rng_() % kWordCount]) : Clause(rng_() % kClauses);
      notes += ' ';
    }
    const std::string title = std::string("Agreement ") + std::to_string(id) + " " +
                              kWords[rng_() % kWordCount] + " " + kWords[rng_() % kWordCount];
    const std::string counterparty = "Counterparty " + std::to_string(rng_() % 5000) + " GmbH";
    char end_date[16];
    std::snprintf(end_date, sizeof end_date, "20%02lu-%02lu-%02lu", 26 + rng_() % 5,
                  1 + rng_() % 12, 1 + rng_() % 28);
    sqlite3_bind_int(insert_, 1, id);
    sqlite3_bind_text(insert_, 2, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_, 3, counterparty.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_, 4, "active", -1, SQLITE_STATIC);
    sqlite3_bind_text(insert_, 5, end_date, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert_, 6, static_cast<int64_t>(rng_() % 100000000));
    sqlite3_bind_text(insert_, 7, notes.c_str(), -1, SQLITE_TRANSIENT);
    Check(sqlite3_step(insert_), db_, "insert");
    sqlite3_reset(insert_);
    sqlite3_bind_int(insert_fts_, 1, id);
    sqlite3_bind_text(insert_fts_, 2, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_fts_, 3, notes.c_str(), -1, SQLITE_TRANSIENT);
    Check(sqlite3_step(insert_fts_), db_, "insert fts");
    sqlite3_reset(insert_fts_);
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* insert_fts_ = nullptr;
  std::mt19937 rng_{42};  // NOLINT(cert-msc51-cpp): the same workload in every run
};

std::vector<Phase> RunOnce(const std::string& dir, bool encrypted, int rows, const char* vfs_name) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Workload w(dir + "/bench.db", encrypted ? vfs_name : nullptr, encrypted);
  std::vector<Phase> out;
  out.push_back(w.InsertBatches(rows, 100));
  out.push_back(w.InsertSingles(rows, 5000));
  w.Checkpoint();
  out.push_back(w.PointReads(rows, 200000, "point read by id"));
  out.push_back(w.FullText(2000));
  w.SmallCache();
  out.push_back(w.PointReads(rows, 200000, "point read, 2 MiB cache (worst case)"));
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rows = 100000;
  int rounds = 3;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rows" && i + 1 < argc) {
      rows = std::max(1000, static_cast<int>(std::strtol(argv[++i], nullptr, 10)));
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, static_cast<int>(std::strtol(argv[++i], nullptr, 10)));
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "usage: pactum_bench_db [--rows N] [--rounds R] [--json]\n");
      return 2;
    }
  }
  pactum::crypto::SecretBytes key(32);
  pactum::crypto::RandomBytes(key.span());
  auto vfs = pactum::store::EncryptedVfs::Register(std::move(key));
  if (!vfs.ok()) {
    std::fprintf(stderr, "pactum_bench_db: %s\n", vfs.status().message().c_str());
    return 1;
  }
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("pactum_bench_db_" + std::to_string(getpid())))
          .string();
  std::map<std::string, std::vector<double>> plain;
  std::map<std::string, std::vector<double>> encrypted;
  std::vector<Phase> shape;
  try {
    for (int r = 0; r < rounds; ++r) {
      for (const bool enc : {false, true}) {
        std::fprintf(stderr, "round %d/%d: %s ...\n", r + 1, rounds, enc ? "encrypted" : "plain");
        const auto phases = RunOnce(dir, enc, rows, (*vfs)->name());
        for (const Phase& p : phases) (enc ? encrypted : plain)[p.name].push_back(p.per_second);
        shape = phases;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pactum_bench_db: %s\n", e.what());
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::filesystem::remove_all(dir);
  if (json) std::printf("{\"rows\":%d,\"rounds\":%d,\"phases\":[", rows, rounds);
  if (!json) {
    std::printf("%-36s %14s %14s %7s\n", "phase (median of rounds)", "plain SQLite", "encrypted",
                "ratio");
  }
  bool first = true;
  for (const Phase& p : shape) {
    const double a = Median(plain[p.name]);
    const double b = Median(encrypted[p.name]);
    if (json) {
      std::printf(
          "%s{\"phase\":\"%s\",\"unit\":\"%s\",\"plain\":%.0f,\"encrypted\":%.0f,"
          "\"ratio\":%.3f}",
          first ? "" : ",", p.name, p.unit, a, b, b / a);
    } else {
      std::printf("%-36s %10.0f %-3s %10.0f %-3s %6.2fx  (%s)\n", p.name, a, "", b, "", b / a,
                  p.unit);
    }
    first = false;
  }
  if (json) std::printf("]}\n");
  return 0;
}
