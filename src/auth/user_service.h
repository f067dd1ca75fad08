#pragma once

// Users: people of one tenant, with a role and a password. Email addresses are unique
// per tenant, compared case-insensitively (ASCII lower-case). A new user gets a random
// one-time password, shown once, that must be changed at the first login.
// Password hashing is slow (argon2id): call it from the CPU pool (routes with
// http::Execution::kCpuBound), never from I/O threads. Thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_sink.h"
#include "auth/email.h"
#include "common/clock.h"
#include "common/status.h"
#include "crypto/password.h"
#include "store/database.h"

namespace pactum::auth {

// Ascending privilege.
enum class Role { kViewer = 0, kUser = 1, kManager = 2, kAdmin = 3 };
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

struct User {
  int64_t id = 0;
  int64_t tenant_id = 0;
  std::string email;
  std::string name;
  Role role = Role::kViewer;
  bool disabled = false;
  bool password_change_required = false;
  bool totp_enabled = false;  // two-factor login is on (set where the query reads it)
  std::string created_at;
};

// Counts a failed login in the caller's write transaction: in login_failures_daily (for
// every failure, known account or not, so both answers cost one write) and, for
// user_id > 0, toward the user's lockout (UserService::kLockoutFailures consecutive
// failures lock the account for kLockoutSeconds).
Status CountFailedLogin(store::Session& session, int64_t user_id,
                        std::chrono::system_clock::time_point now);

// 24 random base32 characters in groups of four (120 bits), drawn until the password
// policy (crypto::CheckPasswordPolicy) accepts them, so every password the server hands
// out is one a user could have chosen.
std::string NewOneTimePassword();

// The words a password of this person must not be built from, for the strength estimate:
// the email, its local part and domain labels (not the top-level domain), the name and
// its words, the tenant slug and its parts.
std::vector<std::string> KnownWords(std::string_view email, std::string_view name,
                                    std::string_view tenant_slug);

// A one-time password and its hash, computed before a transaction starts.
struct OneTimePassword {
  std::string plain;  // shown to the operator once, never stored
  std::string hash;
};

class UserService {
 public:
  static constexpr int kLockoutFailures = 10;
  static constexpr size_t kMaxNameChars = 200;
  static constexpr int64_t kLockoutSeconds = int64_t{15} * 60;

  UserService(store::Database& db, const Clock& clock, crypto::PasswordParams params,
              audit::AuditSink& audit)
      : db_(db), clock_(clock), params_(params), audit_(audit) {}

  // NewOneTimePassword(), hashed.
  Result<OneTimePassword> MakeOneTimePassword() const;

  // Adds a user in the caller's write transaction. kInvalidArgument for a bad email
  // (CheckEmail's message) or name (0-kMaxNameChars characters keeping the text rule of
  // common/text.h), kAlreadyExists when the email is taken in the tenant.
  Result<User> Insert(store::Session& session, int64_t tenant_id, std::string_view email,
                      std::string_view name, Role role, const OneTimePassword& password);

  // MakeOneTimePassword + Insert in one transaction, recorded as "user.create" by `by`;
  // the plain password is returned once.
  Result<std::pair<User, std::string>> Create(const audit::Actor& by, int64_t tenant_id,
                                              std::string_view email, std::string_view name,
                                              Role role);

  // kNotFound when there is no such user in the tenant.
  Result<User> FindByEmail(int64_t tenant_id, std::string_view email);

  // Whether `password` is the user's (constant time in the password); kNotFound for an
  // unknown user.
  Result<bool> PasswordMatches(int64_t user_id, std::string_view password);

  // The login check. kUnauthenticated ("email or password is wrong") for an unknown
  // tenant (tenant_id <= 0), an unknown, disabled or locked user, or a wrong password;
  // an unknown account costs the same argon2id work as a known one. kLockoutFailures
  // consecutive wrong passwords lock the account for kLockoutSeconds. A hash made with
  // older parameters is replaced.
  // A refusal is recorded as `attempt` (its stream, action, actor and details) with
  // outcome failure, target the user when known, and details.reason unknown_account,
  // disabled, locked or bad_password, in the transaction that counts the failure. Success
  // is recorded by whoever completes the login (SessionService::Start).
  Result<User> CheckCredentials(int64_t tenant_id, std::string_view email,
                                std::string_view password, const audit::Event& attempt);

  // The user `user_id` of the tenant; kNotFound when there is none.
  Result<User> Find(int64_t tenant_id, int64_t user_id);

  // The tenant's users, by email.
  Result<std::vector<User>> List(int64_t tenant_id);

  struct Change {
    std::optional<Role> role;
    std::optional<bool> disabled;
    std::optional<std::string> name;
  };
  // Applies `change` to user `user_id` of the tenant. kNotFound for a user of another
  // tenant or none; kConflict when it would leave the tenant without an enabled admin;
  // kInvalidArgument for a name Insert would refuse.
  // `*ends_sessions` tells whether the role or the disabled flag changed (the caller
  // then ends the user's sessions).
  // Recorded as user.role_change {from,to}, user.disable / user.enable and user.rename.
  Result<User> Update(const audit::Actor& by, int64_t tenant_id, int64_t user_id,
                      const Change& change, bool* ends_sessions);

  // Replaces the password (policy-checked, with the user's email, name and tenant slug as
  // known words) and clears password_change_required. kInvalidArgument with the policy's
  // message; kNotFound for no such user.
  // Recorded as "auth.password_change".
  Status SetPassword(const audit::Actor& by, int64_t user_id, std::string_view new_password);

  // `observer` is called with the user's id after each SetPassword has committed (the
  // composition root deletes the first start's password file then), on the caller's
  // thread. One observer: a second call replaces the first. Set it before the service is
  // shared between threads.
  void OnPasswordSet(std::function<void(int64_t user_id)> observer);

 private:
  const std::string& DummyHash() const;
  Status RecordFailedLogin(int64_t user_id, const audit::Event& refusal);

  store::Database& db_;
  const Clock& clock_;
  const crypto::PasswordParams params_;
  std::function<void(int64_t)> on_password_set_;
  audit::AuditSink& audit_;
  mutable std::once_flag dummy_once_;
  mutable std::string dummy_hash_;
};

}  // namespace pactum::auth
