#include "backup/restore_directory.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "audit/checkpoint.h"
#include "audit/event_codec.h"
#include "audit/sql_audit_log.h"
#include "audit/verifier.h"
#include "backup/backup_keys.h"
#include "common/files.h"
#include "crypto/secret.h"
#include "crypto/wrapped_key_file.h"
#include "store/sqlite_database.h"

namespace pactum::backup {
namespace {

namespace fs = std::filesystem;

constexpr size_t kKeyFileLimit = size_t{64} * 1024;

std::string Normal(const std::string& path) {
  fs::path p = fs::absolute(path).lexically_normal();
  if (!p.has_filename() && p.has_parent_path()) p = p.parent_path();  // "dir/"
  return p.string();
}

// A local target's directory: one per target name under the backup directory
// (OpenTargets).
std::string TargetPath(const std::string& dir, const std::string& name) {
  return Normal(dir + "/" + name);
}

// Copies a key file through locked memory, never over an existing file.
Status CopyKeyFile(const std::string& from, const std::string& to) {
  ASSIGN_OR_RETURN(const crypto::SecretBytes text, crypto::ReadSecretFile(from, kKeyFileLimit));
  return WriteFileExclusive(to, {reinterpret_cast<const char*>(text.data()), text.size()}, 0600);
}

// The lines of `text` that read as checkpoints, each once (a line may have travelled
// twice, in a snapshot and in the segment after it); `*unreadable` counts the others.
std::vector<audit::Checkpoint> ParseEachLine(std::string_view text, int64_t* unreadable) {
  std::vector<audit::Checkpoint> out;
  std::set<std::string_view> seen;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line =
        text.substr(0, nl == std::string_view::npos ? text.size() : nl + 1);
    text.remove_prefix(line.size());
    if (!seen.insert(line).second) continue;
    auto parsed = audit::ParseCheckpointLines(line);
    if (parsed.ok() && parsed->size() == 1) {
      out.push_back(parsed->front());
    } else {
      ++*unreadable;
    }
  }
  return out;
}

// The restore's steps once the destination is made and locked; everything it writes goes
// under `dir`.
class DirectoryRestore {
 public:
  DirectoryRestore(const DirectoryRestoreRequest& request, const Clock& clock, std::string dir)
      : request_(request), clock_(clock), dir_(std::move(dir)) {}

  Result<DirectoryRestoreReport> Run() {
    DirectoryRestoreReport report;
    report.dir = dir_;
    Progress("keys", 0, 0);
    if (!request_.kek_file.empty()) {
      RETURN_IF_ERROR(CopyKeyFile(request_.kek_file, dir_ + "/master.key"));
    }
    RestoreRequest restore;
    restore.at_ms = request_.at_ms;
    restore.db_path = dir_ + "/pactum.db";
    ASSIGN_OR_RETURN(restore.db_key,
                     crypto::CreateWrappedKeyFile(dir_ + "/pactum.db-key", *request_.kek,
                                                  crypto::KeyRef{"database", "main"}));
    restore.targets = request_.targets;
    restore.keys = TargetKeyLookup(*request_.kek, request_.targets);
    restore.environment = request_.environment;
    restore.progress = request_.progress;
    ASSIGN_OR_RETURN(report.database, Restore(restore));
    report.notes = std::move(report.database.notes);
    report.database.notes.clear();
    const std::string checkpoint_lines = std::move(report.database.checkpoints);
    report.database.checkpoints.clear();

    // The keys the restored directory needs beside its database.
    Progress("keys", 1, 0);
    auto signing =
        FetchKeyFile(*request_.kek, "audit-signing", {"audit-signing", "server"}, request_.targets);
    const bool have_signing_key = signing.ok();
    if (have_signing_key) {
      RETURN_IF_ERROR(
          WriteFileExclusive(dir_ + "/" + std::string(audit::kSigningKeyFile), *signing, 0600));
    } else if (signing.status().code() != StatusCode::kNotFound) {
      return signing.status();
    } else {
      report.notes.push_back(
          "no audit signing key on the targets: a new one is made only for an empty trail");
    }
    RETURN_IF_ERROR(OpenBackupKey(*request_.kek, dir_ + "/backup.key", request_.targets).status());

    Progress("audit trail", 0, 0);
    // Opened as the server would open it (an older snapshot's schema is migrated), with
    // its log folded into the file when it closes: one self-contained database file.
    store::SqliteOptions options;
    options.path = restore.db_path;
    options.key = std::make_shared<const crypto::SecretBytes>(std::move(restore.db_key));
    options.synchronous_full = true;
    ASSIGN_OR_RETURN(const std::unique_ptr<store::Database> db, store::OpenSqliteDatabase(options));
    RETURN_IF_ERROR(RestoreAuditTrail(*db, have_signing_key, checkpoint_lines, report));
    Backups(report);
    return report;
  }

 private:
  void Progress(std::string_view stage, uint64_t done, uint64_t total) const {
    if (request_.progress) request_.progress(stage, done, total);
  }

