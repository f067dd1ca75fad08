// Which change log for point-in-time restore costs the server less (issue 7): per-
// transaction changesets from SQLite's session extension, stored in the same transaction
// (so they are as durable as the change), or copying the WAL frames SQLite has written
// anyway. Plain SQLite in WAL mode (synchronous=NORMAL) in a temporary directory, two
// workloads the server has: the audit recorder's batches (10,000 rows of ~300 bytes into
// a WITHOUT ROWID table with a second index, one transaction) and single-row updates of a
// contract. Per workload: the write alone; with a session attached and its changeset
// written into a table in the same transaction; and the write followed by reading the
// WAL bytes it appended (what the change log copies, on its own thread). Prints JSON.

#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, db != nullptr ? sqlite3_errmsg(db) : "?");
    std::_Exit(1);  // a benchmark that cannot run has nothing to clean up
  }
}

void Exec(sqlite3* db, const char* sql) {
  Check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db, sql);
}

enum class Mode { kPlain, kSession, kWalCopy };

struct Db {
  sqlite3* db = nullptr;
  std::string path;
  explicit Db(const std::string& p) : path(p) {
    Check(sqlite3_open(p.c_str(), &db), db, "open");
    Exec(db,
         "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;"
         "CREATE TABLE ev (tenant INTEGER, seq INTEGER, time INTEGER, body TEXT, "
         "PRIMARY KEY (tenant, seq)) WITHOUT ROWID;"
         "CREATE INDEX ev_time ON ev (tenant, time);"
         "CREATE TABLE contract (id INTEGER PRIMARY KEY, title TEXT, value INTEGER, notes TEXT);"
         "CREATE TABLE changelog (id INTEGER PRIMARY KEY, data BLOB);");
    sqlite3_stmt* s = nullptr;
    Check(sqlite3_prepare_v2(db, "INSERT INTO contract VALUES (?, ?, ?, ?)", -1, &s, nullptr), db,
          "prepare");
    Exec(db, "BEGIN");
    for (int i = 1; i <= 1000; ++i) {
      sqlite3_bind_int(s, 1, i);
      sqlite3_bind_text(s, 2, ("Master services agreement " + std::to_string(i)).c_str(), -1,
                        SQLITE_TRANSIENT);
      sqlite3_bind_int(s, 3, i * 1000);
      sqlite3_bind_text(s, 4, std::string(400, 'n').c_str(), -1, SQLITE_TRANSIENT);
      Check(sqlite3_step(s), db, "insert contract");
      sqlite3_reset(s);
    }
    Exec(db, "COMMIT");
    sqlite3_finalize(s);
  }
  ~Db() { sqlite3_close(db); }
};

// Runs `body` in a transaction the way `mode` says; returns the bytes it made the change
// log handle (changeset or WAL bytes).
template <typename Body>
size_t Transaction(Db& d, Mode mode, Body&& body) {
  sqlite3_session* session = nullptr;
  const auto wal_before =
      std::filesystem::exists(d.path + "-wal") ? std::filesystem::file_size(d.path + "-wal") : 0;
  if (mode == Mode::kSession) {
    Check(sqlite3session_create(d.db, "main", &session), d.db, "session");
    Check(sqlite3session_attach(session, "ev"), d.db, "attach");
    Check(sqlite3session_attach(session, "contract"), d.db, "attach");
  }
  Exec(d.db, "BEGIN");
  body();
  size_t bytes = 0;
  if (mode == Mode::kSession) {
    int n = 0;
    void* changeset = nullptr;
    Check(sqlite3session_changeset(session, &n, &changeset), d.db, "changeset");
    sqlite3_stmt* s = nullptr;
    Check(sqlite3_prepare_v2(d.db, "INSERT INTO changelog (data) VALUES (?)", -1, &s, nullptr),
          d.db, "prepare");
    sqlite3_bind_blob(s, 1, changeset, n, SQLITE_STATIC);
    Check(sqlite3_step(s), d.db, "store changeset");
    sqlite3_finalize(s);
    sqlite3_free(changeset);
    bytes = static_cast<size_t>(n);
  }
  Exec(d.db, "COMMIT");
  if (session != nullptr) sqlite3session_delete(session);
  if (mode == Mode::kWalCopy) {
    const auto wal_after = std::filesystem::file_size(d.path + "-wal");
    std::ifstream in(d.path + "-wal", std::ios::binary);
    in.seekg(static_cast<std::streamoff>(wal_before));
    std::vector<char> buf(wal_after - wal_before);
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    bytes = buf.size();
  }
  return bytes;
}

