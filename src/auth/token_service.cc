#include "auth/token_service.h"

#include <algorithm>

#include "common/text.h"
#include "crypto/token.h"

namespace pactum::auth {
namespace {

constexpr std::string_view kPrefix = "pct_";

store::Blob HashOf(std::string_view token) {
  const std::string hash = crypto::Sha256(token);
  return {hash.begin(), hash.end()};
}

bool WellFormed(std::string_view token) {
  return token.starts_with(kPrefix) && crypto::IsUrlToken(token.substr(kPrefix.size()));
}

ApiToken TokenFromRow(const store::Row& r) {
  ApiToken t;
  t.id = r.Int(0);
  t.user_id = r.Int(1);
  t.name = r.Text(2);
  t.role = ParseRole(r.Text(3)).value_or(Role::kViewer);
  t.created_at = r.Int(4);
  t.expires_at = r.Int(5);
  t.last_used_at = r.IsNull(6) ? 0 : r.Int(6);
  t.revoked = r.Int(7) != 0;
  return t;
}

}  // namespace

Result<std::pair<ApiToken, std::string>> TokenService::Create(const audit::Actor& by,
                                                              const User& creator,
                                                              std::string_view name, Role role,
                                                              int days) {
  RETURN_IF_ERROR(CheckText(name, "name", 1, kMaxNameChars));
  if (days < 1 || days > kMaxDays) {
    return InvalidArgument("\"expires_in_days\" must be 1-3650");
  }
  if (role > creator.role) {
    return Status(StatusCode::kPermissionDenied, "a token cannot have a higher role than yours");
  }
  const std::string token = std::string(kPrefix) + crypto::RandomUrlToken();
  const int64_t now = UnixSeconds(clock_.Now());
  ApiToken out;
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(
        auto rows,
        s.Query("INSERT INTO api_tokens (tenant_id, user_id, name, role, token_hash, "
                "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, "
                "user_id, name, role, created_at, expires_at, last_used_at, revoked",
                {creator.tenant_id, creator.id, std::string(name), std::string(RoleName(role)),
                 HashOf(token), now, now + int64_t{days} * 86400}));
    if (rows.size() != 1) return Internal("INSERT RETURNING gave no row");
    out = TokenFromRow(rows[0]);
    audit::Event e{.action = "token.create", .target = "token:" + std::to_string(out.id)};
    e.details = {
        {"name", out.name}, {"role", std::string(RoleName(role))}, {"expires_in_days", days}};
    e.actor = by;
    return audit_.Append(s, e);
  }));
  return std::pair<ApiToken, std::string>(std::move(out), token);
}

Result<std::vector<ApiToken>> TokenService::List(int64_t tenant_id) {
  std::vector<ApiToken> out;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT id, user_id, name, role, created_at, "
                                        "expires_at, last_used_at, revoked FROM api_tokens "
                                        "WHERE tenant_id = $1 ORDER BY id",
                                        {tenant_id}));
    for (const auto& r : rows) out.push_back(TokenFromRow(r));
    return Status::Ok();
  }));
  return out;
}

Status TokenService::Revoke(const audit::Actor& by, int64_t tenant_id, int64_t token_id) {
  return db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(const int64_t changed,
                     s.Execute("UPDATE api_tokens SET revoked = 1 WHERE tenant_id = $1 AND id = $2",
                               {tenant_id, token_id}));
    if (changed == 0) return NotFound("no such token");
    audit::Event e{.action = "token.revoke", .target = "token:" + std::to_string(token_id)};
    e.actor = by;
    return audit_.Append(s, e);
  });
}

Result<TokenCaller> TokenService::Resolve(std::string_view token) {
  const Status refused(StatusCode::kUnauthenticated, "authentication required");
  if (!WellFormed(token)) return refused;
  const store::Blob hash = HashOf(token);
  const int64_t now = UnixSeconds(clock_.Now());
  std::optional<TokenCaller> found;
  int64_t last_used = 0;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(
        auto rows,
        s.Query("SELECT u.id, u.tenant_id, u.email, u.name, u.role, u.disabled, t.id, t.role, "
                "t.expires_at, t.revoked, coalesce(t.last_used_at, 0) FROM api_tokens t "
                "JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id "
                "WHERE t.token_hash = $1",
                {hash}));
    if (rows.empty()) return Status::Ok();
    const store::Row& r = rows[0];
    if (r.Int(5) != 0 || r.Int(9) != 0 || now >= r.Int(8)) return Status::Ok();
    TokenCaller c;
    c.user.id = r.Int(0);
    c.user.tenant_id = r.Int(1);
    c.user.email = r.Text(2);
    c.user.name = r.Text(3);
    // Never above the creator's current role.
    c.user.role = std::min(ParseRole(r.Text(4)).value_or(Role::kViewer),
                           ParseRole(r.Text(7)).value_or(Role::kViewer));
    c.token_id = r.Int(6);
    last_used = r.Int(10);
    found = std::move(c);
    return Status::Ok();
  }));
  if (!found) return refused;
  found->last_used = last_used;
  return *found;
}

Status TokenService::Touch(const TokenCaller& caller) {
  const int64_t now = UnixSeconds(clock_.Now());
  if (now - caller.last_used < 60) return Status::Ok();  // one write per token per minute
  return db_.Write([&](store::Session& s) {
    return s
        .Execute("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2", {now, caller.token_id})
        .status();
  });
}

}  // namespace pactum::auth
