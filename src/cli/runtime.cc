#include "cli/runtime.h"

#include <filesystem>
#include <iostream>

#include <sys/stat.h>

#include "audit/checkpoint.h"
#include "common/files.h"
#include "common/log.h"
#include "crypto/local_key_provider.h"
#include "crypto/wrapped_key_file.h"
#include "store/sqlite_database.h"

namespace pactum::cli {

void AddCommonOptions(CLI::App& cmd, CommonOptions& options) {
  cmd.add_option("--config", options.config_file, "TOML configuration file");
  cmd.add_option("--data", options.data_dir, "Data directory (env PACTUM_DATA_DIR)");
  cmd.add_flag("--json", options.json, "Machine-readable JSON output");
}

void PrintError(std::string_view message) {
  std::string line(message);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::cerr << "pactum: " << line << std::endl;
}

std::optional<config::Config> LoadConfig(const CommonOptions& options,
                                         const std::function<void(config::Config&)>& flags) {
  config::Config cfg;
  if (!options.config_file.empty()) {
    auto text = ReadFile(options.config_file);
    if (!text.ok()) {
      PrintError("config: cannot read " + options.config_file);
      return std::nullopt;
    }
    if (Status s = config::ApplyToml(*text, options.config_file, cfg); !s.ok()) {
      PrintError("config: " + s.message());
      return std::nullopt;
    }
  }
  if (Status s = config::ApplyEnvironment(config::ProcessEnvironment(), cfg); !s.ok()) {
    PrintError("config: " + s.message());
    return std::nullopt;
  }
  if (!options.data_dir.empty()) cfg.data_dir = options.data_dir;
  if (flags) flags(cfg);
  if (Status s = config::Validate(cfg); !s.ok()) {
    PrintError("config: " + s.message());
    return std::nullopt;
  }
  return cfg;
}

namespace {

// `*from_file` gets the key file (empty for PACTUM_MASTER_KEY).
Result<std::unique_ptr<crypto::KeyProvider>> OpenKeyProvider(const config::Config& config,
                                                             const std::string& database_path,
                                                             std::string* from_file) {
  const auto env = config::ProcessEnvironment();
  if (const auto it = env.find("PACTUM_MASTER_KEY"); it != env.end()) {
    auto p = crypto::LocalKeyProvider::FromBase64(it->second, config.environment);
    if (!p.ok()) return InvalidArgument("PACTUM_MASTER_KEY: " + p.status().message());
    from_file->clear();
    return std::unique_ptr<crypto::KeyProvider>(std::move(p).value());
  }
  const std::string path =
      config.master_key_file.empty() ? config.data_dir + "/master.key" : config.master_key_file;
  *from_file = path;
  auto loaded = crypto::LocalKeyProvider::Load(path, config.environment);
  if (loaded.ok()) return std::unique_ptr<crypto::KeyProvider>(std::move(loaded).value());
  if (loaded.status().code() != StatusCode::kNotFound) return loaded.status();
  struct stat st {};
  if (::stat(database_path.c_str(), &st) == 0) {
    return FailedPrecondition("master key file " + path +
                              " is missing but the data directory holds a database; restore "
                              "the key file or set PACTUM_MASTER_KEY");
  }
  auto created = crypto::LocalKeyProvider::Create(path, config.environment);
  if (created.status().code() == StatusCode::kAlreadyExists) {  // another process won
    ASSIGN_OR_RETURN(auto other, crypto::LocalKeyProvider::Load(path, config.environment));
    return std::unique_ptr<crypto::KeyProvider>(std::move(other));
  }
  if (!created.ok()) return created.status();
  return std::unique_ptr<crypto::KeyProvider>(std::move(created).value());
}

// The database key, unwrapped from <db>-key; created with a new database only.
Result<crypto::SecretBytes> OpenDatabaseKey(crypto::KeyProvider& keys,
                                            const std::string& database_path) {
  const std::string path = database_path + "-key";
  const crypto::KeyRef ref{"database", "main"};
  auto key = crypto::LoadWrappedKeyFile(path, keys, ref);
  if (key.ok() || key.status().code() != StatusCode::kNotFound) return key;
  struct stat st {};
  if (::stat(database_path.c_str(), &st) == 0 && st.st_size > 0) {
    return FailedPrecondition("database key file " + path +
                              " is missing but the data directory holds a database; restore "
                              "it together with the database");
  }
  auto created = crypto::CreateWrappedKeyFile(path, keys, ref);
  if (created.status().code() == StatusCode::kAlreadyExists) {  // another process won
    return crypto::LoadWrappedKeyFile(path, keys, ref);
  }
  return created;
}

}  // namespace

Result<std::unique_ptr<crypto::KeyProvider>> OpenMasterKey(const config::Config& config,
                                                           std::string* from_file) {
  const auto env = config::ProcessEnvironment();
  if (const auto it = env.find("PACTUM_MASTER_KEY"); it != env.end()) {
    auto p = crypto::LocalKeyProvider::FromBase64(it->second, config.environment);
    if (!p.ok()) return InvalidArgument("PACTUM_MASTER_KEY: " + p.status().message());
    if (from_file != nullptr) from_file->clear();
    return std::unique_ptr<crypto::KeyProvider>(std::move(p).value());
  }
  const std::string path =
      config.master_key_file.empty() ? config.data_dir + "/master.key" : config.master_key_file;
  auto loaded = crypto::LocalKeyProvider::Load(path, config.environment);
  if (loaded.status().code() == StatusCode::kNotFound) {
    return FailedPrecondition("no master key: " + path +
                              " does not exist; set PACTUM_MASTER_KEY or master_key_file");
  }
  if (!loaded.ok()) return loaded.status();
  if (from_file != nullptr) *from_file = path;
  return std::unique_ptr<crypto::KeyProvider>(std::move(loaded).value());
}

Result<DataDirectory> OpenDataDirectory(const config::Config& config, MetricsRegistry* metrics,
                                        DirectoryAccess access) {
  RETURN_IF_ERROR(MakeDirectories(config.data_dir, 0700));
  DataDirectory out;
  auto lock =
      FileLock::Acquire(config.data_dir + "/pactum.lock", access == DirectoryAccess::kExclusive);
  if (!lock.ok()) {
    if (lock.status().code() != StatusCode::kUnavailable) return lock.status();
    return FailedPrecondition("another pactum process is using " + config.data_dir +
                              "; stop the server first");
  }
  out.lock = std::move(lock).value();
  // Opening is serialized across processes (briefly): the first start creates the keys
  // and the database, and migrations run once.
  ASSIGN_OR_RETURN(const FileLock opening,
                   FileLock::Acquire(config.data_dir + "/pactum.open.lock", true, true));
  const std::string database_path = config.data_dir + "/pactum.db";
  ASSIGN_OR_RETURN(out.keys, OpenKeyProvider(config, database_path, &out.master_key_file));
  ASSIGN_OR_RETURN(crypto::SecretBytes db_key, OpenDatabaseKey(*out.keys, database_path));
  store::SqliteOptions o;
  o.path = database_path;
  o.key = std::make_shared<const crypto::SecretBytes>(std::move(db_key));
  o.busy_timeout_ms = static_cast<int>(config.database.busy_timeout_ms);
  o.read_connections = static_cast<int>(config.database.read_connections);
  o.cache_mib = static_cast<int>(config.database.cache_mib);
  o.synchronous_full = config.database.synchronous == "full";
  o.metrics = metrics;
  // With backups on, only the backup side checkpoints (store/change_capture.h): every process
  // opening the database must agree, or frames would reach the database file unshipped.
  o.external_checkpoints = config.backup.mode == "on";
  ASSIGN_OR_RETURN(out.db, store::OpenSqliteDatabase(o));
  return out;
}

bool MasterKeyInDataDirectory(const config::Config& config, const DataDirectory& data) {
  if (data.master_key_file.empty()) return false;
  // Both exist by now; weakly_canonical also copes if one went away meanwhile.
  std::error_code ec;
  const auto dir = std::filesystem::weakly_canonical(config.data_dir, ec);
  if (ec) return false;
  const auto key = std::filesystem::weakly_canonical(data.master_key_file, ec);
  if (ec) return false;
  auto k = key.begin();
  for (auto d = dir.begin(); d != dir.end(); ++d, ++k) {
    if (d->empty()) continue;  // a trailing separator
    if (k == key.end() || *k != *d) return false;
  }
  return k != key.end();
}

void WarnIfMasterKeyInDataDirectory(const config::Config& config, const DataDirectory& data) {
  if (!MasterKeyInDataDirectory(config, data)) return;
  log::Warn("keys",
            "the master key file lies inside the data directory, so every copy or backup of "
            "the directory carries the key that decrypts it; move it elsewhere and set "
            "PACTUM_MASTER_KEY_FILE (or master_key_file) to it, see \"Moving the master key "
            "out of the data directory\" in docs/operations.md",
            {{"master_key_file", data.master_key_file}, {"data_dir", config.data_dir}});
}

std::optional<OpenedDirectory> LoadAndOpen(const CommonOptions& options, DirectoryAccess access,
                                           int* exit_code,
                                           const std::function<void(config::Config&)>& flags) {
  auto cfg = LoadConfig(options, flags);
  if (!cfg) {
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  auto data = OpenDataDirectory(*cfg, nullptr, access);
  if (!data.ok()) {
    PrintError(data.status().message());
    *exit_code = kExitFailure;
    return std::nullopt;
  }
  return OpenedDirectory{std::move(cfg).value(), std::move(data).value()};
}

crypto::PasswordParams PasswordParamsFrom(const config::Config& config) {
  crypto::PasswordParams p;
  p.passes = static_cast<uint64_t>(config.auth.argon2_passes);
  p.memory_bytes = static_cast<size_t>(config.auth.argon2_memory_mib) << 20;
  return p;
}

Result<CreatedTenant> CreateTenantWithAdmin(
    const config::Config& config, DataDirectory& data, std::string_view slug,
    std::string_view admin_email, std::string_view admin_name,
    const std::function<Status(std::string_view)>& before_commit) {
  SystemClock clock;
  tenant::TenantKeys keys(*data.keys, clock);
  tenant::TenantService tenants(*data.db, clock, keys);
  ASSIGN_OR_RETURN(auto audit_log, OpenAuditLog(config, data, clock));
  auth::UserService users(*data.db, clock, PasswordParamsFrom(config), *audit_log);
  ASSIGN_OR_RETURN(auth::OneTimePassword password, users.MakeOneTimePassword());
  if (before_commit) RETURN_IF_ERROR(before_commit(password.plain));
  CreatedTenant out;
  RETURN_IF_ERROR(data.db->Write([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(out.tenant, tenants.CreateIn(session, slug));
    ASSIGN_OR_RETURN(out.admin, users.Insert(session, out.tenant.id, admin_email, admin_name,
                                             auth::Role::kAdmin, password));
    // In the platform's chain and in the new tenant's own.
    audit::Event created{.action = "tenant.create",
                         .target = "tenant:" + std::to_string(out.tenant.id)};
    created.details = {{"slug", out.tenant.slug}};
    created.actor = audit::Actor::System(0);
    RETURN_IF_ERROR(audit_log->Append(session, created));
    audit::Event admin{.action = "user.create", .target = "user:" + std::to_string(out.admin.id)};
    admin.details = {{"email", out.admin.email}, {"role", "admin"}};
    admin.actor = audit::Actor::System(out.tenant.id);
    return audit_log->Append(session, admin);
  }));
  out.one_time_password = std::move(password.plain);
  return out;
}

Result<audit::AuditSigner> OpenAuditSigner(const config::Config& config, DataDirectory& data) {
  auto signer = audit::OpenAuditSigner(config.data_dir, *data.keys, /*create=*/false);
  if (signer.status().code() == StatusCode::kNotFound) {
    // A new key only for a trail without events: beside them it would hide that the key
    // that signed their checkpoints was lost.
    ASSIGN_OR_RETURN(const bool any, AuditTrailHasEvents(*data.db));
    if (any) return MissingAuditKey(config);
    signer = audit::OpenAuditSigner(config.data_dir, *data.keys, /*create=*/true);
  }
  return signer;
}

Result<std::unique_ptr<audit::SqlAuditLog>> OpenAuditLog(const config::Config& config,
                                                         DataDirectory& data, const Clock& clock) {
  ASSIGN_OR_RETURN(auto signer, OpenAuditSigner(config, data));
  ASSIGN_OR_RETURN(auto redact_key, signer.RedactKey());
  return std::make_unique<audit::SqlAuditLog>(*data.db, clock, std::move(redact_key));
}

Result<bool> AuditTrailHasEvents(store::Database& db) {
  bool any = false;
  RETURN_IF_ERROR(db.Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT CASE WHEN EXISTS (SELECT 1 FROM "
                                              "audit_events) THEN 1 ELSE 0 END"));
    any = !rows.empty() && rows[0].Int(0) != 0;
    return Status::Ok();
  }));
  return any;
}

Status MissingAuditKey(const config::Config& config) {
  return FailedPrecondition("audit signing key file " + config.data_dir + "/" +
                            std::string(audit::kSigningKeyFile) +
                            " is missing but the audit trail holds events; restore it from the "
                            "backup (it is kept with the master key)")
      .WithReason(std::string(kAuditKeyMissing));
}

}  // namespace pactum::cli
