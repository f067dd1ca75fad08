#pragma once

// The request and api streams: one event per HTTP request (and one more per call made
// with an API token), too many to write one transaction each. Events are queued and
// written in batches on a thread of its own, every `interval` or `max_batch` events.
//
// Failure is not silent: while a batch cannot be written it is kept and retried once per
// `interval`, and Admit() refuses new requests (503 audit_unavailable) until a batch
// succeeds, so no request is answered 2xx once its predecessors' batch is known to have
// failed. A crash
// loses at most the events queued since the last batch: `interval` (200 ms by default)
// plus the time one batch takes to write.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "audit/sql_audit_log.h"
#include "common/metrics.h"

namespace pactum::audit {

struct RecorderOptions {
  size_t max_batch = 1000;
  std::chrono::milliseconds interval{200};
  size_t max_queued = 200000;  // beyond this, events are dropped (and counted) while failing
};

class RequestRecorder {
 public:
  // Starts the writer thread. `metrics` may be null.
  RequestRecorder(SqlAuditLog& log, RecorderOptions options, MetricsRegistry* metrics);
  // Writes what is queued (one last attempt), then stops.
  ~RequestRecorder();
  RequestRecorder(const RequestRecorder&) = delete;
  RequestRecorder& operator=(const RequestRecorder&) = delete;

  // OK while events are being recorded; kUnavailable (audit_unavailable) after a failed
  // batch until one succeeds, or while the queue is full. Takes no lock: asked twice for
  // every request.
  Status Admit() const;

  // Queues an event. Never blocks on the database.
  void Add(Event event);

  // Writes everything queued now, on the caller's thread. For tests and shutdown.
  Status Flush();

 private:
  void Run();
  Status WriteQueued(std::unique_lock<std::mutex>& lock);
  void UpdateRefusing();  // with mu_ held

  SqlAuditLog& log_;
  const RecorderOptions options_;
  Counter* written_ = nullptr;
  Counter* failed_batches_ = nullptr;
  Counter* dropped_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Events are added to `queue_`; the writer swaps it with `spare_` (empty, its capacity
  // kept from the batch before), so taking a batch moves no event and the queue does
  // not grow its storage again for every batch.
  std::vector<Event> queue_;  // GUARDED_BY(mu_)
  std::vector<Event> spare_;  // GUARDED_BY(mu_)
  bool failing_ = false;      // GUARDED_BY(mu_): the last batch failed
  bool writing_ = false;      // GUARDED_BY(mu_): a batch is being written
  bool stop_ = false;         // GUARDED_BY(mu_)
  // failing_ or a full queue, for Admit(); written with mu_ held.
  std::atomic<bool> refusing_{false};
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace pactum::audit
