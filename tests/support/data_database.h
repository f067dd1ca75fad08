#pragma once

// A data directory's encrypted database, opened from a test the way the commands open
// it: the database key unwrapped from <data>/pactum.db-key with the master key.

#include <memory>
#include <string>
#include <utility>

#include "crypto/key_provider.h"
#include "crypto/local_key_provider.h"
#include "crypto/wrapped_key_file.h"
#include "store/sqlite_database.h"

namespace pactum::testing_support {

inline Result<std::unique_ptr<store::Database>> OpenDataDatabase(const std::string& data,
                                                                 crypto::KeyProvider& keys) {
  ASSIGN_OR_RETURN(crypto::SecretBytes key,
                   crypto::LoadWrappedKeyFile(data + "/pactum.db-key", keys, {"database", "main"}));
  store::SqliteOptions o;
  o.path = data + "/pactum.db";
  o.key = std::make_shared<const crypto::SecretBytes>(std::move(key));
  return store::OpenSqliteDatabase(o);
}

// The same with the master key file of a dev data directory (<data>/master.key).
inline Result<std::unique_ptr<store::Database>> OpenDataDatabase(const std::string& data) {
  ASSIGN_OR_RETURN(auto keys, crypto::LocalKeyProvider::Load(data + "/master.key", "dev"));
  return OpenDataDatabase(data, *keys);
}

}  // namespace pactum::testing_support
