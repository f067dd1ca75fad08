// Users of the caller's tenant, for admins: list, create (with a one-time password),
// change role, name or state, reset a lost second factor, disable.

#include "api/routes.h"
#include "api/user_view.h"

namespace pactum::api {
namespace {

std::vector<FieldSpec> ListedUserFields() {
  auto f = UserFields();
  f.push_back(Field("disabled", Json::kBoolean).Required());
  f.push_back(Field("created_at", Json::kString).Required().Format("date-time"));
  return f;
}

// Changes a user; a role change, disabling or a 2FA reset ends the user's sessions at once.
http::Response ChangeUser(const AuthDeps& deps, Call& call, const auth::UserService::Change& change,
                          bool reset_2fa) {
  const Principal& p = call.caller();
  const int64_t id = call.Id();
  if (id == 0) return http::Response::Error(NotFound("no such user"));
  if (reset_2fa && id == p.user.id) {  // one's own 2FA goes off only with a code
    return http::Response::Error(
        Status(StatusCode::kConflict, "turn your own 2FA off with DELETE /api/v1/me/totp")
            .WithReason("own_two_factor"));
  }
  bool ends = false;
  auto updated = deps.users.Update(call.actor(), p.user.tenant_id, id, change, &ends);
  if (!updated.ok()) return http::Response::Error(updated.status());
  if (reset_2fa) {
    if (Status s = deps.two_factor.Reset(call.actor(), p.user.tenant_id, id); !s.ok()) {
      return http::Response::Error(s);
    }
  }
  if (ends || reset_2fa) {
    if (Status s = deps.sessions.EndOthers(id, ""); !s.ok()) return http::Response::Error(s);
  }
  auto j = UserJson(*updated);
  j["disabled"] = updated->disabled;
  if (reset_2fa) j["two_factor_enabled"] = false;
  return http::Response::Json(200, j);
}

}  // namespace

void AddUserEndpoints(EndpointTable& api) {
  const AuthDeps& deps = api.deps();
  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/users",
      .group = "Users",
      .summary = "Every user of the tenant",
      .who = Who::kAdmin,
      .response = {{Field("users", Json::kArray)
                        .Required()
                        .Items(Json::kObject)
                        .Fields(ListedUserFields())}},
      .handler =
          [&deps](Call& call) {
            auto users = deps.users.List(call.caller().user.tenant_id);
            if (!users.ok()) return http::Response::Error(users.status());
            auto list = nlohmann::json::array();
            for (const auto& u : *users) {
              auto j = UserJson(u);
              j["disabled"] = u.disabled;
              j["created_at"] = u.created_at;
              list.push_back(std::move(j));
            }
            return http::Response::Json(200, {{"users", list}});
          },
  });

  auto created_fields = UserFields();
  created_fields.push_back(Field("one_time_password", Json::kString)
                               .Required()
                               .Describe("shown once; the user must change it at the first login"));
  created_fields.push_back(Field("password_change_required", Json::kBoolean).Required());
  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/users",
      .group = "Users",
      .summary = "Create a user with a one-time password",
      .who = Who::kAdmin,
      .execution = http::Execution::kCpuBound,
      .body = BodyKind::kJson,
      .request = {{
          Field("email", Json::kString)
              .Required()
              .Format("email")
              .Max(254)
              .Describe("the login address, unique in the tenant")
              .Example(R"("bob@example.com")"),
          Field("name", Json::kString).Required().Max(200).Example(R"("Bob Jansen")"),
          Field("role", Json::kString).Required().OneOf(RoleNames()).Example(R"("user")"),
      }},
      .success = 201,
      .response = {created_fields},
      .errors = {{409, "already_exists", "a user with this email exists in the tenant"}},
      .audit = {"user.create"},
      .handler =
          [&deps](Call& call) {
            const auto role = auth::ParseRole(call.body().String("role"));
            if (!role) return http::Response::Error(InvalidArgument("\"role\" is not a role"));
            auto created =
                deps.users.Create(call.actor(), call.caller().user.tenant_id,
                                  call.body().String("email"), call.body().String("name"), *role);
            if (!created.ok()) return http::Response::Error(created.status());
            auto j = UserJson(created->first);
            j["one_time_password"] = created->second;
            j["password_change_required"] = true;
            auto r = http::Response::Json(201, j);
            r.headers.push_back({"Cache-Control", "no-store"});
            return r;
          },
  });

  auto changed_fields = ListedUserFields();
  changed_fields.pop_back();  // no created_at
  changed_fields.push_back(
      Field("two_factor_enabled", Json::kBoolean).Describe("false after a reset"));
  api.Add({
      .method = http::Method::kPatch,
      .path = "/api/v1/users/{id}",
      .group = "Users",
      .summary = "Change a user's role, name or state, or reset their second factor",
      .description = "A role change, disabling or a 2FA reset ends the user's sessions at once.",
      .who = Who::kAdmin,
      .body = BodyKind::kJson,
      .request = {{
          Field("role", Json::kString).OneOf(RoleNames()).Example(R"("manager")"),
          Field("disabled", Json::kBoolean).Example("false"),
          Field("name", Json::kString).Max(200).Example(R"("Bob Jansen-de Wit")"),
          Field("two_factor_enabled", Json::kBoolean)
              .Describe("only false: resets the second factor of a user who lost every factor")
              .Example("false"),
      }},
      .response = {changed_fields},
      .errors = {{404, "not_found", "no such user in the tenant"},
                 {409, "own_two_factor", "an admin's own 2FA goes off with DELETE /api/v1/me/totp"},
                 {409, "last_admin", "the change would leave the tenant without an enabled admin"}},
      .audit = {"user.role_change", "user.rename", "user.disable", "user.enable", "auth.mfa_reset"},
      .handler =
          [&deps](Call& call) {
            const Body& b = call.body();
            auth::UserService::Change change;
            if (auto role = b.OptString("role")) change.role = auth::ParseRole(*role);
            change.disabled = b.OptBool("disabled");
            change.name = b.OptString("name");
            bool reset_2fa = false;
            if (auto two_factor = b.OptBool("two_factor_enabled")) {
              if (*two_factor) {
                return http::Response::Error(InvalidArgument(
                    "\"two_factor_enabled\" can only be set to false (a reset); users enrol "
                    "themselves"));
              }
              reset_2fa = true;
            }
            return ChangeUser(deps, call, change, reset_2fa);
          },
  });

  api.Add({
      .method = http::Method::kDelete,
      .path = "/api/v1/users/{id}",
      .group = "Users",
      .summary = "Disable a user",
      .description = "Users stay as the authors of what they did; a disabled user cannot log in "
                     "and their sessions end.",
      .who = Who::kAdmin,
      .success = 204,
      .errors = {{404, "not_found", "no such user in the tenant"},
                 {409, "last_admin", "the tenant's last enabled admin"}},
      .audit = {"user.disable"},
      .handler =
          [&deps](Call& call) {
            auth::UserService::Change change;
            change.disabled = true;
            auto r = ChangeUser(deps, call, change, false);
            if (r.status == 200) {
              r.status = 204;
              r.body.clear();
            }
            return r;
          },
  });
}

}  // namespace pactum::api
