#include "store/migrations.h"

#include <chrono>
#include <string>

#include "common/clock.h"
#include "common/text_fold.h"

namespace pactum::store {

Status CheckMigrationList(const MigrationList& list) {
  const std::string engine = list.engine == nullptr ? "?" : list.engine;
  if (list.create_bookkeeping == nullptr) {
    return Internal(engine + " migrations: no schema_migrations table");
  }
  int expected = 1;
  for (const Migration& m : list.migrations) {
    if (m.version != expected) {
      return Internal(engine + " migrations: version " + std::to_string(m.version) + " where " +
                      std::to_string(expected) + " was due");
    }
    if (m.name == nullptr || *m.name == '\0' || m.sql == nullptr) {
      return Internal(engine + " migration " + std::to_string(m.version) + " lacks a name or SQL");
    }
    ++expected;
  }
  return Status::Ok();
}

Result<int> ApplyMigrations(MigrationConnection& connection, const MigrationList& list, int up_to) {
  RETURN_IF_ERROR(CheckMigrationList(list));
  const int latest = list.latest();
  const int target = up_to <= 0 || up_to > latest ? latest : up_to;
  RETURN_IF_ERROR(connection.ExecScript(list.create_bookkeeping));
  const auto recorded = [](Session& s) -> Result<int> {
    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT coalesce(max(version), 0) FROM schema_migrations"));
    return rows.empty() ? 0 : static_cast<int>(rows[0].Int(0));
  };
  ASSIGN_OR_RETURN(int current, recorded(connection.Autocommit()));
  if (current > latest) {
    return FailedPrecondition("database schema version " + std::to_string(current) +
                              " is newer than this pactum supports (" + std::to_string(latest) +
                              "); run a newer pactum");
  }
  for (const Migration& m : list.migrations) {
    if (m.version <= current) continue;
    if (m.version > target) break;
    const std::string now = FormatRfc3339(std::chrono::system_clock::now());
    RETURN_IF_ERROR(connection.Transaction([&](Session& s) -> Status {
      // Another process may have applied it since the read above.
      ASSIGN_OR_RETURN(current, recorded(s));
      if (current >= m.version) return Status::Ok();
      RETURN_IF_ERROR(connection.ExecScript(m.sql));
      if (m.then != nullptr) RETURN_IF_ERROR(m.then(s));
      current = m.version;
      return s
          .Execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                   {int64_t{m.version}, std::string(m.name), now})
          .status();
    }));
  }
  return current;
}

Status FillCounterpartyKeys(Session& session) {
  ASSIGN_OR_RETURN(auto rows, session.Query("SELECT id, counterparty FROM contracts"));
  for (const Row& r : rows) {
    ASSIGN_OR_RETURN(const std::string key, FoldForMatching(r.Text(1)));
    RETURN_IF_ERROR(
        session.Execute("UPDATE contracts SET counterparty_key = $1 WHERE id = $2", {key, r.Int(0)})
            .status());
  }
  return Status::Ok();
}

}  // namespace pactum::store
