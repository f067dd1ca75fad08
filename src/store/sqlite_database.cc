#include "store/sqlite_database.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include <sqlite3.h>

#include "common/clock.h"
#include "store/change_capture.h"
#include "store/encrypted_vfs.h"
#include "store/migrations.h"
#include "store/sqlite_wal.h"

namespace pactum::store {
namespace {

Status FromSqlite(int rc, sqlite3* db, std::string_view what) {
  const int primary = rc & 0xff;
  const std::string detail =
      std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (rc == SQLITE_IOERR_DATA) {
    return DataLoss("database is corrupt: a page failed authentication", detail);
  }
  switch (primary) {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return {StatusCode::kAlreadyExists, "already exists", detail};
      }
      return {StatusCode::kInvalidArgument, "constraint violated", detail};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable("database busy, try again", detail);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss("database is corrupt", detail);
    case SQLITE_FULL:
      return Unavailable("storage full", detail);
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return Unavailable("storage error", detail);
    default:
      return Internal(detail);
  }
}

// Clears a statement's state when a run of it ends, however it ends.
class StatementReset {
 public:
  explicit StatementReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;
  ~StatementReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* const stmt_;
};

// The current row of a statement, read in place (the column types decide as in Row).
class StatementRow final : public RowView {
 public:
  explicit StatementRow(sqlite3_stmt* stmt) : stmt_(stmt) {}
  int64_t Int(size_t i) const override {
    const int c = static_cast<int>(i);
    switch (sqlite3_column_type(stmt_, c)) {
      case SQLITE_INTEGER:
        return sqlite3_column_int64(stmt_, c);
      case SQLITE_FLOAT:
        return static_cast<int64_t>(sqlite3_column_double(stmt_, c));
      default:
        return 0;
    }
  }
  std::string_view Text(size_t i) const override {
    const int c = static_cast<int>(i);
    const int type = sqlite3_column_type(stmt_, c);
    if (type != SQLITE_TEXT && type != SQLITE_BLOB) return {};
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return p == nullptr ? std::string_view()
                        : std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, c)));
  }
  std::span<const uint8_t> Bytes(size_t i) const override {
    const int c = static_cast<int>(i);
    const int type = sqlite3_column_type(stmt_, c);
    if (type != SQLITE_TEXT && type != SQLITE_BLOB) return {};
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, c));
    return p == nullptr
               ? std::span<const uint8_t>()
               : std::span<const uint8_t>(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, c)));
  }

 private:
  sqlite3_stmt* const stmt_;
};

// One SQLite connection with its statement cache. Not thread-safe: owned by whoever
// holds it (the writer mutex or a pool checkout).
class Connection final : public Session {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() override {
    for (auto& [sql, prepared] : cache_) sqlite3_finalize(prepared.stmt);
    if (db_ != nullptr) sqlite3_close_v2(db_);
  }

  Status Open(const SqliteOptions& o, const char* vfs, bool read_only) {
    const int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    const int rc = sqlite3_open_v2(o.path.c_str(), &db_, flags, vfs);
    if (rc != SQLITE_OK) return FromSqlite(rc, db_, "open " + o.path);
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, o.busy_timeout_ms);
    RETURN_IF_ERROR(
        Exec("PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA trusted_schema=OFF;"));
    RETURN_IF_ERROR(
        Exec(o.synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;"));
    // Negative: KiB. The value is an integer from the typed config, not request data.
    const std::string cache =
        "PRAGMA cache_size=-" + std::to_string(int64_t{o.cache_mib} * 1024) + ";";
    RETURN_IF_ERROR(Exec(cache.c_str()));
    if (read_only) RETURN_IF_ERROR(Exec("PRAGMA query_only=ON;"));
    if (o.external_checkpoints) {
      sqlite3_wal_autocheckpoint(db_, 0);
      const int rc = sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
      if (rc != SQLITE_OK) return FromSqlite(rc, db_, "no checkpoint on close");
    }
    return Status::Ok();
  }

  // Lays out a new, empty file for the encrypted format: 4096-byte pages with room for
  // each page's nonce and tag, then WAL. Until WAL is on, the rollback journal is kept in
  // memory (the shim refuses journal files).
  Status InitializeEncryptedFile() {
    RETURN_IF_ERROR(Exec("PRAGMA journal_mode=MEMORY; PRAGMA page_size=4096;"));
    static_assert(kEncryptedPageSize == 4096);
    int reserve = kEncryptedReserveBytes;
    const int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
    if (rc != SQLITE_OK) return FromSqlite(rc, db_, "reserve bytes");
    return Exec("PRAGMA journal_mode=WAL;");
  }

  // Runs constant SQL text without parameters (pragmas, migrations, transaction control).
  Status Exec(const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) return FromSqlite(rc, db_, "exec");
    return Status::Ok();
  }

