#include "audit/audit_sink.h"

namespace pactum::audit {

std::string_view StreamName(Stream s) {
  switch (s) {
    case Stream::kAuth:
      return "auth";
    case Stream::kAction:
      return "action";
    case Stream::kApi:
      return "api";
    case Stream::kRequest:
      return "request";
  }
  return "action";
}

std::optional<Stream> ParseStream(std::string_view name) {
  for (const Stream s : {Stream::kAuth, Stream::kAction, Stream::kApi, Stream::kRequest}) {
    if (StreamName(s) == name) return s;
  }
  return std::nullopt;
}

Actor Actor::System(int64_t tenant_id) {
  Actor a;
  a.tenant_id = tenant_id;
  a.system = true;
  return a;
}

std::string Actor::Name() const {
  if (token_id != 0) return "token:" + std::to_string(token_id);
  if (user_id != 0) return "user:" + std::to_string(user_id);
  return system ? "system" : "anonymous";
}

void MarkFailed(Event& e, std::string reason) {
  e.success = false;
  e.details["reason"] = std::move(reason);
}

Event Failure(Stream stream, std::string action, const Actor& actor, std::string reason,
              std::string target) {
  Event e;
  e.stream = stream;
  e.action = std::move(action);
  e.target = std::move(target);
  e.actor = actor;
  MarkFailed(e, std::move(reason));
  return e;
}

Status AuditUnavailable(std::string detail) {
  return Status(StatusCode::kUnavailable,
                "the audit trail cannot record this request right now; nothing was changed",
                std::move(detail))
      .WithReason("audit_unavailable");
}

}  // namespace pactum::audit
