#include "auth/two_factor.h"

#include <optional>

#include "auth/qr_svg.h"
#include "common/log.h"
#include "crypto/otp.h"
#include "crypto/random.h"
#include "crypto/token.h"

namespace pactum::auth {
namespace {

constexpr std::string_view kLog = "auth";
constexpr size_t kSecretBytes = 20;        // 160 bits, RFC 4226's recommendation
constexpr size_t kRecoveryCodeBytes = 10;  // 80 bits: 16 base32 characters

std::string TotpContext(int64_t user_id) { return "totp:user/" + std::to_string(user_id); }

store::Blob RecoveryHash(int64_t user_id, std::string_view normalized) {
  const std::string h = crypto::Sha256("pactum-recovery-v1/" + std::to_string(user_id) + "/" +
                                       std::string(normalized));
  return {h.begin(), h.end()};
}

// A TOTP code of a time step already used (the one that confirmed enrolment, say): right,
// but each code works once, so the person waits for the next.
constexpr std::string_view kAlreadyUsed = "this code was already used; wait for the next code";

Status WrongCode() {
  return Status(StatusCode::kPermissionDenied, "the code is wrong or was used already")
      .WithReason("wrong_code");
}

// Six decimal digits, ignoring spaces ("123 456" as apps show it), or "".
std::string TotpDigits(std::string_view code) {
  std::string digits;
  for (const char c : code) {
    if (c == ' ') continue;
    if (c < '0' || c > '9' || digits.size() == 6) return {};
    digits += c;
  }
  return digits.size() == 6 ? digits : std::string();
}

}  // namespace

std::string NormalizeRecoveryCode(std::string_view code) {
  std::string out;
  for (const char c : code) {
    if (c == '-' || c == ' ') continue;
    const char u = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    if (!((u >= 'A' && u <= 'Z') || (u >= '2' && u <= '7')) || out.size() == 16) return {};
    out += u;
  }
  return out.size() == 16 ? out : std::string();
}

Result<TotpEnrolment> TwoFactorService::Begin(const User& user, std::string_view issuer) {
  crypto::SecretBytes secret(kSecretBytes);
  crypto::RandomBytes(secret.span());
  const int64_t now = UnixSeconds(clock_.Now());
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto active, s.Query("SELECT 1 FROM user_totp WHERE user_id = $1 AND "
                                          "confirmed = 1",
                                          {user.id}));
    if (!active.empty()) {
      return Status(StatusCode::kConflict, "two-factor login is on already; turn it off first")
          .WithReason("two_factor_active");
    }
    ASSIGN_OR_RETURN(auto sealed,
                     keys_.Seal(s, user.tenant_id, secret.span(), TotpContext(user.id)));
    return s
        .Execute(
            "INSERT INTO user_totp (user_id, tenant_id, secret, confirmed, last_step, "
            "created_at) VALUES ($1, $2, $3, 0, 0, $4) ON CONFLICT (user_id) DO UPDATE SET "
            "secret = excluded.secret, last_step = 0, created_at = excluded.created_at",
            {user.id, user.tenant_id, store::Blob(sealed.begin(), sealed.end()), now})
        .status();
  }));
  TotpEnrolment e;
  e.secret = crypto::Base32Encode(secret.span());
  e.otpauth_uri = crypto::OtpauthUri(issuer, user.email, secret.span());
  ASSIGN_OR_RETURN(e.qr_svg, QrSvg(e.otpauth_uri));
  return e;
}

