#pragma once

// Tenant-defined custom fields of contracts over HTTP: GET /api/v1/custom-fields (every
// role: {"fields":[{key,label,type,options,required}]}), POST /api/v1/custom-fields
// (admins: defines one, 201 with it), DELETE /api/v1/custom-fields/{key} (admins: 204;
// 409 field_in_use while a contract outside the trash has a value for it). Register after
// RegisterAuthRoutes, whose middleware puts the caller in the request.

#include "contract/custom_fields.h"
#include "http/router.h"

namespace pactum::api {

void RegisterCustomFieldRoutes(http::Router& router, contract::CustomFieldService& fields);

}  // namespace pactum::api
