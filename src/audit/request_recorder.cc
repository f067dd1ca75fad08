#include "audit/request_recorder.h"

#include <vector>

#include "common/log.h"

namespace pactum::audit {

RequestRecorder::RequestRecorder(SqlAuditLog& log, RecorderOptions options,
                                 MetricsRegistry* metrics)
    : log_(log), options_(options) {
  if (metrics != nullptr) {
    written_ = &metrics->GetCounter("pactum_audit_request_events_total",
                                    "request and api audit events written");
    failed_batches_ = &metrics->GetCounter("pactum_audit_failed_batches_total",
                                           "request-stream batches that could not be written");
    dropped_ = &metrics->GetCounter("pactum_audit_dropped_events_total",
                                    "request-stream events dropped while the queue was full");
  }
  thread_ = std::thread([this] { Run(); });
}

RequestRecorder::~RequestRecorder() {
  {
    const std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status RequestRecorder::Admit() const {
  const std::lock_guard lock(mu_);
  if (failing_ || queue_.size() >= options_.max_queued) return AuditUnavailable();
  return Status::Ok();
}

void RequestRecorder::Add(Event event) {
  bool wake = false;
  {
    const std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_queued) {
      if (dropped_ != nullptr) dropped_->Add();
      return;
    }
    queue_.push_back(std::move(event));
    wake = queue_.size() >= options_.max_batch;
  }
  if (wake) cv_.notify_all();
}

// Called with `lock` held; releases it while writing. One writer at a time.
Status RequestRecorder::WriteQueued(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [this] { return !writing_; });
  Status result = Status::Ok();
  while (!queue_.empty()) {
    const size_t n = std::min(queue_.size(), options_.max_batch);
    std::vector<Event> batch(std::make_move_iterator(queue_.begin()),
                             std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(n)));
    writing_ = true;
    lock.unlock();
    const Status s = log_.AppendBatch(batch);
    lock.lock();
    writing_ = false;
    if (!s.ok()) {
      // Keep the events (they were moved from: put the batch back) and refuse new work.
      for (size_t i = 0; i < n; ++i) queue_[i] = std::move(batch[i]);
      if (!failing_) log::Error("audit", "the request stream cannot be written; refusing requests");
      failing_ = true;
      if (failed_batches_ != nullptr) failed_batches_->Add();
      result = s;
      break;
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    if (failing_) log::Info("audit", "the request stream is written again");
    failing_ = false;
    if (written_ != nullptr) written_->Add(n);
  }
  cv_.notify_all();
  return result;
}

Status RequestRecorder::Flush() {
  std::unique_lock lock(mu_);
  return WriteQueued(lock);
}

void RequestRecorder::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, options_.interval,
                 [this] { return stop_ || queue_.size() >= options_.max_batch; });
    (void)WriteQueued(lock);
  }
  (void)WriteQueued(lock);
}

}  // namespace pactum::audit
