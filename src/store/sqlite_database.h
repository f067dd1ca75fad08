#pragma once

// The embedded SQLite implementation of Database: one writer connection (writes are
// serialized behind a mutex; callers block, so call from worker threads) and a pool of
// read connections; WAL, foreign keys, busy timeout, temp_store=MEMORY. Prepared
// statements are cached per connection. Migrations run at open. Every page on disk is
// encrypted (store/encrypted_vfs.h); there is no plaintext mode.

#include <memory>
#include <string>

#include "common/metrics.h"
#include "crypto/secret.h"
#include "store/database.h"

namespace pactum::store {

struct SqliteOptions {
  std::string path;  // the database file; created if missing
  // The 256-bit database key: every page of the file and its WAL is encrypted with it
  // (store/encrypted_vfs.h). Required.
  std::shared_ptr<const crypto::SecretBytes> key;
  int busy_timeout_ms = 5000;          // wait for locks held by other processes
  int read_connections = 4;            // pooled readers
  int cache_mib = 32;                  // page cache per connection (grows to this at most)
  bool synchronous_full = true;        // PRAGMA synchronous=FULL (else NORMAL)
  MetricsRegistry* metrics = nullptr;  // optional: pactum_db_seconds{op}
  // Backups keep a change log from the WAL (store/change_capture.h): no connection then
  // checkpoints by itself or when it closes; the backup side does, after shipping.
  bool external_checkpoints = false;
  // Apply migrations only up to this schema version; 0: all (store/migrations.h). For
  // tests that build the database of an earlier release and then upgrade it.
  int max_schema_version = 0;
};

// Opens (creating if needed, encrypted), checks the application id, applies pending
// migrations. Errors: kFailedPrecondition when the file is a plain (unencrypted) SQLite
// database, belongs to another application, or its schema is newer than this binary;
// kDataLoss when a page does not authenticate (altered file or wrong key); kUnavailable
// on I/O errors.
Result<std::unique_ptr<Database>> OpenSqliteDatabase(const SqliteOptions& options);

// The application id Pactum stamps into its SQLite files ("PCT1").
inline constexpr int kSqliteApplicationId = 0x50435431;

}  // namespace pactum::store
