#pragma once

// An AuditSink that forwards to a real one, except while a test has it fail: then every
// event is refused as a full disk or a broken database would refuse it.

#include <atomic>

#include "audit/audit_sink.h"

namespace pactum::testing_support {

class FaultAuditSink final : public audit::AuditSink {
 public:
  explicit FaultAuditSink(audit::AuditSink& inner) : inner_(inner) {}
  std::atomic<bool> fail{false};

  Status Append(store::Session& session, const audit::Event& event) override {
    if (fail) return audit::AuditUnavailable();
    return inner_.Append(session, event);
  }
  Status Record(const audit::Event& event) override {
    if (fail) return audit::AuditUnavailable();
    return inner_.Record(event);
  }

 private:
  audit::AuditSink& inner_;
};

}  // namespace pactum::testing_support
