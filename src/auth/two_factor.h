#pragma once

// Two-factor login (RFC 6238 TOTP: SHA-1, 6 digits, 30 s, ±1 step) with ten single-use
// recovery codes, and the short-lived challenge between the password step and the code
// step of a login (DESIGN §4).
//
// - The TOTP secret (160 bits) is sealed with the tenant's data key, bound to the user
//   ("totp:user/<id>"). Enrolment starts with a fresh secret that becomes active only
//   when a correct code confirms it; starting again replaces a pending secret.
// - Each accepted TOTP code moves the user's last accepted time step forward in the same
//   write transaction that checked it: a code (or an earlier one) presented again is
//   refused as a replay, and the replay is logged.
// - Recovery codes are 80 random bits shown once as xxxx-xxxx-xxxx-xxxx (base32) and
//   stored as SHA-256; each works once.
// - A login challenge token (256 bits, stored hashed) lives five minutes, allows five
//   wrong codes, and is gone once a code was accepted.
//
// Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_sink.h"
#include "auth/user_service.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/database.h"
#include "tenant/tenant_keys.h"

namespace pactum::auth {

struct TotpEnrolment {
  std::string secret;       // base32, for manual entry
  std::string otpauth_uri;  // for authenticator apps
  std::string qr_svg;       // the URI as a QR code
};

enum class SecondFactor { kTotp, kRecoveryCode };

class TwoFactorService {
 public:
  static constexpr int kRecoveryCodes = 10;
  static constexpr int64_t kChallengeSeconds = 300;
  static constexpr int kChallengeAttempts = 5;

  TwoFactorService(store::Database& db, const Clock& clock, tenant::TenantKeys& keys,
                   audit::AuditSink& audit)
      : db_(db), clock_(clock), keys_(keys), audit_(audit) {}

  // A new pending secret for `user` (replacing a pending one). kConflict
  // ("two_factor_active") when two-factor login is already on. `issuer` names the service
  // in the authenticator app.
  Result<TotpEnrolment> Begin(const User& user, std::string_view issuer);

  // Turns two-factor login on with a correct code for the pending secret; returns the ten
  // recovery codes (shown once). kConflict when nothing is pending;
  // kPermissionDenied ("wrong_code") for a wrong code.
  // Recorded as auth.mfa_enrol, success or failure (with its reason).
  Result<std::vector<std::string>> Confirm(const audit::Actor& by, const User& user,
                                           std::string_view code);

  // Turns two-factor login off, given a current TOTP code or an unused recovery code.
  // kConflict when it is off; kPermissionDenied ("wrong_code") otherwise.
  // Recorded as auth.mfa_disable, success or failure.
  Status Disable(const audit::Actor& by, const User& user, std::string_view code);

  // An admin's reset for a user who lost every factor: removes the secret and the
  // recovery codes. kNotFound for a user of another tenant or none.
  // Recorded as auth.mfa_reset.
  Status Reset(const audit::Actor& by, int64_t tenant_id, int64_t user_id);

  // Checks a TOTP code or a recovery code of a user with two-factor login on, and uses
  // it up. kUnauthenticated when wrong, already used, or two-factor login is off.
  Result<SecondFactor> UseCode(int64_t tenant_id, int64_t user_id, std::string_view code);

  // A login challenge for a user whose password was right: the mfa_token to return. The
  // password step is recorded as `login` (success, details.mfa_required) with it.
  Result<std::string> StartChallenge(const User& user, const audit::Event& login);

  struct Answered {
    int64_t tenant_id = 0;
    int64_t user_id = 0;
    bool accepted = false;  // the code was right (the challenge is then gone)
    SecondFactor factor = SecondFactor::kTotp;
    // When not accepted, what to answer: kUnauthenticated "the code is wrong or the login
    // expired", or, for a right TOTP code of a time step already used (typically the one
    // that confirmed enrolment, or the previous login), reason "code_already_used" with
    // "this code was already used; wait for the next code". Either counts as a failure.
    Status refusal;
  };
  // Answers a challenge with `code`, in one write transaction: an attempt of the
  // challenge is used up first; a disabled or locked user is refused without looking at
  // the code; a wrong code counts as a failed login toward the user's lockout, a right
  // one starts the count over. kUnauthenticated for an unknown, expired or exhausted
  // token (without taking the write lock for a token that does not exist).
  // Refusals are recorded as auth.mfa failures (reason wrong_code, replay, locked,
  // disabled, challenge_expired) from `from`; success is recorded by whoever starts the
  // session. A refused code leaves `refusal` set for the answer.
  Result<Answered> AnswerChallenge(std::string_view mfa_token, std::string_view code,
                                   const audit::Actor& from);

 private:
  Result<SecondFactor> UseCodeIn(store::Session& s, int64_t tenant_id, int64_t user_id,
                                 std::string_view code, bool confirmed);

  store::Database& db_;
  const Clock& clock_;
  tenant::TenantKeys& keys_;
  audit::AuditSink& audit_;
};

// The recovery code in canonical form (16 upper-case base32 characters), or "" when
// `code` is not shaped like one (dashes and spaces are ignored, any case).
std::string NormalizeRecoveryCode(std::string_view code);

}  // namespace pactum::auth
