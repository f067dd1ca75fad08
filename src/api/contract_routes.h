#pragma once

// The contract register over HTTP (DESIGN §4, §5): GET/POST /api/v1/contracts,
// GET/PATCH/DELETE /api/v1/contracts/{id}, POST /api/v1/contracts/{id}/restore. Reads for
// every role; a `user` creates contracts and changes only the ones they own; managers and
// admins change any. PATCH needs If-Match with the version read (ETag). Register after
// RegisterAuthRoutes, whose middleware puts the caller in the request.

#include "contract/contract_service.h"
#include "http/router.h"

namespace pactum::api {

void RegisterContractRoutes(http::Router& router, contract::ContractService& contracts);

}  // namespace pactum::api
