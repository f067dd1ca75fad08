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
    {3, "users",
     R"sql(
CREATE TABLE users (
  id                        INTEGER PRIMARY KEY,
  tenant_id                 INTEGER NOT NULL REFERENCES tenants(id),
  email                     TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  email_key                 TEXT NOT NULL,
  name                      TEXT NOT NULL CHECK (length(name) <= 200),
  role                      TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'user', 'viewer')),
  password_hash             TEXT NOT NULL,
  password_change_required  INTEGER NOT NULL DEFAULT 0 CHECK (password_change_required IN (0, 1)),
  disabled                  INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at                TEXT NOT NULL,
  updated_at                TEXT NOT NULL,
  UNIQUE (tenant_id, email_key)
) STRICT;
)sql"},
    {4, "sessions",
     R"sql(
CREATE TABLE sessions (
  id_hash       BLOB PRIMARY KEY,
  tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
  user_id       INTEGER NOT NULL REFERENCES users(id),
  csrf_hash     BLOB NOT NULL,
  created_at    INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);
)sql"},
    {5, "login_lockout",
     R"sql(
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until INTEGER NOT NULL DEFAULT 0;
)sql"},
    {6, "api_tokens",
     R"sql(
CREATE TABLE api_tokens (
  id            INTEGER PRIMARY KEY,
  tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
  user_id       INTEGER NOT NULL REFERENCES users(id),
  name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'user', 'viewer')),
  token_hash    BLOB NOT NULL UNIQUE,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  last_used_at  INTEGER,
  revoked       INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;