struct Figures {
  double ms_per_txn = 0;
  double log_bytes_per_txn = 0;
};

Figures Batches(const std::string& dir, Mode mode, int rounds) {
  Db d(dir + "/batch-" + std::to_string(static_cast<int>(mode)) + ".db");
  sqlite3_stmt* s = nullptr;
  Check(sqlite3_prepare_v2(d.db, "INSERT INTO ev VALUES (?, ?, ?, ?)", -1, &s, nullptr), d.db,
        "prepare");
  const std::string body =
      R"({"method":"GET","path":"/api/v1/me","status":200,"bytes":206,"ms":0.4,"ip":"10.1.2.3","ua":"bench"})"
      R"({"request_id":"0123456789abcdef0123456789abcdef","hash":"e3b0c44298fc1c149afbf4c8996fb924"})";
  int64_t seq = 0;
  size_t bytes = 0;
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    const auto start = Clock::now();
    bytes += Transaction(d, mode, [&] {
      for (int i = 0; i < 10000; ++i) {
        sqlite3_bind_int(s, 1, static_cast<int>(seq % 7));
        sqlite3_bind_int64(s, 2, ++seq);
        sqlite3_bind_int64(s, 3, 1798761600000 + seq);
        sqlite3_bind_text(s, 4, body.c_str(), static_cast<int>(body.size()), SQLITE_STATIC);
        Check(sqlite3_step(s), d.db, "insert ev");
        sqlite3_reset(s);
      }
    });
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    Exec(d.db, "PRAGMA wal_checkpoint(TRUNCATE)");
  }
  sqlite3_finalize(s);
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], static_cast<double>(bytes) / rounds};
}

Figures Updates(const std::string& dir, Mode mode, int rounds) {
  Db d(dir + "/update-" + std::to_string(static_cast<int>(mode)) + ".db");
  sqlite3_stmt* s = nullptr;
  Check(sqlite3_prepare_v2(d.db, "UPDATE contract SET value = value + 1, title = ? WHERE id = ?",
                           -1, &s, nullptr),
        d.db, "prepare");
  size_t bytes = 0;
  const auto start = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    bytes += Transaction(d, mode, [&] {
      sqlite3_bind_text(s, 1, ("Renewed agreement " + std::to_string(r)).c_str(), -1,
                        SQLITE_TRANSIENT);
      sqlite3_bind_int(s, 2, 1 + r % 1000);
      Check(sqlite3_step(s), d.db, "update");
      sqlite3_reset(s);
    });
    if (r % 500 == 499) Exec(d.db, "PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const double total = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  sqlite3_finalize(s);
  return {total / rounds, static_cast<double>(bytes) / rounds};
}

}  // namespace

int main() {
  char tmpl[] = "/tmp/pactum-changeset-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);
  if (dir == nullptr) return 1;
  const char* names[] = {"plain", "session", "wal_copy"};
  std::printf("{\n");
  for (int w = 0; w < 2; ++w) {
    std::printf("  \"%s\": {", w == 0 ? "batch_10000_rows" : "single_row_update");
    for (int m = 0; m < 3; ++m) {
      const Figures f = w == 0 ? Batches(dir, static_cast<Mode>(m), 15)
                               : Updates(dir, static_cast<Mode>(m), 5000);
      std::printf("%s\"%s\": {\"ms_per_txn\": %.3f, \"log_bytes_per_txn\": %.0f}",
                  m == 0 ? "" : ", ", names[m], f.ms_per_txn, f.log_bytes_per_txn);
    }
    std::printf("}%s\n", w == 0 ? "," : "");
  }
  std::printf("}\n");
  std::filesystem::remove_all(dir);
  return 0;
}