  // The checkpoints that hold for the restored chains, then the restore's own event.
  Status RestoreAuditTrail(store::Database& db, bool have_signing_key,
                           std::string_view checkpoint_lines, DirectoryRestoreReport& report) {
    bool any_event = false;
    RETURN_IF_ERROR(db.Read([&](store::Session& session) -> Status {
      ASSIGN_OR_RETURN(auto rows, session.Query("SELECT CASE WHEN EXISTS (SELECT 1 FROM "
                                                "audit_events) THEN 1 ELSE 0 END"));
      any_event = !rows.empty() && rows[0].Int(0) != 0;
      return Status::Ok();
    }));
    int64_t unreadable = 0;
    std::vector<audit::Checkpoint> carried = ParseEachLine(checkpoint_lines, &unreadable);
    if (!have_signing_key && any_event) {
      // Events need the key of their chain: one made now could not vouch for them.
      report.audit_checkpoints_left_out = static_cast<int64_t>(carried.size()) + unreadable;
      report.notes.push_back(
          "the restore is not in the audit trail: its events came without their signing key");
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(const audit::AuditSigner signer,
                     audit::OpenAuditSigner(dir_, *request_.kek, /*create=*/!have_signing_key));
    ASSIGN_OR_RETURN(crypto::SecretBytes redact_key, signer.RedactKey());
    audit::SqlAuditLog log(db, clock_, std::move(redact_key));

    ASSIGN_OR_RETURN(const std::vector<audit::Checkpoint> kept,
                     audit::CheckpointsCovering(log, carried, signer.public_key()));
    report.audit_checkpoints = static_cast<int64_t>(kept.size());
    report.audit_checkpoints_left_out =
        static_cast<int64_t>(carried.size() - kept.size()) + unreadable;
    if (!kept.empty()) {
      std::string text;
      for (const audit::Checkpoint& c : kept) text += audit::CheckpointLine(c);
      RETURN_IF_ERROR(
          WriteFileExclusive(dir_ + "/" + std::string(audit::kCheckpointFile), text, 0600));
    } else if (any_event) {
      report.notes.push_back(
          "no signed audit checkpoint in the backups holds for the restored trail; the "
          "server signs new ones");
    }

    const RestoreReport& r = report.database;
    audit::Event e;
    e.action = "backup.restore";
    e.target = "database";
    e.details = {{"at", request_.at_text},
                 {"snapshot", r.snapshot_id},
                 {"snapshot_target", r.snapshot_target},
                 {"restored_to", audit::FormatTimeMs(r.restored_to_ms)},
                 {"segments", r.segments},
                 {"transactions", r.commits},
                 {"audit_checkpoints", report.audit_checkpoints}};
    e.actor = audit::Actor::System(0);
    RETURN_IF_ERROR(db.Write([&](store::Session& s) { return log.Append(s, e); }));
    report.recorded = true;
    return Status::Ok();
  }

  void Backups(DirectoryRestoreReport& report) const {
    const BackupPlan& next = request_.restored_backups;
    report.backups.on = next.on;
    report.backups.dir = Normal(next.dir);
    for (const std::string& name : next.targets) {
      report.backups.targets.push_back({name, TargetPath(next.dir, name)});
    }
    std::vector<std::string> source;
    for (const std::string& name : request_.source_backups.targets) {
      source.push_back(TargetPath(request_.source_backups.dir, name));
    }
    report.backups.same_targets = !report.backups.targets.empty();
    for (const DirectoryRestoreReport::Target& t : report.backups.targets) {
      if (std::find(source.begin(), source.end(), t.path) == source.end()) {
        report.backups.same_targets = false;
      }
    }
  }

  const DirectoryRestoreRequest& request_;
  const Clock& clock_;
  const std::string dir_;
};

}  // namespace

Status CheckRestoreDestination(const std::string& to, const std::string& data_dir) {
  if (to.empty()) return InvalidArgument("no directory to restore into");
  const std::string dir = Normal(to);
  if (dir == Normal(data_dir)) {
    return InvalidArgument(dir + " is the configured data directory; restore into a new directory");
  }
  std::error_code ec;
  if (fs::exists(dir, ec) && (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec))) {
    return AlreadyExists(dir + " is not empty; restore into a new directory");
  }
  return Status::Ok();
}

Result<DirectoryRestoreReport> RestoreDataDirectory(const DirectoryRestoreRequest& request,
                                                    const Clock& clock) {
  if (request.kek == nullptr) return InvalidArgument("a restore needs the master key");
  if (request.targets.empty()) return InvalidArgument("a restore needs a backup target");
  RETURN_IF_ERROR(CheckRestoreDestination(request.to, request.data_dir));
  const std::string dir = Normal(request.to);
  std::error_code ec;
  const bool created = !fs::exists(dir, ec);
  RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  auto undo = [&] {
    if (created) {
      fs::remove_all(dir, ec);
    } else {
      for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
    }
  };
  auto lock = FileLock::Acquire(dir + "/pactum.lock", /*exclusive=*/true);
  if (!lock.ok()) {
    if (created) undo();
    return FailedPrecondition("another pactum process is using " + dir);
  }
  auto report = DirectoryRestore(request, clock, dir).Run();
  if (!report.ok()) undo();
  return report;
}

}  // namespace pactum::backup
