#include "store/migrations.h"

namespace pactum::store {
namespace {

constexpr Migration kMigrations[] = {
    {1, "tenants",
     R"sql(
CREATE TABLE tenants (
  id         INTEGER PRIMARY KEY,
  slug       TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 2 AND 40),
  created_at TEXT NOT NULL
) STRICT;
)sql"},
    {2, "tenant_keys",
     R"sql(
CREATE TABLE tenant_keys (
  tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
  version     INTEGER NOT NULL CHECK (version >= 1),
  wrapped     BLOB NOT NULL,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (tenant_id, version)
) STRICT;
)sql"},
};

}  // namespace

std::span<const Migration> SqliteMigrations() { return kMigrations; }

}  // namespace pactum::store
