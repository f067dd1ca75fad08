#include "tenant/tenant_service.h"

namespace pactum::tenant {
namespace {

Tenant FromRow(const store::Row& r) { return {r.Int(0), r.Text(1), r.Text(2)}; }

}  // namespace

bool IsValidSlug(std::string_view slug) {
  if (slug.size() < 2 || slug.size() > 40) return false;
  for (char c : slug) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Result<Tenant> TenantService::CreateIn(store::Session& session, std::string_view slug) {
  if (!IsValidSlug(slug)) {
    return InvalidArgument("tenant slug must be 2-40 characters of a-z, 0-9 and '-'");
  }
  auto rows = session.Query(
      "INSERT INTO tenants (slug, created_at) VALUES ($1, $2) RETURNING id, slug, created_at",
      {std::string(slug), FormatRfc3339(clock_.Now())});
  if (!rows.ok()) {
    if (rows.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("tenant '" + std::string(slug) + "' already exists");
    }
    return rows.status();
  }
  if (rows->size() != 1) return Internal("INSERT RETURNING gave no row");
  Tenant out = FromRow((*rows)[0]);
  RETURN_IF_ERROR(keys_.AddVersion(session, out.id).status());
  return out;
}

Result<Tenant> TenantService::Create(std::string_view slug) {
  if (!IsValidSlug(slug)) {
    return InvalidArgument("tenant slug must be 2-40 characters of a-z, 0-9 and '-'");
  }
  Tenant out;
  RETURN_IF_ERROR(db_.Write([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(out, CreateIn(session, slug));
    return Status::Ok();
  }));
  return out;
}

Result<Tenant> TenantService::FindBySlug(std::string_view slug) {
  std::optional<Tenant> found;
  RETURN_IF_ERROR(db_.Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT id, slug, created_at FROM tenants "
                                              "WHERE slug = $1",
                                              {std::string(slug)}));
    if (!rows.empty()) found = FromRow(rows[0]);
    return Status::Ok();
  }));
  if (!found) return NotFound("no such tenant");
  return *found;
}

Result<Tenant> TenantService::FindById(int64_t id) {
  std::optional<Tenant> found;
  RETURN_IF_ERROR(db_.Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows,
                     session.Query("SELECT id, slug, created_at FROM tenants WHERE id = $1", {id}));
    if (!rows.empty()) found = FromRow(rows[0]);
    return Status::Ok();
  }));
  if (!found) return NotFound("no such tenant");
  return *found;
}

Result<std::vector<Tenant>> TenantService::List() {
  std::vector<Tenant> out;
  RETURN_IF_ERROR(db_.Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows,
                     session.Query("SELECT id, slug, created_at FROM tenants ORDER BY slug"));
    for (const auto& r : rows) out.push_back(FromRow(r));
    return Status::Ok();
  }));
  return out;
}

}  // namespace pactum::tenant
