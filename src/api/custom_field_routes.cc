// The tenant's custom field definitions: every role reads them (to show and fill in
// contracts); admins define and remove them.

#include "api/routes.h"

namespace pactum::api {
namespace {

std::vector<FieldSpec> DefinitionFields(bool answer) {
  std::vector<FieldSpec> f{
      Field("key", Json::kString)
          .Required()
          .Range(1, 40)
          .Describe("a-z, 0-9 and _, starting with a letter; unique in the tenant")
          .Example(R"("po_number")"),
      Field("label", Json::kString).Required().Range(1, 100).Example(R"("PO number")"),
      Field("type", Json::kString)
          .Required()
          .OneOf({"text", "number", "date", "money", "select"})
          .Example(R"("text")"),
      Field("options", Json::kArray)
          .Nullable()
          .Max(100)
          .Describe("select fields only: the allowed values")
          .Example("null"),
      Field("required", Json::kBoolean)
          .Describe("new contracts must have a value")
          .Example("false"),
  };
  if (answer) {
    for (auto& field : f) field.required = true;
  }
  return f;
}

}  // namespace

void AddCustomFieldEndpoints(EndpointTable& api, contract::CustomFieldService& fields) {
  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/custom-fields",
      .group = "Custom fields",
      .summary = "The tenant's custom field definitions",
      .who = Who::kViewer,
      .response = {{Field("fields", Json::kArray)
                        .Required()
                        .Items(Json::kObject)
                        .Fields(DefinitionFields(/*answer=*/true))}},
      .handler =
          [&fields](Call& call) {
            auto list = fields.List(call.caller().user.tenant_id);
            if (!list.ok()) return http::Response::Error(list.status());
            auto out = nlohmann::json::array();
            for (const auto& f : *list) out.push_back(contract::ToJson(f));
            return http::Response::Json(200, {{"fields", out}});
          },
  });

  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/custom-fields",
      .group = "Custom fields",
      .summary = "Define a custom field",
      .description = "A definition is never edited: remove it and define it anew.",
      .who = Who::kAdmin,
      .body = BodyKind::kJson,
      .request = {DefinitionFields(/*answer=*/false)},
      .success = 201,
      .response = {DefinitionFields(/*answer=*/true)},
      .errors = {{409, "already_exists", "a field with this key exists"},
                 {409, "too_many_fields", "the tenant has 50 fields"}},
      .audit = {"custom_field.create"},
      .handler =
          [&fields](Call& call) {
            auto field = contract::FieldFromJson(call.body().Whole());
            if (!field.ok()) return http::Response::Error(field.status());
            auto defined =
                fields.Define(call.actor(), call.caller().user.tenant_id, std::move(field).value());
            if (!defined.ok()) return http::Response::Error(defined.status());
            return http::Response::Json(201, contract::ToJson(*defined));
          },
  });

  api.Add({
      .method = http::Method::kDelete,
      .path = "/api/v1/custom-fields/{key}",
      .group = "Custom fields",
      .summary = "Remove a custom field and its values",
      .who = Who::kAdmin,
      .success = 204,
      .errors = {{404, "not_found", "no such field"},
                 {409, "field_in_use", "contracts have a value for the field; clear those first"}},
      .audit = {"custom_field.delete"},
      .handler =
          [&fields](Call& call) {
            if (Status s = fields.Remove(call.actor(), call.caller().user.tenant_id,
                                         call.request.Param("key"));
                !s.ok()) {
              return http::Response::Error(s);
            }
            return NoContent();
          },
  });
}

}  // namespace pactum::api
