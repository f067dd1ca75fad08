#include "api/request_audit.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "api/auth_routes.h"

namespace pactum::api {
namespace {

// Route parameters whose values are credentials.
constexpr std::array<std::string_view, 1> kSecretParams = {"{token}"};

// Beyond these an event's details could outgrow what the log keeps of them.
constexpr size_t kMaxPathBytes = 2048;
constexpr size_t kMaxQueryKeys = 32;
constexpr size_t kMaxMethodBytes = 32;
// A query parameter's name longer than this is no name but data (a token pasted as
// "?pct_…"): it is stored as its HMAC.
constexpr size_t kMaxQueryKeyBytes = 32;

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Calls fn(index, segment) for each segment of an absolute path ("/a/b": "a", "b") until
// it returns false.
template <class Fn>
void ForEachSegment(std::string_view path, Fn&& fn) {
  size_t index = 0;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (!fn(index++, path.substr(start, slash - start))) return;
    start = slash + 1;
  }
}

std::string Truncated(std::string_view s, size_t max) { return std::string(s.substr(0, max)); }

}  // namespace

RequestAudit::RequestAudit(audit::RequestRecorder& recorder, const audit::SqlAuditLog& log,
                           const http::Router& router)
    : recorder_(recorder), log_(log) {
  for (const auto& route : router.routes()) {
    const auto& segments = route->segments;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (std::find(kSecretParams.begin(), kSecretParams.end(), segments[i]) ==
          kSecretParams.end()) {
        continue;
      }
      SecretSegment secret{{segments.begin(), segments.begin() + static_cast<ptrdiff_t>(i)}, i};
      const bool known = std::any_of(secrets_.begin(), secrets_.end(), [&](const auto& s) {
        return s.index == secret.index && s.pattern == secret.pattern;
      });
      if (!known) secrets_.push_back(std::move(secret));
    }
  }
}

std::string RequestAudit::LoggedPath(std::string_view path) const {
  // Which segments hold secrets: those after a prefix some secret route starts with.
  std::vector<size_t> secret_indexes;
  for (const SecretSegment& secret : secrets_) {
    bool matches = false;
    ForEachSegment(path, [&](size_t i, std::string_view segment) {
      if (segment.empty()) return false;
      if (i == secret.index) {
        matches = true;
        return false;
      }
      return IsParam(secret.pattern[i]) || segment == secret.pattern[i];
    });
    if (matches) secret_indexes.push_back(secret.index);
  }
  if (secret_indexes.empty()) return Truncated(path, kMaxPathBytes);
  std::string out;
  ForEachSegment(path, [&](size_t i, std::string_view segment) {
    out += '/';
    if (std::find(secret_indexes.begin(), secret_indexes.end(), i) != secret_indexes.end()) {
      out += log_.Redact(segment);
    } else {
      out += segment;
    }
    return true;
  });
  return Truncated(out, kMaxPathBytes);
}

Status RequestAudit::Admit(const http::Request& /*request*/) { return recorder_.Admit(); }

void RequestAudit::Finished(const http::Request& req, const http::Route* route,
                            const http::RequestOutcome& outcome) {
  const Principal* caller = CallerOf(req);
  audit::Event event;
  event.stream = audit::Stream::kRequest;
  event.action = "http.request";
  event.target = route != nullptr ? route->pattern : "unmatched";
  event.success = outcome.status < 400;
  audit::Actor& actor = event.actor;
  if (caller != nullptr) {
    actor.tenant_id = caller->user.tenant_id;
    actor.user_id = caller->user.id;
    actor.token_id = caller->token_id;
  }
  actor.ip = req.remote_ip;
  actor.request_id = req.request_id;
  actor.user_agent = std::string(req.Header("User-Agent"));

  const std::string method = Truncated(req.method_text, kMaxMethodBytes);
  nlohmann::json& d = event.details;
  d["method"] = method;
  d["path"] = LoggedPath(req.path);
  if (!req.query.empty()) {
    nlohmann::json keys = nlohmann::json::array();
    std::string_view query = req.query;
    while (!query.empty() && keys.size() < kMaxQueryKeys) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      const std::string_view key = pair.substr(0, pair.find('='));
      if (!key.empty()) {
        keys.push_back(key.size() > kMaxQueryKeyBytes ? log_.Redact(key) : std::string(key));
      }
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
    d["query_keys"] = std::move(keys);
  }
  d["status"] = outcome.status;
  d["bytes_in"] = outcome.bytes_in;
  d["bytes_out"] = outcome.bytes_out;
  d["duration_us"] =
      std::chrono::duration_cast<std::chrono::microseconds>(outcome.duration).count();
  if (req.peer_ip != req.remote_ip) d["peer_ip"] = req.peer_ip;

  if (caller != nullptr && caller->token_id != 0) {
    audit::Event call;
    call.stream = audit::Stream::kApi;
    call.action = "api.call";
    call.target = event.target;
    call.success = event.success;
    call.actor = actor;
    call.actor.user_agent.clear();  // in the request event, found by the request id
    call.details = {{"token_id", caller->token_id},
                    {"method", method},
                    {"status", outcome.status},
                    {"bytes_in", outcome.bytes_in},
                    {"bytes_out", outcome.bytes_out}};
    recorder_.Add(std::move(event));
    recorder_.Add(std::move(call));
    return;
  }
  recorder_.Add(std::move(event));
}

}  // namespace pactum::api
