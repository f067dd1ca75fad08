// The audit trail over HTTP, for the tenant's admins (DESIGN §4, §7): list, export as
// JSON lines (itself recorded, audit.export), and the check of the chain against the
// signed checkpoints. Only the caller's tenant's chain is ever read.

#include <nlohmann/json.hpp>

#include "api/routes.h"
#include "audit/verifier.h"
#include "http/path.h"

namespace pactum::api {
namespace {

// The filters of a list or export request (names checked against the declaration);
// kInvalidArgument naming a bad value.
Result<audit::ListQuery> QueryFrom(const http::Request& req) {
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
    } else if (key == "cursor") {
      q.before_seq = ParseId(value);
      if (q.before_seq == 0) return InvalidArgument("\"cursor\" is not a cursor of this list");
    } else if (key == "limit") {
      const int64_t limit = ParseId(value);
      if (limit < 1 || limit > 1000) return InvalidArgument("\"limit\" must be 1-1000");
      q.limit = static_cast<int>(limit);
    } else {
      return Internal("declared query parameter \"" + key + "\" is not handled");
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

std::vector<FieldSpec> FilterParams(bool paged) {
  std::vector<FieldSpec> f{
      Field("stream", Json::kString).OneOf({"auth", "action", "api", "request"}),
      Field("actor", Json::kString).Describe("user:<id>, token:<id> or an address"),
      Field("action", Json::kString).Example(R"("contract.update")"),
      Field("from", Json::kString).Format("date-time"),
      Field("to", Json::kString).Format("date-time"),
  };
  if (paged) {
    f.push_back(Field("cursor", Json::kString).Describe("next_cursor of the previous page"));
    f.push_back(Field("limit", Json::kInteger).Range(1, 1000).Example("100"));
  }
  return f;
}

std::vector<FieldSpec> EventFields() {
  return {
      Field("seq", Json::kInteger).Required().Describe("position in the tenant's chain"),
      Field("time", Json::kString).Required().Format("date-time"),
      Field("stream", Json::kString).Required().OneOf({"auth", "action", "api", "request"}),
      Field("actor", Json::kString).Required().Describe("user:<id>, token:<id> or anonymous"),
      Field("ip", Json::kString).Required(),
      Field("action", Json::kString).Required().Example(R"("contract.update")"),
      Field("target", Json::kString).Required().Example(R"("contract:12")"),
      Field("outcome", Json::kString).Required().Example(R"("success")"),
      Field("details", Json::kObject).Required().Open(),
  };
}

}  // namespace

void AddAuditEndpoints(EndpointTable& api, AuditDeps deps) {
  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/audit",
      .group = "Audit trail",
      .summary = "Audit events of the tenant, newest first, a page at a time",
      .who = Who::kAdmin,
      .query = FilterParams(/*paged=*/true),
      .response = {{
          Field("events", Json::kArray).Required().Items(Json::kObject).Fields(EventFields()),
          Field("next_cursor", Json::kString).Required().Nullable(),
      }},
      .handler =
          [deps](Call& call) {
            auto q = QueryFrom(call.request);
            if (!q.ok()) return http::Response::Error(q.status());
            auto events = deps.log.List(*q);
            if (!events.ok()) return http::Response::Error(events.status());
            auto list = nlohmann::json::array();
            for (const auto& e : *events) list.push_back(audit::EventJson(e));
            nlohmann::json next = nullptr;
            if (events->size() == static_cast<size_t>(q->limit) && events->back().seq > 1) {
              next = std::to_string(events->back().seq);
            }
            auto r =
                http::Response::Json(200, {{"events", std::move(list)}, {"next_cursor", next}});
            r.headers.push_back({"Cache-Control", "no-store"});
            return r;
          },
  });

  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/audit/export",
      .group = "Audit trail",
      .summary = "Every matching event as JSON lines, oldest first",
      .description = "The export itself is recorded (audit.export).",
      .who = Who::kAdmin,
      .query = FilterParams(/*paged=*/false),
      .produces = "application/x-ndjson",
      .audit = {"audit.export"},
      .handler =
          [deps](Call& call) {
            auto q = QueryFrom(call.request);
            if (!q.ok()) return http::Response::Error(q.status());
            audit::Event e{.action = "audit.export"};
            e.details = {{"query", call.request.query.substr(0, 500)}};
            e.actor = call.actor();
            if (auto refused = RecordOrRefuse(deps.log, e)) return std::move(*refused);
            http::Response r;
            r.content_type = "application/x-ndjson";
            r.stream = std::make_unique<ExportSource>(deps.log, *q);
            r.headers.push_back({"Content-Disposition", "attachment; filename=\"audit.jsonl\""});
            return r;
          },
  });

  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/audit/verify",
      .group = "Audit trail",
      .summary = "Check the tenant's chain against the signed checkpoints",
      .who = Who::kAdmin,
      .response = {{
          Field("ok", Json::kBoolean).Required(),
          Field("tenant", Json::kInteger).Required(),
          Field("events", Json::kInteger).Required().Describe("events checked"),
          Field("last_seq", Json::kInteger).Required(),
          Field("checkpoints", Json::kInteger).Required().Describe("signed checkpoints checked"),
          Field("checkpointed_seq", Json::kInteger).Required(),
          Field("problem", Json::kObject)
              .Describe("the first break: kind, seq, message")
              .Fields({Field("kind", Json::kString).Required(),
                       Field("seq", Json::kInteger).Required(),
                       Field("message", Json::kString).Required()}),
      }},
      .handler =
          [deps](Call& call) {
            auto checkpoints = deps.checkpoints.ReadAll();
            if (!checkpoints.ok()) return http::Response::Error(checkpoints.status());
            auto report = audit::VerifyChain(deps.log, *checkpoints, deps.public_key,
                                             call.caller().user.tenant_id);
            if (!report.ok()) return http::Response::Error(report.status());
            return http::Response::Json(200, audit::ReportJson(*report));
          },
  });
}

}  // namespace pactum::api
