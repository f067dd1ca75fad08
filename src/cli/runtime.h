#pragma once

// The composition root's shared pieces: options every command takes, loading the typed
// config from defaults + file + environment + flags, and opening the data directory.

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "audit/checkpoint.h"
#include "audit/sql_audit_log.h"
#include "auth/user_service.h"
#include "common/files.h"
#include "common/metrics.h"
#include "config/config.h"
#include "crypto/key_provider.h"
#include "store/database.h"
#include "tenant/tenant_service.h"

namespace pactum::cli {

// Flags every command has (DESIGN §6).
struct CommonOptions {
  std::string config_file;
  std::string data_dir;  // overrides config and PACTUM_DATA_DIR when set
  bool json = false;
};

void AddCommonOptions(CLI::App& cmd, CommonOptions& options);

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;  // bad flags or configuration

// One line on stderr: "pactum: <message>".
void PrintError(std::string_view message);

// Defaults <- --config file <- PACTUM_* <- flags (data dir). On a bad value prints the
// key and returns nullopt; the caller exits kExitUsage.
std::optional<config::Config> LoadConfig(const CommonOptions& options,
                                         const std::function<void(config::Config&)>& flags = {});

struct DataDirectory {
  FileLock lock;  // <data>/pactum.lock, released last
  std::unique_ptr<crypto::KeyProvider> keys;
  std::string master_key_file;  // the key file `keys` came from; "" for PACTUM_MASTER_KEY
  std::unique_ptr<store::Database> db;
};

// Shared: the server and ordinary commands, side by side. Exclusive: commands that must
// have the data directory to themselves (key rotation).
enum class DirectoryAccess { kShared, kExclusive };

// Creates the data directory (0700), locks it, loads the master key, unwraps the
// database key (<data>/pactum.db-key, created with a new database) and opens the
// encrypted database. kFailedPrecondition when the lock conflicts.
// The master key comes from PACTUM_MASTER_KEY (base64) or the key file (config
// master_key_file, default <data>/master.key); the file is created (0600) only while the
// data directory holds no database yet: a missing key beside existing data is refused,
// as are a key file readable by others and one of another environment.
Result<DataDirectory> OpenDataDirectory(const config::Config& config, MetricsRegistry* metrics,
                                        DirectoryAccess access = DirectoryAccess::kShared);

// The preamble of a command that works on the data directory: LoadConfig (with `flags`)
// then OpenDataDirectory. On failure prints the one-line error, sets `*exit_code`
// (kExitUsage for a bad config, kExitFailure when the directory does not open) and
// returns nullopt.
struct OpenedDirectory {
  config::Config config;
  DataDirectory data;
};
std::optional<OpenedDirectory> LoadAndOpen(const CommonOptions& options, DirectoryAccess access,
                                           int* exit_code,
                                           const std::function<void(config::Config&)>& flags = {});

// Whether the master key file in use lies inside the data directory (the default,
// <data>/master.key; symbolic links resolved). Every copy and file-level backup of the
// data directory then carries the key that decrypts it.
bool MasterKeyInDataDirectory(const config::Config& config, const DataDirectory& data);

// Logs a warning (one line) while MasterKeyInDataDirectory holds: why, and how to move
// the key (docs/operations.md, "Moving the master key out of the data directory").
// `pactum serve` calls it at every start; one-shot commands do not (their stderr is one
// line on failure, nothing otherwise).
void WarnIfMasterKeyInDataDirectory(const config::Config& config, const DataDirectory& data);

// The master key alone, for commands that may run without a data directory (a backup
// restore after the data directory was lost): from PACTUM_MASTER_KEY or the key file;
// never created. kFailedPrecondition naming both ways when there is none. `from_file`
// gets the file it was read from (empty for the environment variable).
Result<std::unique_ptr<crypto::KeyProvider>> OpenMasterKey(const config::Config& config,
                                                           std::string* from_file = nullptr);

// The audit signing key of the data directory (<data>/audit-signing.key), created when
// missing while the trail holds no event; beside events a missing key is an error
// (kFailedPrecondition): a new key would hide that the one that signed them was lost.
Result<audit::AuditSigner> OpenAuditSigner(const config::Config& config, DataDirectory& data);

// The audit trail of the data directory, for commands that change something: the
// signing key (<data>/audit-signing.key) is created when missing — unless the database
// already holds audit events, which a new key cannot vouch for: then kFailedPrecondition
// (MissingAuditKey).
Result<std::unique_ptr<audit::SqlAuditLog>> OpenAuditLog(const config::Config& config,
                                                         DataDirectory& data, const Clock& clock);

// Whether the database holds any audit event, of any chain.
Result<bool> AuditTrailHasEvents(store::Database& db);

// "audit signing key file <path> is missing but the audit trail holds events; ...",
// kFailedPrecondition with reason kAuditKeyMissing.
inline constexpr std::string_view kAuditKeyMissing = "audit_key_missing";
Status MissingAuditKey(const config::Config& config);

// argon2id parameters for user passwords.
crypto::PasswordParams PasswordParamsFrom(const config::Config& config);

struct CreatedTenant {
  tenant::Tenant tenant;
  auth::User admin;
  std::string one_time_password;  // shown once
};

// Creates a tenant, its first data key and its first admin (with a one-time password)
// in one transaction. `before_commit`, when set, gets the one-time password first (to
// keep it somewhere durable); its error aborts the creation.
Result<CreatedTenant> CreateTenantWithAdmin(
    const config::Config& config, DataDirectory& data, std::string_view slug,
    std::string_view admin_email, std::string_view admin_name,
    const std::function<Status(std::string_view)>& before_commit = {});

}  // namespace pactum::cli
