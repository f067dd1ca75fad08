#pragma once

// The SQLite side of store/wal_access.h, for sqlite_database.cc: readers over a
// connection's own (decrypting) file handles.

#include <memory>

#include <sqlite3.h>

#include "store/wal_access.h"

namespace pactum::store {

// A reader of the WAL of `db`, which must be in WAL mode and have read once (SQLite opens
// the WAL with the first read). Uses the connection's own file handles: no other file
// descriptor is ever opened on the database's files (closing one would drop the
// process's POSIX locks on them).
std::unique_ptr<WalReader> NewSqliteWalReader(sqlite3* db);

// Page count and page reads of the main database file of `db`, decrypted.
Result<uint32_t> DatabaseFilePageCount(sqlite3* db);
Status ReadDatabaseFilePage(sqlite3* db, uint32_t pgno, std::span<uint8_t, kWalPageBytes> out);

// Rows of every table of `db` (sqlite_* internals aside), in its current transaction.
Result<std::map<std::string, int64_t>> CountRowsOn(sqlite3* db);

}  // namespace pactum::store
