#include "auth/user_service.h"

#include "common/text.h"
#include "crypto/otp.h"
#include "crypto/random.h"

namespace pactum::auth {
namespace {

User FromRow(const store::Row& r) {
  User u;
  u.id = r.Int(0);
  u.tenant_id = r.Int(1);
  u.email = r.Text(2);
  u.name = r.Text(3);
  u.role = ParseRole(r.Text(4)).value_or(Role::kViewer);
  u.disabled = r.Int(5) != 0;
  u.password_change_required = r.Int(6) != 0;
  u.created_at = r.Text(7);
  return u;
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kManager:
      return "manager";
    case Role::kUser:
      return "user";
    case Role::kViewer:
      break;
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (const Role r : {Role::kViewer, Role::kUser, Role::kManager, Role::kAdmin}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::string NewOneTimePassword() {
  for (;;) {
    std::vector<uint8_t> bytes(15);
    crypto::RandomBytes(bytes);
    const std::string raw = crypto::Base32Encode(bytes);  // 24 characters
    std::string plain;
    for (size_t i = 0; i < raw.size(); i += 4) {
      if (i > 0) plain += '-';
      plain += raw.substr(i, 4);
    }
    // 120 random bits pass the policy in practice; a draw the estimator dislikes (a run of
    // one letter, say) is drawn again rather than handed out.
    if (crypto::CheckPasswordPolicy(plain).ok()) return plain;
  }
}

std::vector<std::string> KnownWords(std::string_view email, std::string_view name,
                                    std::string_view tenant_slug) {
  std::vector<std::string> words = {std::string(email), std::string(name),
                                    std::string(tenant_slug)};
  // The pieces people build passwords from: "ann" and "example" of ann.lee@example.com,
  // "Lee" of "Ann Lee", "acme" of "acme-legal".
  const auto add_pieces = [&](std::string_view text) {
    std::string piece;
    for (const char c : text) {
      if (c == '.' || c == '-' || c == '_' || c == '@' || c == '+' || c == ' ') {
        if (!piece.empty()) words.push_back(std::move(piece));
        piece.clear();
      } else {
        piece += c;
      }
    }
    if (!piece.empty()) words.push_back(std::move(piece));
  };
  add_pieces(email.substr(0, email.rfind('.')));  // not the top-level domain
  add_pieces(name);
  add_pieces(tenant_slug);
  return words;
}

Result<OneTimePassword> UserService::MakeOneTimePassword() const {
  OneTimePassword out;
  out.plain = NewOneTimePassword();
  ASSIGN_OR_RETURN(out.hash, crypto::HashPassword(out.plain, params_));
  return out;
}

Result<User> UserService::Insert(store::Session& session, int64_t tenant_id, std::string_view email,
                                 std::string_view name, Role role,
                                 const OneTimePassword& password) {
  RETURN_IF_ERROR(CheckEmail(email));
  RETURN_IF_ERROR(CheckText(name, "name", 0, kMaxNameChars));
  const std::string now = FormatRfc3339(clock_.Now());
  auto rows = session.Query(
      "INSERT INTO users (tenant_id, email, email_key, name, role, password_hash, "
      "password_change_required, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, "
      "$7, $7) RETURNING id, tenant_id, email, name, role, disabled, "
      "password_change_required, created_at",
      {tenant_id, std::string(email), EmailKey(email), std::string(name),
       std::string(RoleName(role)), password.hash, now});
  if (!rows.ok()) {
    if (rows.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("a user with this email already exists");
    }
    return rows.status();
  }
  if (rows->size() != 1) return Internal("INSERT RETURNING gave no row");
  return FromRow((*rows)[0]);
}

Result<std::pair<User, std::string>> UserService::Create(const audit::Actor& by, int64_t tenant_id,
                                                         std::string_view email,
                                                         std::string_view name, Role role) {
  RETURN_IF_ERROR(CheckEmail(email));
  RETURN_IF_ERROR(CheckText(name, "name", 0, kMaxNameChars));
  ASSIGN_OR_RETURN(OneTimePassword password, MakeOneTimePassword());  // outside the write lock
  User user;
  RETURN_IF_ERROR(db_.Write([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(user, Insert(session, tenant_id, email, name, role, password));
    audit::Event e{.action = "user.create", .target = "user:" + std::to_string(user.id)};
    e.details = {{"email", user.email}, {"role", std::string(RoleName(role))}};
    e.actor = by;
    return audit_.Append(session, e);
  }));
  return std::pair<User, std::string>(std::move(user), std::move(password.plain));
}

Result<User> UserService::FindByEmail(int64_t tenant_id, std::string_view email) {
  std::optional<User> found;
  RETURN_IF_ERROR(db_.Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT id, tenant_id, email, name, role, disabled, "
                                              "password_change_required, created_at FROM users "
                                              "WHERE tenant_id = $1 AND email_key = $2",
                                              {tenant_id, EmailKey(email)}));
    if (!rows.empty()) found = FromRow(rows[0]);
    return Status::Ok();
  }));
  if (!found) return NotFound("no such user");
  return *found;
}

