#pragma once

// Tenants: the companies whose registers one Pactum holds. Every later table is scoped by
// tenant id. Thread-safe (state lives in the Database).

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "store/database.h"
#include "tenant/tenant_keys.h"

namespace pactum::tenant {

struct Tenant {
  int64_t id = 0;
  std::string slug;
  std::string created_at;  // RFC 3339 UTC
};

// Slugs are 2-40 characters of [a-z0-9-].
bool IsValidSlug(std::string_view slug);

class TenantService {
 public:
  TenantService(store::Database& db, const Clock& clock, TenantKeys& keys)
      : db_(db), clock_(clock), keys_(keys) {}

  // Creates the tenant and its first data key in one transaction.
  // Errors: kInvalidArgument for a bad slug, kAlreadyExists when taken.
  Result<Tenant> Create(std::string_view slug);
  // The same inside the caller's write transaction (to add the first admin with it).
  Result<Tenant> CreateIn(store::Session& session, std::string_view slug);
  // kNotFound when there is no such tenant.
  Result<Tenant> FindBySlug(std::string_view slug);
  Result<Tenant> FindById(int64_t id);
  Result<std::vector<Tenant>> List();

 private:
  store::Database& db_;
  const Clock& clock_;
  TenantKeys& keys_;
};

}  // namespace pactum::tenant
