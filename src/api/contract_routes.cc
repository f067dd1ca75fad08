#include "api/contract_routes.h"

#include "api/auth_routes.h"
#include "api/route_util.h"
#include "http/path.h"

namespace pactum::api {
namespace {

http::Response WithETag(http::Response r, int64_t version) {
  r.headers.push_back({"ETag", "\"" + std::to_string(version) + "\""});
  return r;
}

// The version an If-Match header names ("3", "\"3\""), or 0.
int64_t IfMatchVersion(std::string_view h) {
  if (h.size() >= 2 && h.front() == '"' && h.back() == '"') h = h.substr(1, h.size() - 2);
  return ParseId(h);
}

// Whether a create or PATCH body sets an owner other than the caller while the caller is
// below manager (only managers and admins give contracts to others).
bool NamesAnotherOwner(const nlohmann::json& body, const Principal& p) {
  const auto owner = body.find("owner_id");
  return owner != body.end() && p.user.role < auth::Role::kManager &&
         !(owner->is_number_integer() && owner->get<int64_t>() == p.user.id);
}

Result<contract::ListQuery> ListQueryFrom(const http::Request& req, const Principal& p) {
  ASSIGN_OR_RETURN(auto params, http::ParseQuery(req.query));
  contract::ListQuery q;
  for (const auto& [key, value] : params) {
    if (key == "status") {
      q.status = value;
    } else if (key == "owner_id") {
      q.owner_id = ParseId(value);
      if (q.owner_id == 0) return InvalidArgument("\"owner_id\" must be a user id");
    } else if (key == "counterparty") {
      q.counterparty = value;
    } else if (key == "tag") {
      q.tag = value;
    } else if (key == "end_from") {
      q.end_from = value;
    } else if (key == "end_to") {
      q.end_to = value;
    } else if (key == "sort") {
      q.sort = value;
    } else if (key == "cursor") {
      q.cursor = value;
    } else if (key == "limit") {
      q.limit = ParseId(value);
    } else if (key == "trash") {
      if (value != "true" && value != "false") return InvalidArgument("\"trash\" is true or false");
      q.trash = value == "true";
      if (q.trash && p.user.role < auth::Role::kManager) {
        return Status(StatusCode::kPermissionDenied, "the trash is for managers and admins");
      }
    } else {
      return InvalidArgument("unknown query parameter \"" + key + "\"");
    }
  }
  return q;
}

}  // namespace

void RegisterContractRoutes(http::Router& router, contract::ContractService& contracts) {
  router.Add(http::Method::kGet, "/api/v1/contracts", [&contracts](http::Request& req) {
    const Principal* p = CallerOf(req);
    auto q = ListQueryFrom(req, *p);
    if (!q.ok()) return http::Response::Error(q.status());
    auto page = contracts.List(p->user.tenant_id, *q);
    if (!page.ok()) return http::Response::Error(page.status());
    auto list = nlohmann::json::array();
    for (const auto& c : page->contracts) list.push_back(contract::ToJson(c));
    return http::Response::Json(
        200, {{"contracts", list},
              {"next_cursor", page->next_cursor.empty() ? nlohmann::json(nullptr)
                                                        : nlohmann::json(page->next_cursor)}});
  });

  router.Add(http::Method::kPost, "/api/v1/contracts", [&contracts](http::Request& req) {
    const Principal* p = CallerOf(req);
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    if (NamesAnotherOwner(*body, *p)) {
      return http::Response::Error(
          Status(StatusCode::kPermissionDenied, "a user creates contracts they own")
              .WithReason("not_owner"));
    }
    auto created = contracts.Create(ActorOf(req), p->user.tenant_id, p->user.id, *body);
    if (!created.ok()) return http::Response::Error(created.status());
    return WithETag(http::Response::Json(201, contract::ToJson(*created)), created->version);
  });

  router.Add(http::Method::kGet, "/api/v1/contracts/{id}", [&contracts](http::Request& req) {
    auto c = contracts.Get(CallerOf(req)->user.tenant_id, ParseId(req.Param("id")));
    if (!c.ok()) return http::Response::Error(c.status());
    return WithETag(http::Response::Json(200, contract::ToJson(*c)), c->version);
  });

  router.Add(http::Method::kPatch, "/api/v1/contracts/{id}", [&contracts](http::Request& req) {
    const Principal* p = CallerOf(req);
    const int64_t version = IfMatchVersion(req.Header("If-Match"));
    if (version == 0) {
      return http::Response::Error(
          InvalidArgument("send If-Match with the version you read (its ETag)")
              .WithReason("if_match_required"));
    }
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    if (NamesAnotherOwner(*body, *p)) {
      return http::Response::Error(
          Status(StatusCode::kPermissionDenied, "only managers and admins hand contracts over")
              .WithReason("not_owner"));
    }
    auto updated = contracts.Update(ActorOf(req), p->user.tenant_id, ParseId(req.Param("id")),
                                    version, *body, OnlyOwner(*p));
    if (!updated.ok()) return http::Response::Error(updated.status());
    return WithETag(http::Response::Json(200, contract::ToJson(*updated)), updated->version);
  });

  router.Add(http::Method::kDelete, "/api/v1/contracts/{id}", [&contracts](http::Request& req) {
    const Principal* p = CallerOf(req);
    if (Status s = contracts.Trash(ActorOf(req), p->user.tenant_id, ParseId(req.Param("id")),
                                   OnlyOwner(*p));
        !s.ok()) {
      return http::Response::Error(s);
    }
    return NoContent();
  });

  router.Add(
      http::Method::kPost, "/api/v1/contracts/{id}/restore", [&contracts](http::Request& req) {
        const Principal* p = CallerOf(req);
        auto restored = contracts.Restore(ActorOf(req), p->user.tenant_id, ParseId(req.Param("id")),
                                          OnlyOwner(*p));
        if (!restored.ok()) return http::Response::Error(restored.status());
        return WithETag(http::Response::Json(200, contract::ToJson(*restored)), restored->version);
      });
}

}  // namespace pactum::api
