#pragma once

// The audit trail over HTTP, for the tenant's admins (DESIGN §4, §7):
//   GET /api/v1/audit?stream=&actor=&action=&from=&to=&cursor=&limit=
//       -> {"events":[{seq,time,stream,actor,ip,action,target,outcome,details}],
//           "next_cursor": "<seq>" | null}, newest first, at most `limit` (1-1000, 100)
//   GET /api/v1/audit/export (the same filters, no cursor)
//       -> every matching event as JSON lines, oldest first (application/x-ndjson);
//          the export itself is recorded (audit.export)
//   GET /api/v1/audit/verify
//       -> the check of the tenant's chain against the signed checkpoints (ReportJson)
// Only the caller's tenant's chain is ever read. Register after RegisterAuthRoutes.

#include "audit/checkpoint.h"
#include "audit/sql_audit_log.h"
#include "http/router.h"

namespace pactum::api {

struct AuditDeps {
  audit::SqlAuditLog& log;
  audit::CheckpointFile& checkpoints;
  audit::PublicKey public_key;
};

void RegisterAuditRoutes(http::Router& router, AuditDeps deps);

}  // namespace pactum::api
