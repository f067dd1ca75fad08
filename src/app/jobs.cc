#include "app/jobs.h"

#include "common/log.h"

namespace pactum::app {
namespace {

constexpr std::string_view kJobsComponent = "serve";

Status Housekeeping(const ServeJobs& jobs) {
  Status first;
  auto purged = jobs.contracts.PurgeTrash();
  if (!purged.ok()) {
    log::Error(kJobsComponent, "purging the trash failed", {{"error", purged.status().ToString()}});
    first = purged.status();
  } else if (!purged->contract_ids.empty()) {
    jobs.documents.RemoveObjects(purged->blob_ids);
    log::Info(kJobsComponent, "purged contracts from the trash",
              {{"contracts", purged->contract_ids.size()}, {"documents", purged->blob_ids.size()}});
  }
  if (auto swept = jobs.documents.SweepOrphans(jobs.orphan_grace); !swept.ok()) {
    log::Error(kJobsComponent, "sweeping orphaned files failed",
               {{"error", swept.status().ToString()}});
    if (first.ok()) first = swept.status();
  } else if (*swept > 0) {
    log::Info(kJobsComponent, "removed orphaned files", {{"count", *swept}});
  }
  // A temporary file is written to once per MiB: at the slowest allowed upload rate that
  // is minutes apart, so only day-old ones are certainly abandoned.
  if (auto stale = jobs.blobs.RemoveStaleTemporaries(std::chrono::hours(24)); !stale.ok()) {
    if (first.ok()) first = stale.status();
  } else if (*stale > 0) {
    log::Info(kJobsComponent, "removed unfinished uploads", {{"count", *stale}});
  }
  return first;
}

}  // namespace

Status AddServeJobs(scheduler::Scheduler& scheduler, const ServeJobs& jobs) {
  RETURN_IF_ERROR(scheduler.Add("housekeeping", scheduler::Schedule::Every(std::chrono::hours(1)),
                                [jobs](std::stop_token) { return Housekeeping(jobs); }));
  return scheduler.Add("audit-checkpoint", scheduler::Schedule::Every(std::chrono::seconds(5)),
                       [&checkpointer = jobs.checkpointer](std::stop_token) {
                         // A failure is logged by the scheduler when it starts or changes.
                         return checkpointer.Run(/*force=*/false).status();
                       });
}

}  // namespace pactum::app