// Errors: kConflict when the user has no factor in the `confirmed` state; kUnauthenticated
// for a wrong, replayed or used code. Writes (the accepted step, the used recovery code)
// happen in `s`.
Result<SecondFactor> TwoFactorService::UseCodeIn(store::Session& s, int64_t tenant_id,
                                                 int64_t user_id, std::string_view code,
                                                 bool confirmed) {
  ASSIGN_OR_RETURN(auto rows, s.Query("SELECT secret, last_step FROM user_totp WHERE user_id "
                                      "= $1 AND tenant_id = $2 AND confirmed = $3",
                                      {user_id, tenant_id, int64_t{confirmed ? 1 : 0}}));
  if (rows.empty()) return Status(StatusCode::kConflict, "no such second factor");
  const Status wrong(StatusCode::kUnauthenticated, "the code is wrong or was used already");
  const int64_t now = UnixSeconds(clock_.Now());
  const nlohmann::json who = {{"tenant_id", tenant_id}, {"user_id", user_id}};
  if (const std::string digits = TotpDigits(code); !digits.empty()) {
    const store::Blob sealed = rows[0].Bytes(0);
    ASSIGN_OR_RETURN(const crypto::SecretBytes secret,
                     keys_.Open(s, tenant_id, sealed, TotpContext(user_id)));
    const std::optional<int64_t> step = crypto::VerifyTotp(secret.span(), digits, now);
    if (!step) return wrong;
    const Status used(StatusCode::kUnauthenticated, std::string(kAlreadyUsed));
    if (*step <= rows[0].Int(1)) {
      log::Warn(kLog, "a replayed TOTP code was refused", who);
      return Status(used).WithReason("replay");
    }
    // Conditional, so two transactions presenting the same code cannot both succeed.
    ASSIGN_OR_RETURN(const int64_t moved,
                     s.Execute("UPDATE user_totp SET last_step = $1 WHERE user_id = $2 AND "
                               "last_step < $1",
                               {*step, user_id}));
    if (moved != 1) {
      log::Warn(kLog, "a replayed TOTP code was refused", who);
      return Status(used).WithReason("replay");
    }
    return SecondFactor::kTotp;
  }
  const std::string normalized = NormalizeRecoveryCode(code);
  if (normalized.empty() || !confirmed) return wrong;
  const store::Blob hash = RecoveryHash(user_id, normalized);
  ASSIGN_OR_RETURN(const int64_t used,
                   s.Execute("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND "
                             "code_hash = $3 AND used_at IS NULL",
                             {now, user_id, hash}));
  if (used == 1) {
    log::Info(kLog, "a recovery code was used", who);
    return SecondFactor::kRecoveryCode;
  }
  ASSIGN_OR_RETURN(auto spent, s.Query("SELECT 1 FROM recovery_codes WHERE user_id = $1 AND "
                                       "code_hash = $2",
                                       {user_id, hash}));
  if (!spent.empty()) {
    log::Warn(kLog, "a used recovery code was presented again", who);
    return Status(wrong).WithReason("replay");
  }
  return wrong;
}

namespace {

// The reason a refused code is recorded with.
std::string CodeRefusal(const Status& s) { return s.reason().empty() ? "wrong_code" : s.reason(); }

audit::Event AuthEvent(const audit::Actor& by, std::string action, int64_t user_id) {
  audit::Event e{.stream = audit::Stream::kAuth,
                 .action = std::move(action),
                 .target = "user:" + std::to_string(user_id)};
  e.actor = by;
  return e;
}

}  // namespace

Result<std::vector<std::string>> TwoFactorService::Confirm(const audit::Actor& by, const User& user,
                                                           std::string_view code) {
  std::vector<std::string> codes;
  std::vector<store::Blob> hashes;
  for (int i = 0; i < kRecoveryCodes; ++i) {
    std::vector<uint8_t> bytes(kRecoveryCodeBytes);
    crypto::RandomBytes(bytes);
    const std::string raw = crypto::Base32Encode(bytes);
    hashes.push_back(RecoveryHash(user.id, raw));
    std::string shown;
    for (size_t j = 0; j < raw.size(); j += 4) {
      if (j > 0) shown += '-';
      for (const char c : raw.substr(j, 4)) {
        shown += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
      }
    }
    codes.push_back(std::move(shown));
  }
  Status outcome;
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    auto used = UseCodeIn(s, user.tenant_id, user.id, code, /*confirmed=*/false);
    if (!used.ok()) {
      if (used.status().code() == StatusCode::kConflict) {
        outcome = Status(StatusCode::kConflict, "no enrolment is pending: POST /api/v1/me/totp")
                      .WithReason("no_pending_enrolment");
      } else if (used.status().code() == StatusCode::kUnauthenticated) {
        outcome = WrongCode();
      } else {
        return used.status();
      }
      audit::Event e = AuthEvent(by, "auth.mfa_enrol", user.id);
      audit::MarkFailed(e, outcome.code() == StatusCode::kConflict
                               ? std::string("no_pending_enrolment")
                               : CodeRefusal(used.status()));
      return audit_.Append(s, e);
    }
    RETURN_IF_ERROR(
        s.Execute("UPDATE user_totp SET confirmed = 1 WHERE user_id = $1", {user.id}).status());
    RETURN_IF_ERROR(s.Execute("DELETE FROM recovery_codes WHERE user_id = $1", {user.id}).status());
    for (const store::Blob& h : hashes) {
      RETURN_IF_ERROR(
          s.Execute("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)", {user.id, h})
              .status());
    }
    return audit_.Append(s, AuthEvent(by, "auth.mfa_enrol", user.id));
  }));
  RETURN_IF_ERROR(outcome);
  log::Info(kLog, "two-factor login turned on",
            {{"tenant_id", user.tenant_id}, {"user_id", user.id}});
  return codes;
}

