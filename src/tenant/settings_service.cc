#include "tenant/settings_service.h"

#include <sstream>

namespace pactum::tenant {
namespace {

Status OutOfRange(const char* field, int64_t low, int64_t high) {
  return InvalidArgument(std::string("\"") + field + "\" must be " + std::to_string(low) + "-" +
                         std::to_string(high));
}

}  // namespace

Status TenantSettings::Validate() const {
  if (session_minutes < 5 || session_minutes > 1440) {
    return OutOfRange("session_minutes", 5, 1440);
  }
  if (session_max_hours < 1 || session_max_hours > 720) {
    return OutOfRange("session_max_hours", 1, 720);
  }
  if (link_minutes < 1 || link_minutes > 60) return OutOfRange("link_minutes", 1, 60);
  if (ip_allowlist.size() > kMaxAllowlistEntries) {
    return InvalidArgument("\"ip_allowlist\" holds at most 100 networks");
  }
  return Status::Ok();
}

nlohmann::json ToJson(const TenantSettings& s) {
  auto networks = nlohmann::json::array();
  for (const IpNetwork& n : s.ip_allowlist) networks.push_back(n.ToString());
  return {{"require_2fa", s.require_2fa},
          {"ip_allowlist", networks},
          {"session_minutes", s.session_minutes},
          {"session_max_hours", s.session_max_hours},
          {"link_minutes", s.link_minutes},
          {"links_bound_to_session", s.links_bound_to_session},
          {"ai_enabled", s.ai_enabled}};
}

namespace {

// The stored settings of a tenant into `out` (left at the defaults without a row).
Status ReadIn(store::Session& s, int64_t tenant_id, TenantSettings& out) {
  ASSIGN_OR_RETURN(auto rows, s.Query("SELECT require_2fa, ip_allowlist, session_minutes, "
                                      "session_max_hours, link_minutes, links_bound_to_session, "
                                      "ai_enabled FROM tenant_settings WHERE tenant_id = $1",
                                      {tenant_id}));
  if (rows.empty()) return Status::Ok();
  const store::Row& r = rows[0];
  out.require_2fa = r.Int(0) != 0;
  std::istringstream networks(r.Text(1));
  for (std::string cidr; networks >> cidr;) {
    ASSIGN_OR_RETURN(IpNetwork n, IpNetwork::Parse(cidr));
    out.ip_allowlist.push_back(n);
  }
  out.session_minutes = r.Int(2);
  out.session_max_hours = r.Int(3);
  out.link_minutes = r.Int(4);
  out.links_bound_to_session = r.Int(5) != 0;
  out.ai_enabled = r.Int(6) != 0;
  return Status::Ok();
}

Status WriteIn(store::Session& s, int64_t tenant_id, const TenantSettings& settings,
               const std::string& now) {
  std::string networks;
  for (const IpNetwork& n : settings.ip_allowlist) {
    if (!networks.empty()) networks += ' ';
    networks += n.ToString();
  }
  auto b = [](bool v) { return int64_t{v ? 1 : 0}; };
  return s
      .Execute(
          "INSERT INTO tenant_settings (tenant_id, require_2fa, ip_allowlist, "
          "session_minutes, session_max_hours, link_minutes, links_bound_to_session, "
          "ai_enabled, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
          "ON CONFLICT (tenant_id) DO UPDATE SET require_2fa = excluded.require_2fa, "
          "ip_allowlist = excluded.ip_allowlist, session_minutes = excluded.session_minutes, "
          "session_max_hours = excluded.session_max_hours, link_minutes = "
          "excluded.link_minutes, links_bound_to_session = excluded.links_bound_to_session, "
          "ai_enabled = excluded.ai_enabled, updated_at = excluded.updated_at",
          {tenant_id, b(settings.require_2fa), networks, settings.session_minutes,
           settings.session_max_hours, settings.link_minutes, b(settings.links_bound_to_session),
           b(settings.ai_enabled), now})
      .status();
}

}  // namespace

Result<std::shared_ptr<const TenantSettings>> SettingsService::Get(int64_t tenant_id) {
  const int64_t now = UnixSeconds(clock_.Now());
  uint64_t puts_before = 0;
  {
    const std::lock_guard lock(mu_);
    if (auto it = cache_.find(tenant_id);
        it != cache_.end() && now - it->second.read_at < kCacheSeconds) {
      return it->second.settings;
    }
    puts_before = puts_;
  }
  auto settings = std::make_shared<TenantSettings>();
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) { return ReadIn(s, tenant_id, *settings); }));
  const std::lock_guard lock(mu_);
  // An Update that finished meanwhile may be newer than what was read: keep its entry.
  if (puts_ == puts_before) cache_[tenant_id] = Entry{settings, now};
  return std::shared_ptr<const TenantSettings>(std::move(settings));
}

Result<TenantSettings> SettingsService::Update(
    const audit::Actor& by, int64_t tenant_id,
    const std::function<Status(TenantSettings&)>& change) {
  const std::lock_guard serial(put_mu_);  // the cache ends with what was written last
  TenantSettings updated;
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    updated = TenantSettings{};
    RETURN_IF_ERROR(ReadIn(s, tenant_id, updated));  // fresh, not the cached copy
    RETURN_IF_ERROR(change(updated));
    RETURN_IF_ERROR(updated.Validate());
    RETURN_IF_ERROR(WriteIn(s, tenant_id, updated, FormatRfc3339(clock_.Now())));
    audit::Event e{.action = "settings.update", .target = "tenant:" + std::to_string(tenant_id)};
    e.details = ToJson(updated);
    e.actor = by;
    return audit_.Append(s, e);
  }));
  const std::lock_guard lock(mu_);
  ++puts_;
  cache_[tenant_id] =
      Entry{std::make_shared<const TenantSettings>(updated), UnixSeconds(clock_.Now())};
  return updated;
}

Status SettingsService::Put(const audit::Actor& by, int64_t tenant_id,
                            const TenantSettings& settings) {
  return Update(by, tenant_id,
                [&](TenantSettings& s) {
                  s = settings;
                  return Status::Ok();
                })
      .status();
}

}  // namespace pactum::tenant
