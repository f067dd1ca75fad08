#include "auth/login_throttle.h"

#include <algorithm>

namespace pactum::auth {
namespace {

std::string AccountKey(std::string_view account) { return "a:" + std::string(account); }
std::string AddressKey(std::string_view address) { return "i:" + std::string(address); }

}  // namespace

int64_t LoginThrottle::Wait(const Entry& e, const ThrottlePolicy& policy,
                            std::chrono::system_clock::time_point now) const {
  const int over = e.failures - policy.free_failures;
  if (over <= 0) return 0;
  const int64_t max = policy.max_delay.count();
  const int64_t delay = over >= 40 ? max : std::min<int64_t>(int64_t{1} << (over - 1), max);
  const auto until = e.last + std::chrono::seconds(delay);
  if (now >= until) return 0;
  return std::chrono::ceil<std::chrono::seconds>(until - now).count();
}

Status LoginThrottle::Check(std::string_view account, std::string_view address,
                            int64_t* retry_after) {
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  int64_t wait = 0;
  if (auto it = entries_.find(AccountKey(account)); it != entries_.end()) {
    wait = std::max(wait, Wait(it->second, account_, now));
  }
  if (auto it = entries_.find(AddressKey(address)); it != entries_.end()) {
    wait = std::max(wait, Wait(it->second, address_, now));
  }
  if (retry_after != nullptr) *retry_after = wait;
  if (wait == 0) return Status::Ok();
  return Status(StatusCode::kResourceExhausted, "too many login attempts; try again later")
      .WithReason("rate_limited");
}

void LoginThrottle::Record(const std::string& key, std::chrono::system_clock::time_point now) {
  if (entries_.size() >= max_entries_ && entries_.find(key) == entries_.end()) {
    // Full: forget the entry that failed longest ago.
    auto oldest = std::min_element(
        entries_.begin(), entries_.end(),
        [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
    entries_.erase(oldest);
  }
  Entry& e = entries_[key];
  ++e.failures;
  e.last = now;
}

void LoginThrottle::Failure(std::string_view account, std::string_view address) {
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  Record(AccountKey(account), now);
  Record(AddressKey(address), now);
}

void LoginThrottle::Success(std::string_view account) {
  std::lock_guard lock(mu_);
  entries_.erase(AccountKey(account));
}

}  // namespace pactum::auth
