#include "api/user_view.h"

namespace pactum::api {

nlohmann::json UserJson(const auth::User& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"name", u.name},
          {"role", std::string(auth::RoleName(u.role))}};
}

std::vector<FieldSpec> UserFields() {
  std::vector<FieldSpec> f;
  f.push_back(Field("id", Json::kInteger).Required().Example("7"));
  f.push_back(
      Field("email", Json::kString).Required().Format("email").Example(R"("ann@example.com")"));
  f.push_back(Field("name", Json::kString).Required().Example(R"("Ann de Vries")"));
  f.push_back(Field("role", Json::kString).Required().OneOf(RoleNames()));
  return f;
}

std::vector<std::string> RoleNames() { return {"admin", "manager", "user", "viewer"}; }

}  // namespace pactum::api