Status TwoFactorService::Disable(const audit::Actor& by, const User& user, std::string_view code) {
  Status outcome;
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    auto used = UseCodeIn(s, user.tenant_id, user.id, code, /*confirmed=*/true);
    if (!used.ok()) {
      if (used.status().code() == StatusCode::kConflict) {
        outcome =
            Status(StatusCode::kConflict, "two-factor login is off").WithReason("two_factor_off");
      } else if (used.status().code() == StatusCode::kUnauthenticated) {
        outcome = WrongCode();
      } else {
        return used.status();
      }
      audit::Event e = AuthEvent(by, "auth.mfa_disable", user.id);
      audit::MarkFailed(e, outcome.code() == StatusCode::kConflict ? std::string("two_factor_off")
                                                                   : CodeRefusal(used.status()));
      return audit_.Append(s, e);
    }
    RETURN_IF_ERROR(s.Execute("DELETE FROM user_totp WHERE user_id = $1", {user.id}).status());
    RETURN_IF_ERROR(s.Execute("DELETE FROM recovery_codes WHERE user_id = $1", {user.id}).status());
    return audit_.Append(s, AuthEvent(by, "auth.mfa_disable", user.id));
  }));
  RETURN_IF_ERROR(outcome);
  log::Info(kLog, "two-factor login turned off",
            {{"tenant_id", user.tenant_id}, {"user_id", user.id}});
  return Status::Ok();
}

Status TwoFactorService::Reset(const audit::Actor& by, int64_t tenant_id, int64_t user_id) {
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2",
                                        {user_id, tenant_id}));
    if (rows.empty()) return NotFound("no such user");
    RETURN_IF_ERROR(s.Execute("DELETE FROM user_totp WHERE user_id = $1", {user_id}).status());
    RETURN_IF_ERROR(s.Execute("DELETE FROM recovery_codes WHERE user_id = $1", {user_id}).status());
    RETURN_IF_ERROR(s.Execute("DELETE FROM mfa_challenges WHERE user_id = $1", {user_id}).status());
    return audit_.Append(s, AuthEvent(by, "auth.mfa_reset", user_id));
  }));
  log::Info(kLog, "two-factor login reset by an admin",
            {{"tenant_id", tenant_id}, {"user_id", user_id}});
  return Status::Ok();
}

Result<SecondFactor> TwoFactorService::UseCode(int64_t tenant_id, int64_t user_id,
                                               std::string_view code) {
  std::optional<Result<SecondFactor>> outcome;
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    auto used = UseCodeIn(s, tenant_id, user_id, code, /*confirmed=*/true);
    if (!used.ok() && used.status().code() != StatusCode::kConflict &&
        used.status().code() != StatusCode::kUnauthenticated) {
      return used.status();
    }
    outcome = std::move(used);
    return Status::Ok();
  }));
  if (!outcome->ok()) {
    return Status(StatusCode::kUnauthenticated, "the code is wrong or was used already");
  }
  return **outcome;
}

