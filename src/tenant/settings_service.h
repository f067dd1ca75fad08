#pragma once

// A tenant's security settings (DESIGN §4 GET/PUT /api/v1/settings): whether two-factor
// login is required, the addresses its sessions and tokens may come from, session and
// download-link lifetimes, and whether AI features may see its data. A tenant without a
// stored row has the defaults below. Reads are served from a cache, so the API
// middleware can consult them on every request: Put replaces an entry at once, and an
// entry is read again after kCacheSeconds, so a change made by another process (the
// operator's `pactum tenant settings`) applies within that time. Thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/audit_sink.h"
#include "common/clock.h"
#include "common/ip_network.h"
#include "common/status.h"
#include "store/database.h"

namespace pactum::tenant {

struct TenantSettings {
  static constexpr size_t kMaxAllowlistEntries = 100;

  bool require_2fa = false;
  std::vector<IpNetwork> ip_allowlist;  // empty: every address
  int64_t session_minutes = 60;         // idle lifetime of a session, 5-1440
  int64_t session_max_hours = 12;       // absolute lifetime of a session, 1-720
  int64_t link_minutes = 5;             // lifetime of a download link, 1-60
  bool links_bound_to_session = true;   // a link works only in the session that made it
  bool ai_enabled = false;              // AI features may read this tenant's data

  bool AllowsAddress(const IpAddress& address) const {
    return ip_allowlist.empty() || AnyContains(ip_allowlist, address);
  }
  // kInvalidArgument naming the first field out of range.
  Status Validate() const;
};

// The settings as the API shows them (GET /api/v1/settings).
nlohmann::json ToJson(const TenantSettings& settings);

class SettingsService {
 public:
  static constexpr int64_t kCacheSeconds = 5;

  SettingsService(store::Database& db, const Clock& clock, audit::AuditSink& audit)
      : db_(db), clock_(clock), audit_(audit) {}

  // The tenant's settings (the defaults when never set).
  Result<std::shared_ptr<const TenantSettings>> Get(int64_t tenant_id);

  // Reads the tenant's stored settings afresh, applies `change`, validates and stores
  // the result in one write transaction (so concurrent changes of different fields both
  // stay); later Gets in this process see it at once. Returns what was stored; an error
  // of `change` or of validation is returned and nothing is stored. Recorded as
  // "settings.update" by `by`, with the settings stored.
  Result<TenantSettings> Update(const audit::Actor& by, int64_t tenant_id,
                                const std::function<Status(TenantSettings&)>& change);
  // Validates and stores `settings` for the tenant as a whole.
  Status Put(const audit::Actor& by, int64_t tenant_id, const TenantSettings& settings);

 private:
  store::Database& db_;
  const Clock& clock_;
  audit::AuditSink& audit_;
  struct Entry {
    std::shared_ptr<const TenantSettings> settings;
    int64_t read_at = 0;  // unix seconds
  };
  std::mutex put_mu_;
  std::mutex mu_;
  std::map<int64_t, Entry> cache_;  // GUARDED_BY(mu_)
  uint64_t puts_ = 0;               // GUARDED_BY(mu_); a read older than a Put is not cached
};

}  // namespace pactum::tenant
