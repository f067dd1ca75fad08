#include "auth/policy.h"

namespace pactum::auth {
namespace {

constexpr RouteRule kTable[] = {
    {"GET", "/api/v1/me", Role::kViewer},
    {"POST", "/api/v1/me/password", Role::kViewer},
    {"POST", "/api/v1/auth/logout", Role::kViewer},
    {"GET", "/api/v1/users", Role::kAdmin},
    {"POST", "/api/v1/users", Role::kAdmin},
    {"PATCH", "/api/v1/users/{id}", Role::kAdmin},
    {"DELETE", "/api/v1/users/{id}", Role::kAdmin},
    {"GET", "/api/v1/tokens", Role::kAdmin},
    {"POST", "/api/v1/tokens", Role::kAdmin},
    {"DELETE", "/api/v1/tokens/{id}", Role::kAdmin},
    {"POST", "/api/v1/me/totp", Role::kViewer},
    {"POST", "/api/v1/me/totp/confirm", Role::kViewer},
    {"DELETE", "/api/v1/me/totp", Role::kViewer},
    {"GET", "/api/v1/settings", Role::kAdmin},
    {"PUT", "/api/v1/settings", Role::kAdmin},
    {"GET", "/api/v1/audit", Role::kAdmin},
    {"GET", "/api/v1/audit/export", Role::kAdmin},
    {"GET", "/api/v1/audit/verify", Role::kAdmin},
    // Contracts: reads for everyone; a user changes only their own (checked by the route).
    {"GET", "/api/v1/contracts", Role::kViewer},
    {"POST", "/api/v1/contracts", Role::kUser},
    {"GET", "/api/v1/contracts/{id}", Role::kViewer},
    {"PATCH", "/api/v1/contracts/{id}", Role::kUser},
    {"DELETE", "/api/v1/contracts/{id}", Role::kUser},
    {"POST", "/api/v1/contracts/{id}/restore", Role::kUser},
    // Custom field definitions: every role reads them (to show and fill in contracts).
    {"GET", "/api/v1/custom-fields", Role::kViewer},
    {"POST", "/api/v1/custom-fields", Role::kAdmin},
    {"DELETE", "/api/v1/custom-fields/{key}", Role::kAdmin},
    // Documents: the same rule; a link is a read.
    {"POST", "/api/v1/contracts/{id}/documents", Role::kUser},
    {"GET", "/api/v1/contracts/{id}/documents", Role::kViewer},
    {"GET", "/api/v1/documents/{id}", Role::kViewer},
    {"DELETE", "/api/v1/documents/{id}", Role::kUser},
    {"POST", "/api/v1/documents/{id}/link", Role::kViewer},
};

}  // namespace

std::span<const RouteRule> PolicyTable() { return kTable; }

std::optional<Role> MinimumRole(std::string_view method, std::string_view pattern) {
  if (method == "HEAD") method = "GET";
  for (const RouteRule& r : kTable) {
    if (r.method == method && r.pattern == pattern) return r.minimum;
  }
  return std::nullopt;
}

}  // namespace pactum::auth
