#include "auth/login_throttle.h"

#include <algorithm>

namespace pactum::auth {
namespace {

std::string AccountKey(std::string_view account) { return "a:" + std::string(account); }
std::string AddressKey(std::string_view address) { return "i:" + std::string(address); }

}  // namespace

int64_t LoginThrottle::Wait(const Entry& e, const ThrottlePolicy& policy,
                            std::chrono::system_clock::time_point now) const {
  if (now - e.last >= 2 * policy.max_delay) return 0;  // quiet long enough: forgiven
  // The free failures are answered as usual; the attempt after the last of them already
  // waits 1 s, and every further failure doubles the wait.
  const int over = e.failures - policy.free_failures;
  if (over < 0) return 0;
  const int64_t max = policy.max_delay.count();
  const int64_t delay = over >= 40 ? max : std::min<int64_t>(int64_t{1} << over, max);
  const auto until = e.last + std::chrono::seconds(delay);
  if (now >= until) return 0;
  return std::chrono::ceil<std::chrono::seconds>(until - now).count();
}

Status LoginThrottle::Check(std::string_view account, std::string_view address,
                            int64_t* retry_after) {
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  int64_t wait = 0;
  if (auto it = account.empty() ? entries_.end() : entries_.find(AccountKey(account));
      it != entries_.end()) {
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
    // Full: forget the entry that failed longest ago, preferring one no longer slowed
    // down, so a flood of new keys does not wipe out a target's back-off.
    auto idle = [&](const Entry& e) {
      return Wait(e, account_, now) == 0 && Wait(e, address_, now) == 0;
    };
    auto victim = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      const bool it_idle = idle(it->second);
      const bool victim_idle = idle(victim->second);
      if ((it_idle && !victim_idle) ||
          (it_idle == victim_idle && it->second.last < victim->second.last)) {
        victim = it;
      }
    }
    entries_.erase(victim);
  }
  Entry& e = entries_[key];
  if (now - e.last >= 2 * std::max(account_.max_delay, address_.max_delay)) e.failures = 0;
  ++e.failures;
  e.last = now;
}

void LoginThrottle::Failure(std::string_view account, std::string_view address) {
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  if (!account.empty()) Record(AccountKey(account), now);
  Record(AddressKey(address), now);
}

void LoginThrottle::Success(std::string_view account) {
  std::lock_guard lock(mu_);
  entries_.erase(AccountKey(account));
}

}  // namespace pactum::auth
