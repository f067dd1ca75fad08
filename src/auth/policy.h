#pragma once

// The one authorization table (DESIGN §5): for every authenticated API route, the least
// role that may call it. The API middleware consults it before any handler runs;
// services apply the finer rules (a `user` edits only what it owns, objects of another
// tenant do not exist). A route missing from the table is denied to everyone.

#include <optional>
#include <span>
#include <string_view>

#include "auth/user_service.h"

namespace pactum::auth {

struct RouteRule {
  std::string_view method;   // "GET", "POST", ...
  std::string_view pattern;  // as registered: "/api/v1/users/{id}"
  Role minimum;
};

std::span<const RouteRule> PolicyTable();

// The least role for a route; nullopt when the table does not list it (deny).
std::optional<Role> MinimumRole(std::string_view method, std::string_view pattern);

}  // namespace pactum::auth
