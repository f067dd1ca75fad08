#pragma once

// The verbs `pactum serve` answers on its control socket (control/control_server.h), in
// one place: a later command (export, files, keys) adds its verb to ServerVerbs and its
// dependency to ControlDeps, and calls control::CallServer from its command.
//
//   server.ping   {} -> {"version", "pid"}
//   backup.run    {} -> {"snapshot": manifest, "outcomes": [...], "snapshot_ms",
//                        "copy_ms", "verify_ms"}: a snapshot that started after the
//                        request, once it has ended (kFailedPrecondition when the server
//                        runs without backups)

#include "backup/backup_service.h"
#include "control/control_server.h"

namespace pactum::cli {

struct ControlDeps {
  backup::BackupService* backups = nullptr;  // null: backups are off
};

Result<control::Verbs> ServerVerbs(const ControlDeps& deps);

// The answer of backup.run for a snapshot's result, also what `pactum backup run` prints
// from when it took the snapshot itself.
nlohmann::json SnapshotAnswer(const backup::SnapshotResult& result);

}  // namespace pactum::cli