CREATE INDEX api_tokens_tenant ON api_tokens(tenant_id);
)sql"},
    {7, "two_factor_and_settings",
     R"sql(
CREATE TABLE tenant_settings (
  tenant_id               INTEGER PRIMARY KEY REFERENCES tenants(id),
  require_2fa             INTEGER NOT NULL CHECK (require_2fa IN (0, 1)),
  ip_allowlist            TEXT NOT NULL,
  session_minutes         INTEGER NOT NULL CHECK (session_minutes BETWEEN 5 AND 1440),
  session_max_hours       INTEGER NOT NULL CHECK (session_max_hours BETWEEN 1 AND 720),
  link_minutes            INTEGER NOT NULL CHECK (link_minutes BETWEEN 1 AND 60),
  links_bound_to_session  INTEGER NOT NULL CHECK (links_bound_to_session IN (0, 1)),
  ai_enabled              INTEGER NOT NULL CHECK (ai_enabled IN (0, 1)),
  updated_at              TEXT NOT NULL
) STRICT;
CREATE TABLE user_totp (
  user_id     INTEGER PRIMARY KEY REFERENCES users(id),
  tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
  secret      BLOB NOT NULL,
  confirmed   INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
  last_step   INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE recovery_codes (
  user_id    INTEGER NOT NULL REFERENCES users(id),
  code_hash  BLOB NOT NULL,
  used_at    INTEGER,
  PRIMARY KEY (user_id, code_hash)
) STRICT;
CREATE TABLE mfa_challenges (
  token_hash  BLOB PRIMARY KEY,
  tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
  user_id     INTEGER NOT NULL REFERENCES users(id),
  expires_at  INTEGER NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0
) STRICT;
)sql"},
    {8, "login_failures_daily",
     R"sql(
CREATE TABLE login_failures_daily (
  day       TEXT PRIMARY KEY,
  failures  INTEGER NOT NULL
) STRICT;
)sql"},
    {9, "contracts",
     R"sql(
CREATE TABLE contracts (
  id              INTEGER PRIMARY KEY,
  tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
  title           TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
  counterparty    TEXT NOT NULL CHECK (length(counterparty) <= 500),
  type            TEXT NOT NULL CHECK (length(type) <= 100),
  status          TEXT NOT NULL CHECK (status IN ('draft', 'active', 'terminated', 'expired')),
  owner_id        INTEGER NOT NULL REFERENCES users(id),
  start_date      TEXT NOT NULL,
  end_date        TEXT NOT NULL,
  auto_renew      INTEGER NOT NULL CHECK (auto_renew IN (0, 1)),
  renewal_months  INTEGER,
  notice_days     INTEGER,
  value_cents     INTEGER,
  currency        TEXT NOT NULL,
  tags            TEXT NOT NULL,
  custom          TEXT NOT NULL,
  version         INTEGER NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  deleted_at      INTEGER
) STRICT;
CREATE INDEX contracts_tenant_id ON contracts(tenant_id, id);
CREATE INDEX contracts_tenant_end ON contracts(tenant_id, end_date);
)sql"},
    {10, "custom_fields",
     R"sql(
CREATE TABLE custom_fields (
  tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
  key         TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 40),
  label       TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
  type        TEXT NOT NULL CHECK (type IN ('text', 'number', 'date', 'money', 'select')),
  options     TEXT CHECK ((options IS NOT NULL) = (type = 'select')),
  required    INTEGER NOT NULL CHECK (required IN (0, 1)),
  created_at  TEXT NOT NULL,
  PRIMARY KEY (tenant_id, key)
) STRICT;
)sql"},
    {11, "documents",
     R"sql(
CREATE TABLE documents (
  id           INTEGER PRIMARY KEY,
  tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
  contract_id  INTEGER NOT NULL REFERENCES contracts(id),
  name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  version      INTEGER NOT NULL CHECK (version >= 1),
  media_type   TEXT NOT NULL,
  size         INTEGER NOT NULL CHECK (size >= 0),
  sha256       TEXT NOT NULL CHECK (length(sha256) = 64),
  blob_id      TEXT NOT NULL UNIQUE CHECK (length(blob_id) = 32),
  key_version  INTEGER NOT NULL,
  uploaded_by  INTEGER NOT NULL REFERENCES users(id),
  created_at   TEXT NOT NULL,
  UNIQUE (contract_id, name, version)
) STRICT;
CREATE INDEX documents_tenant_contract ON documents(tenant_id, contract_id);
)sql"},
    {12, "audit_events",
     R"sql(
CREATE TABLE audit_events (
  tenant_id  INTEGER NOT NULL,
  seq        INTEGER NOT NULL CHECK (seq >= 1),
  time_ms    INTEGER NOT NULL,
  stream     TEXT NOT NULL,
  actor      TEXT NOT NULL,
  ip         TEXT NOT NULL,
  action     TEXT NOT NULL,
  target     TEXT NOT NULL,
  outcome    TEXT NOT NULL,
  details    TEXT NOT NULL,
  prev_hash  BLOB NOT NULL,
  hash       BLOB NOT NULL,
  PRIMARY KEY (tenant_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX audit_events_time ON audit_events(tenant_id, time_ms);
)sql"},
    // Engine-neutral filters: tags in a table of their own (the tag filter reads it
    // through an index, no JSON function), moved from the contracts' JSON; contracts.tags
    // stays as the contract's own copy that reads return, written with the rows here in
    // one transaction. The counterparty filter matches a folded copy of the
    // counterparty (FillCounterpartyKeys) with LIKE, not an engine's lower(). Each sort
    // order of the list gets an index, so a keyset page reads only its rows.
    {13, "contract_tags_and_counterparty_key",
     R"sql(
CREATE TABLE contract_tags (
  tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
  contract_id  INTEGER NOT NULL REFERENCES contracts(id),
  tag          TEXT NOT NULL,
  PRIMARY KEY (contract_id, tag)
) STRICT, WITHOUT ROWID;
CREATE INDEX contract_tags_tenant_tag ON contract_tags(tenant_id, tag, contract_id);
INSERT INTO contract_tags (tenant_id, contract_id, tag)
  SELECT DISTINCT c.tenant_id, c.id, t.value FROM contracts c, json_each(c.tags) t;
ALTER TABLE contracts ADD COLUMN counterparty_key TEXT NOT NULL DEFAULT '';
CREATE INDEX contracts_tenant_title ON contracts(tenant_id, title, id);
CREATE INDEX contracts_tenant_updated ON contracts(tenant_id, updated_at, id);
)sql",
     &FillCounterpartyKeys},
};

constexpr MigrationList kSqlite{
    .engine = "sqlite",
    .create_bookkeeping =
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
        "PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;",
    .migrations = kMigrations,
};

}  // namespace

const MigrationList& SqliteMigrations() { return kSqlite; }

}  // namespace pactum::store
