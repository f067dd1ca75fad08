#pragma once

// Login sessions. A session id is 256 random bits, given to the browser once (cookie
// __Host-pactum_session) and stored only as its SHA-256, as is the session's CSRF token.
// A session ends after the tenant's session_minutes without use or session_max_hours after
// it began (both read at every use, so a shorter setting applies to live sessions at
// once), when the user is disabled, or when ended (logout; password, role and 2FA
// changes end the user's other sessions).
// Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "audit/audit_sink.h"
#include "auth/user_service.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/database.h"
#include "tenant/settings_service.h"

namespace pactum::auth {

struct SessionTokens {
  std::string id;       // the cookie value: 43 characters of base64url
  std::string csrf;     // the X-CSRF-Token value, same form
  int64_t max_age = 0;  // seconds until its absolute end (the cookie's Max-Age)
};

struct ActiveSession {
  User user;
  std::string id_hash;    // raw SHA-256 bytes
  std::string csrf_hash;  // raw SHA-256 bytes
  int64_t last_seen = 0;  // unix seconds of its last admitted use
};

class SessionService {
 public:
  // Logins beyond this many live sessions end the user's least recently used one.
  static constexpr int kMaxSessionsPerUser = 20;

  SessionService(store::Database& db, const Clock& clock, tenant::SettingsService& settings,
                 audit::AuditSink& audit)
      : db_(db), clock_(clock), settings_(settings), audit_(audit) {}

  // A new session (never a reused id: fixation is impossible by construction). The login
  // it completes is recorded as `login` (success, target the user) in the same
  // transaction; sessions found expired on the way are recorded as auth.session_expired.
  Result<SessionTokens> Start(const audit::Event& login, int64_t user_id);

  // The live session for a cookie value. kUnauthenticated for a malformed, unknown,
  // expired or ended session, or a disabled user. An expired session is ended here and
  // recorded as auth.session_expired (actor its user, from `from`'s address); when that
  // cannot be recorded, kUnavailable.
  Result<ActiveSession> Resolve(std::string_view id, const audit::Actor& from);
  // Moves the session's last use to now; called once a request was admitted (so refused
  // requests, e.g. from outside the allowlist, do not keep a session alive).
  Status Touch(const ActiveSession& session);

  // Whether `token` is the session's CSRF token (constant time).
  static bool CsrfMatches(const ActiveSession& session, std::string_view token);

  // Recorded as auth.logout when a session ended.
  Status End(std::string_view id, const audit::Actor& from);
  // Ends every session of the user except the one whose hash is `keep_hash` (may be "").
  Status EndOthers(int64_t user_id, std::string_view keep_hash);

 private:
  store::Database& db_;
  const Clock& clock_;
  tenant::SettingsService& settings_;
  audit::AuditSink& audit_;
};

}  // namespace pactum::auth
