#pragma once

// The API's description, generated from the endpoint declarations (api/endpoint.h): an
// OpenAPI 3.1 document (served at GET /api/v1/openapi.json) and the reference in Markdown
// (docs/api.md, checked against the declarations by a test). Both list every endpoint with
// who may call it, its parameters, body fields with types and limits, its answer, its
// errors (the common ones of its kind and its own), the audit actions it records, and an
// example.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/endpoint.h"

namespace pactum::api {

nlohmann::json OpenApiDocument(const std::vector<std::unique_ptr<Endpoint>>& endpoints);

std::string ApiMarkdown(const std::vector<std::unique_ptr<Endpoint>>& endpoints);

// The errors any call of `e` may answer besides its own (authentication, validation,
// limits, the audit trail being unavailable), in the order documented.
std::vector<ErrorCase> CommonErrors(const Endpoint& e);

}  // namespace pactum::api
