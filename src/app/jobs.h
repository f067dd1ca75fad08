#pragma once

// The background work of `pactum serve` besides backups (which add their own jobs,
// backup/backup_service.h), as jobs of the server's one scheduler:
//   housekeeping      hourly, at once at start: contracts in the trash for 30 days go for
//                     good with their documents; stored objects without a document (a
//                     crash between write and commit) and unfinished uploads go after a
//                     grace period
//   audit-checkpoint  every 5 s: chains are checkpointed every 1000 events or 60 s
//                     (the Checkpointer decides); the last one is signed at shutdown
// The objects passed in must outlive the scheduler's run.

#include <chrono>

#include "audit/checkpoint.h"
#include "blob/local_blob_store.h"
#include "contract/contract_service.h"
#include "document/document_service.h"
#include "scheduler/scheduler.h"

namespace pactum::app {

struct ServeJobs {
  contract::ContractService& contracts;
  document::DocumentService& documents;
  blob::LocalBlobStore& blobs;
  std::chrono::minutes orphan_grace;
  audit::Checkpointer& checkpointer;
};

Status AddServeJobs(scheduler::Scheduler& scheduler, const ServeJobs& jobs);

}  // namespace pactum::app
