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

  SessionService(store::Database& db, const Clock& clock, tenant::SettingsService& settings)
      : db_(db), clock_(clock), settings_(settings) {}

  // A new session (never a reused id: fixation is impossible by construction).
  Result<SessionTokens> Start(int64_t tenant_id, int64_t user_id);

  // The live session for a cookie value. kUnauthenticated for a malformed, unknown,
  // expired or ended session, or a disabled user.
  Result<ActiveSession> Resolve(std::string_view id);
  // Moves the session's last use to now; called once a request was admitted (so refused
  // requests, e.g. from outside the allowlist, do not keep a session alive).
  Status Touch(const ActiveSession& session);

  // Whether `token` is the session's CSRF token (constant time).
  static bool CsrfMatches(const ActiveSession& session, std::string_view token);

  Status End(std::string_view id);
  // Ends every session of the user except the one whose hash is `keep_hash` (may be "").
  Status EndOthers(int64_t user_id, std::string_view keep_hash);

 private:
  store::Database& db_;
  const Clock& clock_;
  tenant::SettingsService& settings_;
};

}  // namespace pactum::auth
