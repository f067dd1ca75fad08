#include "cli/control_verbs.h"

#include <unistd.h>

#include "common/version.h"

namespace pactum::cli {

nlohmann::json SnapshotAnswer(const backup::SnapshotResult& result) {
  return {{"snapshot", result.manifest.ToJson()},
          {"outcomes", result.OutcomesJson()},
          {"snapshot_ms", result.snapshot_ms},
          {"copy_ms", result.copy_ms},
          {"verify_ms", result.verify_ms}};
}

Result<control::Verbs> ServerVerbs(const ControlDeps& deps) {
  control::Verbs verbs;
  RETURN_IF_ERROR(verbs.Add("server.ping", [](const control::Call&) -> Result<nlohmann::json> {
    return nlohmann::json{{"version", kVersion}, {"pid", static_cast<int64_t>(::getpid())}};
  }));
  RETURN_IF_ERROR(verbs.Add(
      "backup.run", [backups = deps.backups](const control::Call& call) -> Result<nlohmann::json> {
        if (backups == nullptr) {
          return FailedPrecondition("the server runs without backups (backup.mode = off)");
        }
        ASSIGN_OR_RETURN(const backup::SnapshotResult result, backups->RequestSnapshot(call.stop));
        return SnapshotAnswer(result);
      }));
  return verbs;
}

}  // namespace pactum::cli
