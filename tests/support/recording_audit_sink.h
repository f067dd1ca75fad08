#pragma once

// An AuditSink that keeps events in memory, for unit tests of services whose events are
// not what the test is about (the audit trail's own tests use the real SqlAuditLog).
// Thread-safe. Append does not follow the caller's transaction.

#include <mutex>
#include <vector>

#include "audit/audit_sink.h"

namespace pactum::testing_support {

class RecordingAuditSink final : public audit::AuditSink {
 public:
  Status Append(store::Session& /*session*/, const audit::Event& event) override {
    return Record(event);
  }
  Status Record(const audit::Event& event) override {
    const std::lock_guard lock(mu_);
    events_.push_back(event);
    return Status::Ok();
  }
  std::vector<audit::Event> events() const {
    const std::lock_guard lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<audit::Event> events_;  // GUARDED_BY(mu_)
};

// One shared sink for tests that need somewhere to send events.
inline RecordingAuditSink& TestAudit() {
  static RecordingAuditSink sink;
  return sink;
}

// The actor tests act as when who acts does not matter.
inline audit::Actor TestActor() { return audit::Actor::System(0); }

}  // namespace pactum::testing_support