Result<bool> UserService::PasswordMatches(int64_t user_id, std::string_view password) {
  std::string hash;
  RETURN_IF_ERROR(db_.Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows,
                     session.Query("SELECT password_hash FROM users WHERE id = $1", {user_id}));
    if (rows.empty()) return NotFound("no such user");
    hash = rows[0].Text(0);
    return Status::Ok();
  }));
  return crypto::VerifyPassword(hash, password, params_) != crypto::PasswordMatch::kNo;
}

const std::string& UserService::DummyHash() const {
  std::call_once(dummy_once_, [this] {
    std::vector<uint8_t> bytes(16);
    crypto::RandomBytes(bytes);
    auto hash = crypto::HashPassword(crypto::Base32Encode(bytes), params_);
    if (hash.ok()) dummy_hash_ = std::move(hash).value();
  });
  return dummy_hash_;
}

Result<User> UserService::CheckCredentials(int64_t tenant_id, std::string_view email,
                                           std::string_view password, const audit::Event& attempt) {
  const auto refusal = [&](std::string reason, const std::optional<User>& who) {
    audit::Event e = attempt;
    audit::MarkFailed(e, std::move(reason));
    if (who) e.target = "user:" + std::to_string(who->id);
    return e;
  };
  const Status wrong(StatusCode::kUnauthenticated, "email or password is wrong");
  const int64_t now = UnixSeconds(clock_.Now());
  std::optional<User> user;
  std::string hash;
  int64_t locked_until = 0;
  if (tenant_id > 0 && IsValidEmail(email)) {
    RETURN_IF_ERROR(db_.Read([&](store::Session& session) -> Status {
      ASSIGN_OR_RETURN(auto rows,
                       session.Query("SELECT id, tenant_id, email, name, role, disabled, "
                                     "password_change_required, created_at, password_hash, "
                                     "locked_until, CASE WHEN EXISTS (SELECT 1 FROM user_totp t "
                                     "WHERE t.user_id = users.id AND t.confirmed = 1) THEN 1 "
                                     "ELSE 0 END FROM users "
                                     "WHERE tenant_id = $1 AND email_key = $2",
                                     {tenant_id, EmailKey(email)}));
      if (!rows.empty()) {
        user = FromRow(rows[0]);
        hash = rows[0].Text(8);
        locked_until = rows[0].Int(9);
        user->totp_enabled = rows[0].Int(10) != 0;
      }
      return Status::Ok();
    }));
  }
  // Unknown, disabled and locked accounts get the same answer after the same work: the
  // same argon2id verification and the same one write transaction as a wrong password.
  if (!user || user->disabled || locked_until > now) {
    (void)crypto::VerifyPassword(DummyHash(), password, params_);
    const char* reason = !user ? "unknown_account" : user->disabled ? "disabled" : "locked";
    RETURN_IF_ERROR(RecordFailedLogin(0, refusal(reason, user)));
    return wrong;
  }
  const crypto::PasswordMatch match = crypto::VerifyPassword(hash, password, params_);
  if (match == crypto::PasswordMatch::kNo) {
    RETURN_IF_ERROR(RecordFailedLogin(user->id, refusal("bad_password", user)));
    return wrong;
  }
  if (!user->totp_enabled) {  // with two-factor login, only the code step starts over
    RETURN_IF_ERROR(db_.Write([&](store::Session& session) {
      return session.Execute("UPDATE users SET failed_logins = 0 WHERE id = $1", {user->id})
          .status();
    }));
  }
  if (match == crypto::PasswordMatch::kYesButRehash) {
    ASSIGN_OR_RETURN(const std::string fresh, crypto::HashPassword(password, params_));
    RETURN_IF_ERROR(db_.Write([&](store::Session& session) {
      return session
          .Execute("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
                   {fresh, user->id, hash})
          .status();
    }));
  }
  return *user;
}