  Result<std::vector<Row>> Query(Sql sql, std::initializer_list<Value> params) override {
    std::vector<Row> rows;
    RETURN_IF_ERROR(Run(sql, params, &rows));
    return rows;
  }

  Status QueryEach(Sql sql, std::initializer_list<Value> params,
                   const std::function<Status(const RowView&)>& fn) override {
    ASSIGN_OR_RETURN(const Prepared* prepared, Prepare(sql.text()));
    sqlite3_stmt* const stmt = prepared->stmt;
    const StatementReset reset{stmt};
    RETURN_IF_ERROR(Bind(*prepared, params));
    const StatementRow row(stmt);
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return Status::Ok();
      if (rc != SQLITE_ROW) return FromSqlite(rc, db_, "step");
      RETURN_IF_ERROR(fn(row));
    }
  }

  Result<int64_t> Execute(Sql sql, std::initializer_list<Value> params) override {
    RETURN_IF_ERROR(Run(sql, params, nullptr));
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  sqlite3* db() const { return db_; }

 private:
  // A cached statement and where each of its parameters $1..$N sits, looked up once: by
  // name it is a scan with string compares, per parameter and execution (a tenth of the
  // time of the request stream's inserts).
  struct Prepared {
    sqlite3_stmt* stmt = nullptr;
    std::vector<int> index;  // index[n - 1]: the position of "$n", 0 when absent
  };

  Result<const Prepared*> Prepare(std::string_view text) {
    if (auto it = cache_.find(text); it != cache_.end()) return &it->second;
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, text.data(), static_cast<int>(text.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return FromSqlite(rc, db_, "prepare");
    if (stmt == nullptr) return Internal("empty SQL statement");
    Prepared prepared{stmt, {}};
    const int count = sqlite3_bind_parameter_count(stmt);
    for (int n = 1; n <= count; ++n) {
      std::string name = "$";  // appended, not "$" + ...: GCC 12 -Wrestrict false positive
      name += std::to_string(n);
      prepared.index.push_back(sqlite3_bind_parameter_index(stmt, name.c_str()));
    }
    return &cache_.emplace(text, std::move(prepared)).first->second;
  }

  Status Bind(const Prepared& prepared, std::initializer_list<Value> params) {
    sqlite3_stmt* const stmt = prepared.stmt;
    if (prepared.index.size() != params.size()) {
      return Internal("statement expects " + std::to_string(prepared.index.size()) +
                      " parameters, got " + std::to_string(params.size()));
    }
    int n = 0;
    for (const Value& v : params) {
      const int idx = prepared.index[static_cast<size_t>(n)];
      ++n;
      if (idx == 0) return Internal("statement has no parameter $" + std::to_string(n));
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(v)) {
        rc = sqlite3_bind_null(stmt, idx);
      } else if (const auto* i = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, idx, *i);
      } else if (const auto* d = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, idx, *d);
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        rc = sqlite3_bind_text64(stmt, idx, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else if (const auto* b = std::get_if<Blob>(&v)) {
        // An empty vector's data() may be null, which SQLite would bind as NULL.
        rc = b->empty() ? sqlite3_bind_zeroblob(stmt, idx, 0)
                        : sqlite3_bind_blob64(stmt, idx, b->data(), b->size(), SQLITE_STATIC);
      }
      if (rc != SQLITE_OK) return FromSqlite(rc, db_, "bind");
    }
    return Status::Ok();
  }

  Status Run(const Sql& sql, std::initializer_list<Value> params, std::vector<Row>* rows) {
    ASSIGN_OR_RETURN(const Prepared* prepared, Prepare(sql.text()));
    sqlite3_stmt* const stmt = prepared->stmt;
    const StatementReset reset{stmt};
    RETURN_IF_ERROR(Bind(*prepared, params));
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return Status::Ok();
      if (rc != SQLITE_ROW) return FromSqlite(rc, db_, "step");
      if (rows == nullptr) continue;
      const int cols = sqlite3_column_count(stmt);
      std::vector<Value> values;
      values.reserve(static_cast<size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER:
            values.emplace_back(sqlite3_column_int64(stmt, c));
            break;
          case SQLITE_FLOAT:
            values.emplace_back(sqlite3_column_double(stmt, c));
            break;
          case SQLITE_TEXT: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            values.emplace_back(std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, c))));
            break;
          }
          case SQLITE_BLOB: {
            const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, c));
            values.emplace_back(Blob(p, p + sqlite3_column_bytes(stmt, c)));
            break;
          }
          default:
            values.emplace_back(std::monostate{});
            break;
        }
      }
      rows->emplace_back(std::move(values));
    }
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string_view, Prepared> cache_;  // keys point at literals
};

