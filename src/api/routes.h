#pragma once

// The API's endpoints by feature, each declared once into an EndpointTable
// (api/endpoint.h). The composition root adds them all (AddAllEndpoints); a test may add a
// subset. Every service passed in must outlive the table's router.

#include <vector>

#include "api/endpoint.h"
#include "audit/checkpoint.h"
#include "audit/sql_audit_log.h"
#include "common/ip_network.h"
#include "common/metrics.h"
#include "contract/contract_service.h"
#include "contract/custom_fields.h"
#include "crypto/secret.h"
#include "document/document_service.h"
#include "store/database.h"

namespace pactum::api {

// POST /api/v1/auth/login, /api/v1/auth/mfa, /api/v1/auth/logout (login_routes.cc).
void AddLoginEndpoints(EndpointTable& api);
// GET /api/v1/me, POST /api/v1/me/password (me_routes.cc).
void AddMeEndpoints(EndpointTable& api);
// /api/v1/users (user_routes.cc).
void AddUserEndpoints(EndpointTable& api);
// /api/v1/tokens (token_routes.cc).
void AddTokenEndpoints(EndpointTable& api);
// /api/v1/me/totp... (two_factor_routes.cc).
void AddTwoFactorEndpoints(EndpointTable& api);
// GET/PUT /api/v1/settings (settings_routes.cc).
void AddSettingsEndpoints(EndpointTable& api);
// /api/v1/contracts... (contract_routes.cc).
void AddContractEndpoints(EndpointTable& api, contract::ContractService& contracts);
// /api/v1/custom-fields... (custom_field_routes.cc).
void AddCustomFieldEndpoints(EndpointTable& api, contract::CustomFieldService& fields);
// Documents, links and GET /files/{token} (document_routes.cc).
void AddDocumentEndpoints(EndpointTable& api, document::DocumentService& documents);

struct AuditDeps {
  audit::SqlAuditLog& log;
  audit::CheckpointFile& checkpoints;
  audit::PublicKey public_key;
};
// GET /api/v1/audit, /audit/export, /audit/verify (audit_routes.cc).
void AddAuditEndpoints(EndpointTable& api, AuditDeps deps);

struct SystemDeps {
  store::Database& db;
  MetricsRegistry& metrics;
  std::vector<IpNetwork> metrics_allowlist;  // who may read /metrics
};
// GET /healthz, GET /metrics (system_routes.cc).
void AddSystemEndpoints(EndpointTable& api, SystemDeps deps);

// GET /api/v1/openapi.json: the description of every endpoint in `api` at the time of
// the call — add it last (openapi.cc).
void AddOpenApiEndpoint(EndpointTable& api);

struct AllDeps {
  contract::ContractService& contracts;
  contract::CustomFieldService& custom_fields;
  document::DocumentService& documents;
  AuditDeps audit;
  SystemDeps system;
};
// Every endpoint of the API, the description last.
void AddAllEndpoints(EndpointTable& api, AllDeps deps);

}  // namespace pactum::api