Status CountFailedLogin(store::Session& session, int64_t user_id,
                        std::chrono::system_clock::time_point now) {
  RETURN_IF_ERROR(session
                      .Execute("INSERT INTO login_failures_daily (day, failures) VALUES ($1, 1) "
                               "ON CONFLICT (day) DO UPDATE SET failures = "
                               "login_failures_daily.failures + 1",
                               {FormatRfc3339(now).substr(0, 10)})
                      .status());
  if (user_id <= 0) return Status::Ok();
  const int64_t t = UnixSeconds(now);
  return session
      .Execute(
          "UPDATE users SET "
          "locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 "
          "ELSE locked_until END, "
          "failed_logins = CASE WHEN failed_logins + 1 >= $1 THEN 0 "
          "ELSE failed_logins + 1 END WHERE id = $3",
          {int64_t{UserService::kLockoutFailures}, t + UserService::kLockoutSeconds, user_id})
      .status();
}

Status UserService::RecordFailedLogin(int64_t user_id, const audit::Event& refusal) {
  const auto now = clock_.Now();
  return db_.Write([&](store::Session& session) -> Status {
    RETURN_IF_ERROR(CountFailedLogin(session, user_id, now));
    return audit_.Append(session, refusal);
  });
}

Result<User> UserService::Find(int64_t tenant_id, int64_t user_id) {
  std::optional<User> found;
  RETURN_IF_ERROR(db_.Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT id, tenant_id, email, name, role, disabled, "
                                              "password_change_required, created_at, CASE WHEN "
                                              "EXISTS (SELECT 1 FROM user_totp t WHERE "
                                              "t.user_id = users.id AND t.confirmed = 1) THEN 1 "
                                              "ELSE 0 END FROM users WHERE tenant_id = $1 AND "
                                              "id = $2",
                                              {tenant_id, user_id}));
    if (!rows.empty()) {
      found = FromRow(rows[0]);
      found->totp_enabled = rows[0].Int(8) != 0;
    }
    return Status::Ok();
  }));
  if (!found) return NotFound("no such user");
  return *found;
}

Status UserService::SetPassword(const audit::Actor& by, int64_t user_id,
                                std::string_view new_password) {
  std::vector<std::string> known;
  RETURN_IF_ERROR(db_.Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT u.email, u.name, t.slug FROM users u JOIN "
                                              "tenants t ON t.id = u.tenant_id WHERE u.id = $1",
                                              {user_id}));
    if (rows.empty()) return NotFound("no such user");
    known = KnownWords(rows[0].Text(0), rows[0].Text(1), rows[0].Text(2));
    return Status::Ok();
  }));
  RETURN_IF_ERROR(crypto::CheckPasswordPolicy(new_password, known));
  ASSIGN_OR_RETURN(const std::string hash, crypto::HashPassword(new_password, params_));
  const std::string now = FormatRfc3339(clock_.Now());
  int64_t changed = 0;
  RETURN_IF_ERROR(db_.Write([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(changed, session.Execute("UPDATE users SET password_hash = $1, "
                                              "password_change_required = 0, updated_at = $2 "
                                              "WHERE id = $3",
                                              {hash, now, user_id}));
    if (changed == 0) return NotFound("no such user");
    audit::Event e{.stream = audit::Stream::kAuth,
                   .action = "auth.password_change",
                   .target = "user:" + std::to_string(user_id)};
    e.actor = by;
    return audit_.Append(session, e);
  }));
  if (on_password_set_) on_password_set_(user_id);
  return Status::Ok();
}