// Reads the database file on a connection of its own.
class ConnectionPageReader final : public PageReader {
 public:
  explicit ConnectionPageReader(std::unique_ptr<Connection> c) : c_(std::move(c)) {}
  ~ConnectionPageReader() override { (void)c_->Exec("COMMIT;"); }
  ConnectionPageReader(const ConnectionPageReader&) = delete;
  ConnectionPageReader& operator=(const ConnectionPageReader&) = delete;
  Result<std::map<std::string, int64_t>> CountRows() override { return CountRowsOn(c_->db()); }
  Result<uint32_t> PageCount() override { return DatabaseFilePageCount(c_->db()); }
  Status Read(uint32_t pgno, std::span<uint8_t, kPageImageBytes> out) override {
    return ReadDatabaseFilePage(c_->db(), pgno, out);
  }

 private:
  std::unique_ptr<Connection> c_;
};

class SqliteDatabase final : public Database, public ChangeCapture {
 public:
  explicit SqliteDatabase(SqliteOptions options) : options_(std::move(options)) {
    if (options_.metrics != nullptr) {
      read_seconds_ = &options_.metrics->GetHistogram(
          "pactum_db_seconds", "Database transaction time in seconds", R"(op="read")");
      write_seconds_ = &options_.metrics->GetHistogram(
          "pactum_db_seconds", "Database transaction time in seconds", R"(op="write")");
    }
  }