Result<std::string> TwoFactorService::StartChallenge(const User& user, const audit::Event& login) {
  std::string token = crypto::RandomUrlToken();
  const std::string hash = crypto::Sha256(token);
  const int64_t now = UnixSeconds(clock_.Now());
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    RETURN_IF_ERROR(s.Execute("DELETE FROM mfa_challenges WHERE expires_at <= $1", {now}).status());
    RETURN_IF_ERROR(s.Execute("INSERT INTO mfa_challenges (token_hash, tenant_id, user_id, "
                              "expires_at) VALUES ($1, $2, $3, $4)",
                              {store::Blob(hash.begin(), hash.end()), user.tenant_id, user.id,
                               now + kChallengeSeconds})
                        .status());
    audit::Event e = login;
    e.success = true;
    e.target = "user:" + std::to_string(user.id);
    e.actor.user_id = user.id;
    e.details["mfa_required"] = true;
    return audit_.Append(s, e);
  }));
  return token;
}

Result<TwoFactorService::Answered> TwoFactorService::AnswerChallenge(std::string_view mfa_token,
                                                                     std::string_view code,
                                                                     const audit::Actor& from) {
  const Status refused(StatusCode::kUnauthenticated, "the code is wrong or the login expired");
  if (!crypto::IsUrlToken(mfa_token)) return refused;
  const std::string h = crypto::Sha256(mfa_token);
  const store::Blob key(h.begin(), h.end());
  const auto now_time = clock_.Now();
  const int64_t now = UnixSeconds(now_time);
  bool exists = false;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto rows,
                     s.Query("SELECT 1 FROM mfa_challenges WHERE token_hash = $1", {key}));
    exists = !rows.empty();
    return Status::Ok();
  }));
  if (!exists) return refused;
  std::optional<Answered> answered;
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    // Use up one attempt before anything else (so concurrent answers cannot share one).
    ASSIGN_OR_RETURN(auto rows, s.Query("UPDATE mfa_challenges SET attempts = attempts + 1 WHERE "
                                        "token_hash = $1 AND attempts < $2 AND expires_at > $3 "
                                        "RETURNING tenant_id, user_id",
                                        {key, int64_t{kChallengeAttempts}, now}));
    const auto refusal = [&](int64_t tenant_id, int64_t user_id, std::string reason) {
      audit::Actor who = from;
      who.tenant_id = tenant_id;
      audit::Event e = AuthEvent(who, "auth.mfa", user_id);
      audit::MarkFailed(e, std::move(reason));
      return audit_.Append(s, e);
    };
    if (rows.empty()) {  // expired or exhausted: gone
      ASSIGN_OR_RETURN(auto gone, s.Query("DELETE FROM mfa_challenges WHERE token_hash = $1 "
                                          "RETURNING tenant_id, user_id",
                                          {key}));
      if (gone.empty()) return Status::Ok();
      return refusal(gone[0].Int(0), gone[0].Int(1), "challenge_expired");
    }
    const int64_t tenant_id = rows[0].Int(0);
    const int64_t user_id = rows[0].Int(1);
    ASSIGN_OR_RETURN(auto user, s.Query("SELECT disabled, locked_until FROM users WHERE id = $1 "
                                        "AND tenant_id = $2",
                                        {user_id, tenant_id}));
    if (user.empty() || user[0].Int(0) != 0 || user[0].Int(1) > now) {
      return refusal(tenant_id, user_id,
                     user.empty() || user[0].Int(0) != 0 ? "disabled" : "locked");
    }
    auto used = UseCodeIn(s, tenant_id, user_id, code, /*confirmed=*/true);
    if (!used.ok() && used.status().code() != StatusCode::kUnauthenticated &&
        used.status().code() != StatusCode::kConflict) {
      return used.status();
    }
    answered =
        Answered{tenant_id, user_id, used.ok(), used.ok() ? *used : SecondFactor::kTotp, refused};
    if (!used.ok()) {
      if (used.status().reason() == "replay" && !TotpDigits(code).empty()) {
        answered->refusal = Status(StatusCode::kUnauthenticated, std::string(kAlreadyUsed))
                                .WithReason("code_already_used");
      }
      RETURN_IF_ERROR(CountFailedLogin(s, user_id, now_time));
      return refusal(tenant_id, user_id, CodeRefusal(used.status()));
    }
    RETURN_IF_ERROR(
        s.Execute("UPDATE users SET failed_logins = 0 WHERE id = $1", {user_id}).status());
    return s.Execute("DELETE FROM mfa_challenges WHERE token_hash = $1", {key}).status();
  }));
  if (!answered) return refused;
  return *answered;
}

}  // namespace pactum::auth
