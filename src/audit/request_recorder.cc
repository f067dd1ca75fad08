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
  return refusing_.load(std::memory_order_acquire) ? AuditUnavailable() : Status::Ok();
}

void RequestRecorder::UpdateRefusing() {
  refusing_.store(failing_ || queue_.size() >= options_.max_queued, std::memory_order_release);
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
    wake = queue_.size() == options_.max_batch;
    if (queue_.size() == options_.max_queued) UpdateRefusing();
  }
  if (wake) cv_.notify_all();
}

// Called with `lock` held; releases it while writing. One writer at a time.
Status RequestRecorder::WriteQueued(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [this] { return !writing_; });
  Status result = Status::Ok();
  while (!queue_.empty()) {
    // The whole queue when it fits a batch (a swap), else its oldest max_batch events.
    std::vector<Event> batch = std::move(spare_);
    batch.clear();
    if (queue_.size() <= options_.max_batch) {
      batch.swap(queue_);
    } else {
      const auto end = queue_.begin() + static_cast<ptrdiff_t>(options_.max_batch);
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
      queue_.erase(queue_.begin(), end);
    }
    UpdateRefusing();
    writing_ = true;
    lock.unlock();
    const Status s = log_.AppendBatch(batch);
    const size_t n = batch.size();
    if (s.ok()) batch.clear();  // the events go, outside the lock
    lock.lock();
    writing_ = false;
    if (!s.ok()) {
      // Keep the events, oldest first, and refuse new work until a batch is written.
      batch.insert(batch.end(), std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.end()));
      queue_.swap(batch);
      if (!failing_) {
        log::Error("audit", "the request stream cannot be written; refusing requests",
                   {{"events", static_cast<int64_t>(n)}, {"error", s.detail()}});
      }
      failing_ = true;
      UpdateRefusing();
      if (failed_batches_ != nullptr) failed_batches_->Add();
      result = s;
      break;
    }
    spare_ = std::move(batch);
    if (failing_) log::Info("audit", "the request stream is written again");
    failing_ = false;
    UpdateRefusing();
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
    // A full batch wakes the writer early, but not while batches fail: the batch kept for
    // the retry is as full as ever, so the writer would retry at once, again and again,
    // holding the lock between attempts (starving Add and Flush). A failing database is
    // tried again once per interval.
    cv_.wait_for(lock, options_.interval,
                 [this] { return stop_ || (!failing_ && queue_.size() >= options_.max_batch); });
    (void)WriteQueued(lock);
  }
  (void)WriteQueued(lock);
}

}  // namespace pactum::audit
