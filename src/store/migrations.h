#pragma once

// Numbered schema migrations, one list per database engine, applied by one runner.
//
// Each engine has its own list (store/sqlite_migrations.cc; a PostgreSQL list goes
// beside it as store/postgresql_migrations.cc): DDL differs between engines (types,
// STRICT tables, identity columns), so every engine states its schema in its own
// dialect. The lists share the numbering: migration N describes the same schema change
// on every engine, so schema_version means the same thing everywhere (backups and
// diagnostics rely on it). What SQL cannot do (values computed in C++, such as folded
// text) is a `then` step: engine-neutral code over a Session, shared by the lists.
//
// A migration is never edited once released: changes are new migrations. Each is
// applied in its own transaction together with its row in schema_migrations; a database
// whose recorded version is newer than the last one known here is refused.

#include <functional>
#include <span>

#include "common/status.h"
#include "store/database.h"

namespace pactum::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;  // one or more statements in the engine's dialect, no parameters
  // Runs after `sql` in the same transaction, or nullptr. Engine-neutral SQL only.
  Status (*then)(Session& session) = nullptr;
};

// One engine's schema history.
struct MigrationList {
  const char* engine;  // "sqlite" | "postgresql", as DatabaseInfo::engine
  // Creates schema_migrations (version, name, applied_at) when missing; in the dialect.
  const char* create_bookkeeping;
  std::span<const Migration> migrations;  // ascending from 1, no gaps

  int latest() const { return migrations.empty() ? 0 : migrations.back().version; }
};

// The SQLite dialect.
const MigrationList& SqliteMigrations();

// What an engine lends the runner while it opens a database: its connection's scripts
// and transactions. Used on one thread, for the duration of ApplyMigrations.
class MigrationConnection {
 public:
  virtual ~MigrationConnection() = default;
  // Runs `sql` (one or more statements, no parameters), inside the current transaction
  // when there is one.
  virtual Status ExecScript(const char* sql) = 0;
  // Statements outside a transaction (each commits by itself): a read that must not
  // wait for other processes' writes.
  virtual Session& Autocommit() = 0;
  // Runs `fn` in one write transaction, serialized with every other writer of the
  // database: committed when it returns OK, else rolled back.
  virtual Status Transaction(const std::function<Status(Session&)>& fn) = 0;
};

// kInternal naming the first problem when `list` is not numbered 1, 2, 3 ... without gaps
// or has a migration without a name or SQL (a programmer error; tests check every list).
Status CheckMigrationList(const MigrationList& list);

// Brings the database behind `connection` to `up_to` (0: the list's latest), applying
// each pending migration in its own transaction with its record, and returns the
// version reached. Safe when several processes open the database at once: each
// transaction looks again whether its migration is still due. Errors: kFailedPrecondition when the
// database records a version newer than the list's latest (written by a newer pactum); the failing
// migration's Status otherwise (the versions before it stay applied).
Result<int> ApplyMigrations(MigrationConnection& connection, const MigrationList& list,
                            int up_to = 0);

// The `then` steps, shared by the engines' lists.

// Migration 13: contracts.counterparty_key := FoldForMatching(counterparty) for every row.
Status FillCounterpartyKeys(Session& session);

}  // namespace pactum::store
