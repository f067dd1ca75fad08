#pragma once

// Numbered schema migrations. A migration is never edited once released: changes are new
// migrations. Each is applied in its own transaction and recorded in schema_migrations;
// a database whose recorded version is newer than the last one here is refused.

#include <span>

namespace pactum::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;  // one or more statements, no parameters
};

// The SQLite dialect, ascending by version, starting at 1, no gaps.
std::span<const Migration> SqliteMigrations();

}  // namespace pactum::store
