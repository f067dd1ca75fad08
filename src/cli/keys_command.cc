// pactum keys rotate | check: the key hierarchy from the operator's side.

#include <iostream>

#include <nlohmann/json.hpp>

#include "audit/checkpoint.h"
#include "backup/backup_keys.h"
#include "backup/backup_service.h"
#include "cli/commands.h"
#include "cli/runtime.h"
#include "common/file_system.h"
#include "crypto/wrapped_key_file.h"
#include "tenant/tenant_keys.h"

namespace pactum::cli {
namespace {

crypto::KeyRef DatabaseKey() { return {"database", "main"}; }

std::string DatabaseKeyPath(const config::Config& cfg) { return cfg.data_dir + "/pactum.db-key"; }

crypto::KeyRef AuditSigningKey() { return {"audit-signing", "server"}; }

std::string AuditSigningKeyPath(const config::Config& cfg) {
  return cfg.data_dir + "/" + std::string(audit::kSigningKeyFile);
}

// New KEK version; the database key, the audit signing key and every tenant key
// rewrapped under it, and a new data key version for every tenant, in one transaction
// that also records "keys.rotate" on the platform's audit chain; then the old KEK
// versions are retired. Each step leaves a state the next start opens: until the last
// one, the key file still holds the old version too, and running rotate again finishes
// the job.
int Rotate(const CommonOptions& options) {
  // The rewrapped tenant keys must be on disk before the old master key versions go.
  int code = kExitOk;
  auto opened = LoadAndOpen(options, DirectoryAccess::kExclusive, &code,
                            [](config::Config& c) { c.database.synchronous = "full"; });
  if (!opened) return code;
  const config::Config& cfg = opened->config;
  DataDirectory& data = opened->data;
  // Before anything changes: a trail from before the audit signing key gets one now (to
  // record the rotation); a missing key beside existing events stops here.
  SystemClock clock;
  auto audit_log = OpenAuditLog(cfg, data, clock);
  if (!audit_log.ok()) {
    PrintError(audit_log.status().code() == StatusCode::kFailedPrecondition
                   ? audit_log.status().message()
                   : "cannot open the audit signing key: " + audit_log.status().message());
    return kExitFailure;
  }
  crypto::KeyProvider& keys = *data.keys;
  const uint32_t previous = keys.current_version();
  if (Status s = keys.AddVersion(); !s.ok()) {
    PrintError("cannot add a master key version: " + s.message());
    return kExitFailure;
  }
  const uint32_t version = keys.current_version();
  if (auto s = crypto::RewrapKeyFile(DatabaseKeyPath(cfg), keys, DatabaseKey()); !s.ok()) {
    PrintError("rewrapping the database key: " + s.status().message());
    return kExitFailure;
  }
  if (auto s = crypto::RewrapKeyFile(AuditSigningKeyPath(cfg), keys, AuditSigningKey()); !s.ok()) {
    PrintError("rewrapping the audit signing key: " + s.status().message());
    return kExitFailure;
  }
  // The backup key, and its copy on every target under the new version, before the old
  // version is retired: a restore needs nothing but a target and the master key.
  bool backup_key_rewrapped = false;
  bool backup_key_on_every_target = false;
  {
    auto targets =
        backup::OpenTargets(LocalFileSystem(), config::BackupDirectory(cfg), cfg.backup.targets);
    std::vector<backup::BackupTarget*> ptrs;
    if (targets.ok()) {
      for (auto& t : *targets) ptrs.push_back(t.get());
    }
    auto r = backup::RewrapBackupKey(keys, cfg.data_dir + "/backup.key", ptrs);
    if (r.ok()) {
      backup_key_rewrapped = true;
      backup_key_on_every_target = *r && targets.ok();
    } else if (r.status().code() != StatusCode::kNotFound) {
      PrintError("rewrapping the backup key: " + r.status().message());
      return kExitFailure;
    }
  }
  tenant::TenantKeys tenant_keys(keys, clock);
  int64_t rewrapped = 0;
  int64_t started = 0;
  Status s = data.db->Write([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(rewrapped, tenant_keys.RewrapAll(session));
    ASSIGN_OR_RETURN(auto tenants, session.Query("SELECT id FROM tenants ORDER BY id"));
    for (const store::Row& t : tenants) {
      RETURN_IF_ERROR(tenant_keys.AddVersion(session, t.Int(0)).status());
      ++started;
    }
    audit::Event rotated;
    rotated.action = "keys.rotate";
    rotated.target = "master-key";
    rotated.details = {{"master_key_version", version},
                       {"previous_master_key_version", previous},
                       {"tenant_keys_rewrapped", rewrapped},
                       {"tenant_key_versions_started", started}};
    rotated.actor = audit::Actor::System(0);
    return (*audit_log)->Append(session, rotated);
  });
  if (!s.ok()) {
    PrintError("rewrapping tenant keys: " + s.message());
    return kExitFailure;
  }
  if (Status r = keys.RemoveVersionsBelow(version); !r.ok()) {
    PrintError("retiring old master key versions: " + r.message());
    return kExitFailure;
  }
  if (options.json) {
    std::cout << nlohmann::json{{"master_key_version", version},
                                {"previous_master_key_version", previous},
                                {"database_key_rewrapped", true},
                                {"audit_signing_key_rewrapped", true},
                                {"backup_key_rewrapped", backup_key_rewrapped},
                                {"backup_key_on_every_target", backup_key_on_every_target},
                                {"tenant_keys_rewrapped", rewrapped},
                                {"tenant_key_versions_started", started}}
              << std::endl;
  } else {
    std::cout << "master key version " << version << " (was " << previous
              << "): database key, audit signing key and " << rewrapped
              << " tenant key(s) rewrapped, " << started
              << " new tenant key version(s); older master key versions retired" << std::endl;
    if (backup_key_rewrapped && !backup_key_on_every_target) {
      std::cout << "the backup key's copy did not reach every backup target; the server gives "
                   "it to them when they are back"
                << std::endl;
    }
  }
  return kExitOk;
}

// Unwraps every key with the current master key.
int Check(const CommonOptions& options) {
  int code = kExitOk;
  auto opened = LoadAndOpen(options, DirectoryAccess::kShared, &code);  // unwraps the database key
  if (!opened) return code;
  const config::Config& cfg = opened->config;
  DataDirectory& data = opened->data;
  SystemClock clock;
  tenant::TenantKeys tenant_keys(*data.keys, clock);
  int64_t verified = 0;
  Status s = data.db->Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(verified, tenant_keys.VerifyAll(session));
    return Status::Ok();
  });
  if (!s.ok()) {
    PrintError("tenant keys: " + s.message());
    return kExitFailure;
  }
  // The audit signing key: absent is fine only while nothing was ever recorded.
  std::string audit_key = "ok";
  auto signer = audit::OpenAuditSigner(cfg.data_dir, *data.keys, /*create=*/false);
  if (signer.status().code() == StatusCode::kNotFound) {
    auto any = AuditTrailHasEvents(*data.db);
    if (!any.ok()) {
      PrintError(any.status().message());
      return kExitFailure;
    }
    if (*any) {
      PrintError(MissingAuditKey(cfg).message());
      return kExitFailure;
    }
    audit_key = "absent";
  } else if (!signer.ok()) {
    PrintError("audit signing key: " + signer.status().message());
    return kExitFailure;
  }
  if (options.json) {
    std::cout << nlohmann::json{{"master_key_version", data.keys->current_version()},
                                {"environment", data.keys->environment()},
                                {"database_key", "ok"},
                                {"audit_signing_key", audit_key},
                                {"tenant_key_versions", verified}}
              << std::endl;
  } else {
    std::cout << "master key version " << data.keys->current_version() << " ("
              << data.keys->environment() << "): database key, "
              << (audit_key == "ok" ? "audit signing key" : "no audit signing key yet") << " and "
              << verified << " tenant key version(s) open" << std::endl;
  }
  return kExitOk;
}

}  // namespace

void AddKeysCommand(CLI::App& app, std::function<int()>& run) {
  auto* keys = app.add_subcommand("keys", "Manage the encryption keys");
  keys->require_subcommand(1);

  auto rotate_opts = std::make_shared<CommonOptions>();
  auto* rotate = keys->add_subcommand(
      "rotate",
      "Start a new master key version, rewrap every data key under it, start a new data key "
      "version per tenant, and retire the old master key versions (the server must be "
      "stopped)");
  AddCommonOptions(*rotate, *rotate_opts);
  rotate->callback([&run, rotate_opts] { run = [rotate_opts] { return Rotate(*rotate_opts); }; });

  auto check_opts = std::make_shared<CommonOptions>();
  auto* check = keys->add_subcommand(
      "check",
      "Verify that the master key opens the database key, the audit signing key and every "
      "tenant key");
  AddCommonOptions(*check, *check_opts);
  check->callback([&run, check_opts] { run = [check_opts] { return Check(*check_opts); }; });
}

}  // namespace pactum::cli
