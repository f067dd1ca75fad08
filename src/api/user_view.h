#pragma once

// How the API shows a user, and the declaration of that shape (login, me, users).

#include <string>

#include <nlohmann/json.hpp>

#include "api/schema.h"
#include "auth/user_service.h"

namespace pactum::api {

// {id, email, name, role}
nlohmann::json UserJson(const auth::User& u);

// The fields of UserJson, for response declarations.
std::vector<FieldSpec> UserFields();

// The role names, for declarations.
std::vector<std::string> RoleNames();

}  // namespace pactum::api
