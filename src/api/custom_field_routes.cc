#include "api/custom_field_routes.h"

#include "api/auth_routes.h"
#include "api/route_util.h"

namespace pactum::api {

void RegisterCustomFieldRoutes(http::Router& router, contract::CustomFieldService& fields) {
  router.Add(http::Method::kGet, "/api/v1/custom-fields", [&fields](http::Request& req) {
    auto list = fields.List(CallerOf(req)->user.tenant_id);
    if (!list.ok()) return http::Response::Error(list.status());
    auto out = nlohmann::json::array();
    for (const auto& f : *list) out.push_back(contract::ToJson(f));
    return http::Response::Json(200, {{"fields", out}});
  });

  router.Add(http::Method::kPost, "/api/v1/custom-fields", [&fields](http::Request& req) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Response::Error(body.status());
    auto field = contract::FieldFromJson(*body);
    if (!field.ok()) return http::Response::Error(field.status());
    auto defined =
        fields.Define(ActorOf(req), CallerOf(req)->user.tenant_id, std::move(field).value());
    if (!defined.ok()) return http::Response::Error(defined.status());
    return http::Response::Json(201, contract::ToJson(*defined));
  });

  router.Add(http::Method::kDelete, "/api/v1/custom-fields/{key}", [&fields](http::Request& req) {
    if (Status s = fields.Remove(ActorOf(req), CallerOf(req)->user.tenant_id, req.Param("key"));
        !s.ok()) {
      return http::Response::Error(s);
    }
    return NoContent();
  });
}

}  // namespace pactum::api
