#include "api/audit_routes.h"

#include <nlohmann/json.hpp>

#include "api/auth_routes.h"
#include "api/route_util.h"
#include "audit/verifier.h"
#include "http/path.h"

namespace pactum::api {
namespace {

// The filters of a list or export request; kInvalidArgument naming a bad parameter.
Result<audit::ListQuery> QueryFrom(const http::Request& req, bool allow_cursor) {
  ASSIGN_OR_RETURN(auto params, http::ParseQuery(req.query));
  audit::ListQuery q;
  q.tenant_id = CallerOf(req)->user.tenant_id;
  for (const auto& [key, value] : params) {
    if (key == "stream") {
      q.stream = audit::ParseStream(value);
      if (!q.stream) return InvalidArgument("\"stream\" is auth, action, api or request");
    } else if (key == "actor") {
      q.actor = value;
    } else if (key == "action") {
      q.action = value;
    } else if (key == "from" || key == "to") {
      const auto t = audit::ParseTimeMs(value);
      if (!t) return InvalidArgument("\"" + key + "\" must be an RFC 3339 time");
      (key == "from" ? q.from_ms : q.to_ms) = *t;
    } else if (key == "cursor" && allow_cursor) {
      q.before_seq = ParseId(value);
      if (q.before_seq == 0) return InvalidArgument("\"cursor\" is not a cursor of this list");
    } else if (key == "limit" && allow_cursor) {
      const int64_t limit = ParseId(value);
      if (limit < 1 || limit > 1000) return InvalidArgument("\"limit\" must be 1-1000");
      q.limit = static_cast<int>(limit);
    } else {
      return InvalidArgument("unknown query parameter \"" + key + "\"");
    }
  }
  return q;
}

// Every matching event as JSON lines, read a page at a time as the client takes them.
class ExportSource final : public http::BodySource {
 public:
  ExportSource(audit::SqlAuditLog& log, audit::ListQuery q) : log_(log), query_(std::move(q)) {
    query_.oldest_first = true;
    query_.limit = 1000;
  }
  Result<size_t> Read(std::span<char> out) override {
    while (pending_.size() - offset_ < out.size() && !done_) {
      ASSIGN_OR_RETURN(auto page, log_.List(query_));
      if (page.size() < static_cast<size_t>(query_.limit)) done_ = true;
      pending_.erase(0, offset_);
      offset_ = 0;
      for (const auto& e : page) {
        pending_ +=
            audit::EventJson(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        pending_ += '\n';
        query_.after_seq = e.seq;
      }
    }
    const size_t n = std::min(out.size(), pending_.size() - offset_);
    std::copy_n(pending_.data() + offset_, n, out.data());
    offset_ += n;
    return n;
  }

 private:
  audit::SqlAuditLog& log_;
  audit::ListQuery query_;
  std::string pending_;
  size_t offset_ = 0;
  bool done_ = false;
};

}  // namespace

void RegisterAuditRoutes(http::Router& router, AuditDeps deps) {
  router.Add(http::Method::kGet, "/api/v1/audit", [deps](http::Request& req) {
    auto q = QueryFrom(req, /*allow_cursor=*/true);
    if (!q.ok()) return http::Response::Error(q.status());
    auto events = deps.log.List(*q);
    if (!events.ok()) return http::Response::Error(events.status());
    auto list = nlohmann::json::array();
    for (const auto& e : *events) list.push_back(audit::EventJson(e));
    nlohmann::json next = nullptr;
    if (events->size() == static_cast<size_t>(q->limit) && events->back().seq > 1) {
      next = std::to_string(events->back().seq);
    }
    auto r = http::Response::Json(200, {{"events", std::move(list)}, {"next_cursor", next}});
    r.headers.push_back({"Cache-Control", "no-store"});
    return r;
  });

  router.Add(http::Method::kGet, "/api/v1/audit/export", [deps](http::Request& req) {
    auto q = QueryFrom(req, /*allow_cursor=*/false);
    if (!q.ok()) return http::Response::Error(q.status());
    audit::Event e{.action = "audit.export"};
    e.details = {{"query", req.query.substr(0, 500)}};
    e.actor = ActorOf(req);
    if (auto refused = RecordOrRefuse(deps.log, e)) return std::move(*refused);
    http::Response r;
    r.content_type = "application/x-ndjson";
    r.stream = std::make_unique<ExportSource>(deps.log, *q);
    r.headers.push_back({"Content-Disposition", "attachment; filename=\"audit.jsonl\""});
    return r;
  });

  router.Add(http::Method::kGet, "/api/v1/audit/verify", [deps](http::Request& req) {
    auto checkpoints = deps.checkpoints.ReadAll();
    if (!checkpoints.ok()) return http::Response::Error(checkpoints.status());
    auto report =
        audit::VerifyChain(deps.log, *checkpoints, deps.public_key, CallerOf(req)->user.tenant_id);
    if (!report.ok()) return http::Response::Error(report.status());
    return http::Response::Json(200, audit::ReportJson(*report));
  });
}

}  // namespace pactum::api