  Status Open() {
    if (options_.key == nullptr) return InvalidArgument("no database key");
    ASSIGN_OR_RETURN(const DatabaseFileKind kind, ClassifyDatabaseFile(options_.path));
    if (kind == DatabaseFileKind::kPlainSqlite) {
      return FailedPrecondition("database file " + options_.path +
                                " is an unencrypted SQLite database; Pactum stores its "
                                "database only encrypted and will not open it");
    }
    if (kind == DatabaseFileKind::kOther) {
      return FailedPrecondition("database file " + options_.path + " is not a Pactum database");
    }
    if (kind == DatabaseFileKind::kEncrypted) {
      RETURN_IF_ERROR(CheckDatabaseKey(options_.path, options_.key->span()));
    }
    ASSIGN_OR_RETURN(vfs_,
                     EncryptedVfs::Register(crypto::SecretBytes::CopyOf(options_.key->span())));
    writer_ = std::make_unique<Connection>();
    if (Status s = OpenWriter(kind); !s.ok()) {
      if (s.code() != StatusCode::kDataLoss) return s;
      return DataLoss("database file " + options_.path +
                          " does not open with its key: the file was altered or the key is wrong",
                      s.detail());
    }
    // journal_mode=WAL persists in the file; setting it needs no transaction.
    RETURN_IF_ERROR(writer_->Exec("PRAGMA journal_mode=WAL;"));
    RETURN_IF_ERROR(Migrate());
    for (int i = 0; i < options_.read_connections; ++i) {
      auto c = std::make_unique<Connection>();
      RETURN_IF_ERROR(c->Open(options_, vfs_->name(), /*read_only=*/true));
      idle_readers_.push_back(c.get());
      readers_.push_back(std::move(c));
    }
    return Status::Ok();
  }

  Status Read(const std::function<Status(Session&)>& fn) override {
    const auto start = std::chrono::steady_clock::now();
    Connection* c = nullptr;
    {
      std::unique_lock lock(pool_mu_);
      pool_cv_.wait(lock, [&] { return !idle_readers_.empty(); });
      c = idle_readers_.back();
      idle_readers_.pop_back();
    }
    Status s = Transaction(*c, "BEGIN;", fn);
    {
      std::lock_guard lock(pool_mu_);
      idle_readers_.push_back(c);
    }
    pool_cv_.notify_one();
    Observe(read_seconds_, start);
    return s;
  }

  Status Write(const std::function<Status(Session&)>& fn) override {
    const auto start = std::chrono::steady_clock::now();
    std::lock_guard lock(writer_mu_);
    Status s = Transaction(*writer_, "BEGIN IMMEDIATE;", fn);
    Observe(write_seconds_, start);
    return s;
  }

  Status Ping() override {
    return Read([](Session& s) -> Status {
      ASSIGN_OR_RETURN(auto rows, s.Query("SELECT 1"));
      if (rows.size() != 1 || rows[0].Int(0) != 1) return Unavailable("database ping failed");
      return Status::Ok();
    });
  }

  DatabaseInfo Info() const override { return {"sqlite", schema_version_}; }

  ChangeCapture* Changes() override { return this; }

  bool retains_log() const override { return options_.external_checkpoints; }

  Status WithWritesPaused(const std::function<Status(ChangeReader&)>& fn) override {
    std::lock_guard lock(writer_mu_);
    if (backup_ == nullptr) {
      auto c = std::make_unique<Connection>();
      RETURN_IF_ERROR(c->Open(options_, vfs_->name(), /*read_only=*/false));
      // SQLite opens the WAL with a connection's first read.
      RETURN_IF_ERROR(c->Exec("BEGIN; SELECT count(*) FROM sqlite_schema; COMMIT;"));
      backup_ = std::move(c);
      backup_reader_ = NewSqliteChangeReader(backup_->db());
    }
    return fn(*backup_reader_);
  }

  void SetCommitObserver(std::function<void(uint64_t mark)> observer) override {
    std::lock_guard lock(writer_mu_);
    commit_observer_ = std::move(observer);
  }

  Result<std::unique_ptr<PageReader>> OpenPageReader() override {
    auto c = std::make_unique<Connection>();
    RETURN_IF_ERROR(c->Open(options_, vfs_->name(), /*read_only=*/true));
    // The read transaction stays open: it pins the state CountRows sees.
    RETURN_IF_ERROR(c->Exec("BEGIN; SELECT count(*) FROM sqlite_schema;"));
    return std::unique_ptr<PageReader>(std::make_unique<ConnectionPageReader>(std::move(c)));
  }