void UserService::OnPasswordSet(std::function<void(int64_t user_id)> observer) {
  on_password_set_ = std::move(observer);
}

Result<std::vector<User>> UserService::List(int64_t tenant_id) {
  std::vector<User> out;
  RETURN_IF_ERROR(db_.Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT id, tenant_id, email, name, role, disabled, "
                                              "password_change_required, created_at, CASE WHEN "
                                              "EXISTS (SELECT 1 FROM user_totp t WHERE "
                                              "t.user_id = users.id AND t.confirmed = 1) THEN 1 "
                                              "ELSE 0 END FROM users WHERE tenant_id = $1 ORDER "
                                              "BY email_key",
                                              {tenant_id}));
    for (const auto& r : rows) {
      out.push_back(FromRow(r));
      out.back().totp_enabled = r.Int(8) != 0;
    }
    return Status::Ok();
  }));
  return out;
}

Result<User> UserService::Update(const audit::Actor& by, int64_t tenant_id, int64_t user_id,
                                 const Change& change, bool* ends_sessions) {
  if (change.name) RETURN_IF_ERROR(CheckText(*change.name, "name", 0, kMaxNameChars));
  User updated;
  bool ends = false;
  RETURN_IF_ERROR(db_.Write([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT id, tenant_id, email, name, role, disabled, "
                                              "password_change_required, created_at FROM users "
                                              "WHERE tenant_id = $1 AND id = $2",
                                              {tenant_id, user_id}));
    if (rows.empty()) return NotFound("no such user");
    const User before = FromRow(rows[0]);
    updated = before;
    if (change.role) updated.role = *change.role;
    if (change.disabled) updated.disabled = *change.disabled;
    if (change.name) updated.name = *change.name;
    ends = updated.role != before.role || updated.disabled != before.disabled;
    const bool was_admin = before.role == Role::kAdmin && !before.disabled;
    const bool is_admin = updated.role == Role::kAdmin && !updated.disabled;
    if (was_admin && !is_admin) {
      ASSIGN_OR_RETURN(auto admins,
                       session.Query("SELECT count(*) FROM users WHERE tenant_id = $1 AND "
                                     "role = 'admin' AND disabled = 0 AND id != $2",
                                     {tenant_id, user_id}));
      if (admins.empty() || admins[0].Int(0) == 0) {
        return Status(StatusCode::kConflict, "a tenant keeps at least one enabled admin")
            .WithReason("last_admin");
      }
    }
    RETURN_IF_ERROR(
        session
            .Execute("UPDATE users SET role = $1, disabled = $2, name = $3, "
                     "updated_at = $4 WHERE id = $5",
                     {std::string(RoleName(updated.role)), int64_t{updated.disabled ? 1 : 0},
                      updated.name, FormatRfc3339(clock_.Now()), user_id})
            .status());
    const std::string target = "user:" + std::to_string(user_id);
    const auto record = [&](std::string action, nlohmann::json details) {
      audit::Event e{.action = std::move(action), .target = target};
      e.details = std::move(details);
      e.actor = by;
      return audit_.Append(session, e);
    };
    if (updated.role != before.role) {
      RETURN_IF_ERROR(record("user.role_change", {{"from", std::string(RoleName(before.role))},
                                                  {"to", std::string(RoleName(updated.role))}}));
    }
    if (updated.disabled != before.disabled) {
      RETURN_IF_ERROR(
          record(updated.disabled ? "user.disable" : "user.enable", nlohmann::json::object()));
    }
    if (updated.name != before.name) {
      RETURN_IF_ERROR(record("user.rename", {{"name", updated.name}}));
    }
    return Status::Ok();
  }));
  if (ends_sessions != nullptr) *ends_sessions = ends;
  return updated;
}

}  // namespace pactum::auth
