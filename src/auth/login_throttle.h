#pragma once

// Exponential back-off for login attempts, per account (tenant + email as submitted, so
// it behaves the same for accounts that do not exist) and per source address. A key's
// first `free_failures` consecutive failures are answered as usual; from then on each
// attempt must wait 1 s, 2 s, 4 s ... (at most `max_delay`) after the last failure: exactly
// `free_failures` failures come before the first refusal of an attempt made at once (429
// at the API). A success clears the account's key, and a key quiet for twice `max_delay`
// starts over. In memory (a restart forgets it; the account lockout itself is stored with
// the user), bounded in size: when full, an entry no longer in back-off is forgotten
// first. Thread-safe.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/status.h"

namespace pactum::auth {

struct ThrottlePolicy {
  int free_failures = 3;  // failures before the first wait
  std::chrono::seconds max_delay{std::chrono::minutes(15)};
};

class LoginThrottle {
 public:
  LoginThrottle(const Clock& clock, ThrottlePolicy account, ThrottlePolicy address,
                size_t max_entries = 100'000)
      : clock_(clock), account_(account), address_(address), max_entries_(max_entries) {}

  // kResourceExhausted ("too many attempts", reason "rate_limited") while either key is
  // in back-off; the wait in whole seconds goes to `retry_after`. An empty `account`
  // (here and in Failure) counts the address alone.
  Status Check(std::string_view account, std::string_view address, int64_t* retry_after);
  void Failure(std::string_view account, std::string_view address);
  void Success(std::string_view account);

 private:
  struct Entry {
    int failures = 0;
    std::chrono::system_clock::time_point last;
  };
  // Seconds until `e` may try again under `policy`; 0 when it may now.
  int64_t Wait(const Entry& e, const ThrottlePolicy& policy,
               std::chrono::system_clock::time_point now) const;
  void Record(const std::string& key, std::chrono::system_clock::time_point now);

  const Clock& clock_;
  const ThrottlePolicy account_;
  const ThrottlePolicy address_;
  const size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
};

}  // namespace pactum::auth