 private:
  static void Observe(Histogram* h, std::chrono::steady_clock::time_point start) {
    if (h == nullptr) return;
    h->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  static Status Transaction(Connection& c, const char* begin,
                            const std::function<Status(Session&)>& fn) {
    RETURN_IF_ERROR(c.Exec(begin));
    Status s = fn(c);
    if (s.ok()) s = c.Exec("COMMIT;");
    if (!s.ok() && sqlite3_get_autocommit(c.db()) == 0) {
      (void)c.Exec("ROLLBACK;");
    }
    return s;
  }

  // Opens the writer connection, lays out a new file, reads page 1.
  Status OpenWriter(DatabaseFileKind kind) {
    RETURN_IF_ERROR(writer_->Open(options_, vfs_->name(), /*read_only=*/false));
    if (options_.external_checkpoints) {
      // After wal_autocheckpoint(0), which clears the hook it installs.
      sqlite3_wal_hook(writer_->db(), &SqliteDatabase::OnCommit, this);
    }
    if (kind == DatabaseFileKind::kNew) RETURN_IF_ERROR(writer_->InitializeEncryptedFile());
    return CheckApplicationId();
  }

  // sqlite3_wal_hook: on the writer's thread, under writer_mu_, after each commit.
  static int OnCommit(void* self, sqlite3* /*db*/, const char* /*schema*/, int frames) {
    auto* db = static_cast<SqliteDatabase*>(self);
    if (db->commit_observer_) db->commit_observer_(static_cast<uint64_t>(frames));
    return SQLITE_OK;
  }

  Status CheckApplicationId() {
    static_assert(kSqliteApplicationId == 1346589745);
    ASSIGN_OR_RETURN(auto rows, writer_->Query("PRAGMA application_id", {}));
    const int64_t id = rows.empty() ? 0 : rows[0].Int(0);
    if (id == kSqliteApplicationId) return Status::Ok();
    if (id != 0) {
      return FailedPrecondition("database file " + options_.path + " is not a Pactum database");
    }
    ASSIGN_OR_RETURN(auto tables, writer_->Query("SELECT count(*) FROM sqlite_schema", {}));
    if (!tables.empty() && tables[0].Int(0) != 0) {
      return FailedPrecondition("database file " + options_.path + " is not a Pactum database");
    }
    return writer_->Exec("PRAGMA application_id=1346589745;");
  }

  // The writer connection as the migration runner sees it (store/migrations.h).
  class MigrationWriter final : public MigrationConnection {
   public:
    explicit MigrationWriter(Connection& c) : c_(c) {}
    Status ExecScript(const char* sql) override { return c_.Exec(sql); }
    Session& Autocommit() override { return c_; }
    Status Transaction(const std::function<Status(Session&)>& fn) override {
      return SqliteDatabase::Transaction(c_, "BEGIN IMMEDIATE;", fn);
    }

   private:
    Connection& c_;
  };

  Status Migrate() {
    MigrationWriter writer(*writer_);
    ASSIGN_OR_RETURN(schema_version_,
                     ApplyMigrations(writer, SqliteMigrations(), options_.max_schema_version));
    return Status::Ok();
  }

  SqliteOptions options_;
  Histogram* read_seconds_ = nullptr;
  Histogram* write_seconds_ = nullptr;
  int schema_version_ = 0;

  std::unique_ptr<EncryptedVfs> vfs_;  // declared first: outlives every connection

  std::mutex writer_mu_;
  std::unique_ptr<Connection> writer_;             // GUARDED_BY(writer_mu_) after Open()
  std::function<void(uint64_t)> commit_observer_;  // GUARDED_BY(writer_mu_)
  std::unique_ptr<Connection> backup_;             // GUARDED_BY(writer_mu_), when first used
  std::unique_ptr<ChangeReader> backup_reader_;    // GUARDED_BY(writer_mu_)

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::vector<Connection*> idle_readers_;  // GUARDED_BY(pool_mu_)
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqliteDatabase(const SqliteOptions& options) {
  auto db = std::make_unique<SqliteDatabase>(options);
  RETURN_IF_ERROR(db->Open());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace pactum::store
