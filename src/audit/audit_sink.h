#pragma once

// The audit trail's write side (DESIGN §7, promise P12). Four streams: `auth` (login
// attempts and credential changes), `action` (sensitive actions and refused
// authorizations), `api` (calls made with an API token) and `request` (every HTTP
// request). Each tenant's events, and the platform's (tenant 0), form a hash chain; see
// event_codec.h for what is hashed and checkpoint.h for the signed checkpoints.
//
// What an event must never hold: a password, session id, API token, TOTP or recovery
// code, link token, cookie or document content. Identifiers that are secrets themselves
// are stored as keyed HMACs (EventHasher::Redact).

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "store/database.h"

namespace pactum::audit {

enum class Stream { kAuth, kAction, kApi, kRequest };

std::string_view StreamName(Stream s);
// "auth" -> kAuth ...; nullopt for anything else.
std::optional<Stream> ParseStream(std::string_view name);

// Who did something, and from where. Copied into every event it causes.
struct Actor {
  int64_t tenant_id = 0;  // the chain the event joins; 0: the platform's
  int64_t user_id = 0;
  int64_t token_id = 0;    // the API token used, or 0
  bool system = false;     // the server itself (housekeeping) or an operator's CLI command
  std::string ip;          // the client's address, "" for the system
  std::string request_id;  // "" outside a request
  std::string user_agent;  // for auth and request events; "" elsewhere

  // The server or an operator command acting on `tenant_id`.
  static Actor System(int64_t tenant_id);
  // "token:<id>", "user:<id>", "system" or "anonymous".
  std::string Name() const;
};

struct Event {
  Stream stream = Stream::kAction;
  std::string action;  // dotted: "auth.login", "contract.create", ...
  std::string target;  // "contract:12", "user:4", a route pattern ...; "" when none
  bool success = true;
  nlohmann::json details = nlohmann::json::object();
  // For hot paths (the request stream): the details already serialized, a JSON object in
  // printable ASCII. When set, `details` is ignored and the actor's request_id and
  // user_agent are not added to it (put them in).
  std::string details_json;
  Actor actor;
};

// Marks `e` as failed for `reason` (a short slug such as "bad_password"), in
// details.reason: the one shape of every failure event.
void MarkFailed(Event& e, std::string reason);

// An event that failed for `reason`.
Event Failure(Stream stream, std::string action, const Actor& actor, std::string reason,
              std::string target = "");

// Where events go. Implementations are thread-safe.
class AuditSink {
 public:
  virtual ~AuditSink() = default;

  // Appends `event` to its tenant's chain inside the caller's write transaction, so it
  // commits or rolls back with the change it describes. Errors: kUnavailable (reason
  // "audit_unavailable") when it cannot be written; the caller must then fail.
  virtual Status Append(store::Session& session, const Event& event) = 0;

  // Records `event` in a transaction of its own: for what changes nothing else (a refused
  // login, a refused authorization, a download). Same errors as Append.
  virtual Status Record(const Event& event) = 0;
};

// The one status every audit write failure turns into (503 audit_unavailable); `detail`
// (the cause) goes to the operator log only.
Status AuditUnavailable(std::string detail = {});

}  // namespace pactum::audit
