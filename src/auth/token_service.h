#pragma once

// API tokens: "pct_" + 256 random bits (base64url), shown once and stored only as
// SHA-256; named, with a role no higher than their creator's, an expiry and a last-used
// time. A token stops working when revoked, expired, or when its creator is disabled;
// it never acts above its creator's current role. Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_sink.h"
#include "auth/user_service.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/database.h"

namespace pactum::auth {

struct ApiToken {
  int64_t id = 0;
  int64_t user_id = 0;  // the creator
  std::string name;
  Role role = Role::kViewer;
  int64_t created_at = 0;  // unix seconds
  int64_t expires_at = 0;
  int64_t last_used_at = 0;  // 0: never
  bool revoked = false;
};

struct TokenCaller {
  User user;  // the creator, with `role` lowered to what the token may do
  int64_t token_id = 0;
  int64_t last_used = 0;  // unix seconds; 0: never
};

class TokenService {
 public:
  static constexpr int kMaxDays = 3650;
  static constexpr size_t kMaxNameChars = 100;

  TokenService(store::Database& db, const Clock& clock, audit::AuditSink& audit)
      : db_(db), clock_(clock), audit_(audit) {}

  // kInvalidArgument for a bad name (1-kMaxNameChars characters keeping the text rule of
  // common/text.h: "\"name\" contains a control character (U+0000)") or lifetime;
  // kPermissionDenied for a role above the creator's. Returns the token and its secret.
  // Recorded as "token.create" by `by` (never the secret).
  Result<std::pair<ApiToken, std::string>> Create(const audit::Actor& by, const User& creator,
                                                  std::string_view name, Role role, int days);
  Result<std::vector<ApiToken>> List(int64_t tenant_id);
  // kNotFound for a token of another tenant or none. Recorded as "token.revoke".
  Status Revoke(const audit::Actor& by, int64_t tenant_id, int64_t token_id);
  // The caller a bearer token stands for. kUnauthenticated when malformed, unknown,
  // revoked, expired, or its creator is disabled.
  Result<TokenCaller> Resolve(std::string_view token);
  // Records a use of the token (its last-used time), once a request was admitted.
  Status Touch(const TokenCaller& caller);

 private:
  store::Database& db_;
  const Clock& clock_;
  audit::AuditSink& audit_;
};

}  // namespace pactum::auth
