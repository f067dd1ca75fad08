// API tokens, for admins: machine credentials (Authorization: Bearer) at a role no higher
// than their creator's, shown once, revocable.

#include "api/routes.h"
#include "api/user_view.h"
#include "common/clock.h"

namespace pactum::api {
namespace {

std::string Time(int64_t unix_seconds) {
  return FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds)));
}

nlohmann::json TokenJson(const auth::ApiToken& t) {
  nlohmann::json j{{"id", t.id},
                   {"name", t.name},
                   {"role", std::string(auth::RoleName(t.role))},
                   {"created_by", t.user_id},
                   {"created_at", Time(t.created_at)},
                   {"expires_at", Time(t.expires_at)},
                   {"revoked", t.revoked}};
  j["last_used_at"] =
      t.last_used_at == 0 ? nlohmann::json(nullptr) : nlohmann::json(Time(t.last_used_at));
  return j;
}

std::vector<FieldSpec> TokenFields() {
  return {
      Field("id", Json::kInteger).Required(),
      Field("name", Json::kString).Required().Example(R"("invoice sync")"),
      Field("role", Json::kString).Required().OneOf(RoleNames()),
      Field("created_by", Json::kInteger).Required().Describe("the user who made it"),
      Field("created_at", Json::kString).Required().Format("date-time"),
      Field("expires_at", Json::kString).Required().Format("date-time"),
      Field("revoked", Json::kBoolean).Required(),
      Field("last_used_at", Json::kString).Required().Nullable().Format("date-time"),
  };
}

}  // namespace

void AddTokenEndpoints(EndpointTable& api) {
  const AuthDeps& deps = api.deps();
  auto created_fields = TokenFields();
  created_fields.push_back(
      Field("token", Json::kString).Required().Describe("the secret, shown only in this answer"));
  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/tokens",
      .group = "API tokens",
      .summary = "Create an API token",
      .who = Who::kAdmin,
      .body = BodyKind::kJson,
      .request = {{
          Field("name", Json::kString).Required().Range(1, 100).Example(R"("invoice sync")"),
          Field("role", Json::kString)
              .Required()
              .OneOf(RoleNames())
              .Describe("at most the creator's role")
              .Example(R"("viewer")"),
          Field("expires_in_days", Json::kInteger)
              .Required()
              .Range(1, auth::TokenService::kMaxDays)
              .Example("90"),
      }},
      .success = 201,
      .response = {created_fields},
      .audit = {"token.create"},
      .handler =
          [&deps](Call& call) {
            const Body& b = call.body();
            const auto role = auth::ParseRole(b.String("role"));
            if (!role) return http::Response::Error(InvalidArgument("\"role\" is not a role"));
            auto created = deps.tokens.Create(call.actor(), call.caller().user, b.String("name"),
                                              *role, static_cast<int>(b.Int("expires_in_days")));
            if (!created.ok()) return http::Response::Error(created.status());
            auto j = TokenJson(created->first);
            j["token"] = created->second;  // shown once
            auto r = http::Response::Json(201, j);
            r.headers.push_back({"Cache-Control", "no-store"});
            return r;
          },
  });

  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/tokens",
      .group = "API tokens",
      .summary = "Every API token of the tenant (never the secrets)",
      .who = Who::kAdmin,
      .response =
          {{Field("tokens", Json::kArray).Required().Items(Json::kObject).Fields(TokenFields())}},
      .handler =
          [&deps](Call& call) {
            auto tokens = deps.tokens.List(call.caller().user.tenant_id);
            if (!tokens.ok()) return http::Response::Error(tokens.status());
            auto list = nlohmann::json::array();
            for (const auto& t : *tokens) list.push_back(TokenJson(t));
            return http::Response::Json(200, {{"tokens", list}});
          },
  });

  api.Add({
      .method = http::Method::kDelete,
      .path = "/api/v1/tokens/{id}",
      .group = "API tokens",
      .summary = "Revoke an API token",
      .who = Who::kAdmin,
      .success = 204,
      .errors = {{404, "not_found", "no such token in the tenant"}},
      .audit = {"token.revoke"},
      .handler =
          [&deps](Call& call) {
            const int64_t id = call.Id();
            if (id == 0) return http::Response::Error(NotFound("no such token"));
            if (Status s = deps.tokens.Revoke(call.actor(), call.caller().user.tenant_id, id);
                !s.ok()) {
              return http::Response::Error(s);
            }
            return NoContent();
          },
  });
}

}  // namespace pactum::api
