#pragma once

// A Database that forwards to a real one, except where a test switches a fault on.

#include <atomic>

#include "store/database.h"

namespace pactum::testing_support {

class FaultDatabase final : public store::Database {
 public:
  explicit FaultDatabase(store::Database& inner) : inner_(inner) {}
  std::atomic<bool> fail_all{false};     // every call answers kUnavailable
  std::atomic<bool> fail_writes{false};  // every write transaction answers kUnavailable
  // Write transactions run and commit, then answer kUnavailable (a COMMIT whose outcome
  // the caller cannot know).
  std::atomic<bool> fail_after_commit{false};
  std::atomic<int> write_calls{0};  // write transactions asked for, failed ones included

  Status Read(const std::function<Status(store::Session&)>& fn) override {
    if (fail_all) return Unavailable("injected fault", "FaultDatabase");
    return inner_.Read(fn);
  }
  Status Write(const std::function<Status(store::Session&)>& fn) override {
    ++write_calls;
    if (fail_all || fail_writes) return Unavailable("injected fault", "FaultDatabase");
    RETURN_IF_ERROR(inner_.Write(fn));
    if (fail_after_commit) return Unavailable("injected fault after commit", "FaultDatabase");
    return Status::Ok();
  }
  Status Ping() override {
    if (fail_all) return Unavailable("injected fault", "FaultDatabase");
    return inner_.Ping();
  }
  store::DatabaseInfo Info() const override { return inner_.Info(); }

 private:
  store::Database& inner_;
};

}  // namespace pactum::testing_support
