#include "auth/session_service.h"

#include <openssl/crypto.h>

#include "crypto/token.h"

namespace pactum::auth {
namespace {

using crypto::IsUrlToken;
using crypto::Sha256;

Status NotAuthenticated() {
  return Status(StatusCode::kUnauthenticated, "authentication required");
}

}  // namespace

Result<SessionTokens> SessionService::Start(const audit::Event& login, int64_t user_id) {
  const int64_t tenant_id = login.actor.tenant_id;
  ASSIGN_OR_RETURN(const auto settings, settings_.Get(tenant_id));
  SessionTokens tokens{crypto::RandomUrlToken(), crypto::RandomUrlToken(),
                       settings->session_max_hours * 3600};
  const int64_t now = UnixSeconds(clock_.Now());
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    // Sessions that can no longer be used go as new ones come (no tenant allows more
    // than a day of idleness).
    ASSIGN_OR_RETURN(auto gone,
                     s.Query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2 "
                             "RETURNING tenant_id, user_id",
                             {now, now - int64_t{24} * 3600}));
    for (const auto& r : gone) {
      audit::Event e{.stream = audit::Stream::kAuth,
                     .action = "auth.session_expired",
                     .target = "user:" + std::to_string(r.Int(1))};
      e.actor = audit::Actor::System(r.Int(0));
      RETURN_IF_ERROR(audit_.Append(s, e));
    }
    const std::string id_hash = Sha256(tokens.id);
    const std::string csrf_hash = Sha256(tokens.csrf);
    RETURN_IF_ERROR(
        s.Execute("INSERT INTO sessions (id_hash, tenant_id, user_id, csrf_hash, "
                  "created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, "
                  "$5, $5, $6)",
                  {store::Blob(id_hash.begin(), id_hash.end()), tenant_id, user_id,
                   store::Blob(csrf_hash.begin(), csrf_hash.end()), now, now + tokens.max_age})
            .status());
    // At most kMaxSessionsPerUser: the least recently used beyond that end.
    RETURN_IF_ERROR(
        s.Execute("DELETE FROM sessions WHERE user_id = $1 AND id_hash NOT IN (SELECT id_hash "
                  "FROM sessions WHERE user_id = $1 ORDER BY last_seen_at DESC, created_at DESC "
                  "LIMIT $2)",
                  {user_id, int64_t{kMaxSessionsPerUser}})
            .status());
    audit::Event e = login;
    e.success = true;
    e.target = "user:" + std::to_string(user_id);
    e.actor.user_id = user_id;
    return audit_.Append(s, e);
  }));
  return tokens;
}

Result<ActiveSession> SessionService::Resolve(std::string_view id, const audit::Actor& from) {
  if (!IsUrlToken(id)) return NotAuthenticated();
  const std::string id_hash = Sha256(id);
  const store::Blob key(id_hash.begin(), id_hash.end());
  const int64_t now = UnixSeconds(clock_.Now());
  std::optional<ActiveSession> found;
  int64_t last_seen = 0;
  int64_t created = 0;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(
        auto rows, s.Query("SELECT u.id, u.tenant_id, u.email, u.name, u.role, u.disabled, "
                           "u.password_change_required, u.created_at, x.csrf_hash, x.last_seen_at, "
                           "x.expires_at, x.created_at, t.confirmed FROM sessions x "
                           "JOIN users u ON u.id = x.user_id AND u.tenant_id = x.tenant_id "
                           "LEFT JOIN user_totp t ON t.user_id = u.id AND t.confirmed = 1 "
                           "WHERE x.id_hash = $1",
                           {key}));
    if (rows.empty()) return Status::Ok();
    const store::Row& r = rows[0];
    last_seen = r.Int(9);
    if (r.Int(5) != 0 || now >= r.Int(10)) return Status::Ok();
    created = r.Int(11);
    ActiveSession a;
    a.user.id = r.Int(0);
    a.user.tenant_id = r.Int(1);
    a.user.email = r.Text(2);
    a.user.name = r.Text(3);
    a.user.role = ParseRole(r.Text(4)).value_or(Role::kViewer);
    a.user.disabled = false;
    a.user.password_change_required = r.Int(6) != 0;
    a.user.created_at = r.Text(7);
    a.user.totp_enabled = !r.IsNull(12);
    const store::Blob csrf = r.Bytes(8);
    a.csrf_hash.assign(csrf.begin(), csrf.end());
    a.id_hash = id_hash;
    found = std::move(a);
    return Status::Ok();
  }));
  if (!found) return NotAuthenticated();
  ASSIGN_OR_RETURN(const auto settings, settings_.Get(found->user.tenant_id));
  if (now - last_seen >= settings->session_minutes * 60 ||
      now - created >= settings->session_max_hours * 3600) {
    // Ended here, so it is recorded once.
    RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
      ASSIGN_OR_RETURN(const int64_t ended,
                       s.Execute("DELETE FROM sessions WHERE id_hash = $1", {store::Blob(key)}));
      if (ended == 0) return Status::Ok();
      audit::Event e{.stream = audit::Stream::kAuth,
                     .action = "auth.session_expired",
                     .target = "user:" + std::to_string(found->user.id)};
      e.actor = from;
      e.actor.tenant_id = found->user.tenant_id;
      e.actor.user_id = found->user.id;
      e.details = {{"idle_minutes", (now - last_seen) / 60}};
      return audit_.Append(s, e);
    }));
    return NotAuthenticated();
  }
  found->last_seen = last_seen;
  return *found;
}

Status SessionService::Touch(const ActiveSession& session) {
  const int64_t now = UnixSeconds(clock_.Now());
  if (now - session.last_seen < 30) return Status::Ok();  // one write per half minute
  return db_.Write([&](store::Session& s) {
    return s
        .Execute("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2",
                 {now, store::Blob(session.id_hash.begin(), session.id_hash.end())})
        .status();
  });
}

bool SessionService::CsrfMatches(const ActiveSession& session, std::string_view token) {
  if (!IsUrlToken(token)) return false;
  const std::string hash = Sha256(token);
  return hash.size() == session.csrf_hash.size() &&
         CRYPTO_memcmp(hash.data(), session.csrf_hash.data(), hash.size()) == 0;
}

Status SessionService::End(std::string_view id, const audit::Actor& from) {
  if (!IsUrlToken(id)) return Status::Ok();
  const std::string id_hash = Sha256(id);
  return db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto ended, s.Query("DELETE FROM sessions WHERE id_hash = $1 "
                                         "RETURNING tenant_id, user_id",
                                         {store::Blob(id_hash.begin(), id_hash.end())}));
    if (ended.empty()) return Status::Ok();
    audit::Event e{.stream = audit::Stream::kAuth,
                   .action = "auth.logout",
                   .target = "user:" + std::to_string(ended[0].Int(1))};
    e.actor = from;
    e.actor.tenant_id = ended[0].Int(0);
    e.actor.user_id = ended[0].Int(1);
    return audit_.Append(s, e);
  });
}

Status SessionService::EndOthers(int64_t user_id, std::string_view keep_hash) {
  return db_.Write([&](store::Session& s) {
    return s
        .Execute("DELETE FROM sessions WHERE user_id = $1 AND id_hash != $2",
                 {user_id, store::Blob(keep_hash.begin(), keep_hash.end())})
        .status();
  });
}

}  // namespace pactum::auth
