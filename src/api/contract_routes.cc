// The contract register (DESIGN §4, §5): list with filters, create, read, change with
// If-Match, move to the trash and back. Reads for every role; a `user` changes only the
// contracts they own.

#include "api/routes.h"
#include "http/path.h"

namespace pactum::api {
namespace {

http::Response WithETag(http::Response r, int64_t version) {
  r.headers.push_back({"ETag", "\"" + std::to_string(version) + "\""});
  return r;
}

// The version an If-Match header names ("3", "\"3\""), or 0.
int64_t IfMatchVersion(std::string_view h) {
  if (h.size() >= 2 && h.front() == '"' && h.back() == '"') h = h.substr(1, h.size() - 2);
  return ParseId(h);
}

// Whether a create or PATCH body sets an owner other than the caller while the caller is
// below manager (only managers and admins give contracts to others).
bool NamesAnotherOwner(const nlohmann::json& body, const Principal& p) {
  const auto owner = body.find("owner_id");
  return owner != body.end() && p.user.role < auth::Role::kManager &&
         !(owner->is_number_integer() && owner->get<int64_t>() == p.user.id);
}

Result<contract::ListQuery> ListQueryFrom(const http::Request& req, const Principal& p) {
  // Names were checked against the declaration; values here.
  ASSIGN_OR_RETURN(auto params, http::ParseQuery(req.query));
  contract::ListQuery q;
  for (const auto& [key, value] : params) {
    if (key == "status") {
      q.status = value;
    } else if (key == "owner_id") {
      q.owner_id = ParseId(value);
      if (q.owner_id == 0) return InvalidArgument("\"owner_id\" must be a user id");
    } else if (key == "counterparty") {
      q.counterparty = value;
    } else if (key == "tag") {
      q.tag = value;
    } else if (key == "end_from") {
      q.end_from = value;
    } else if (key == "end_to") {
      q.end_to = value;
    } else if (key == "sort") {
      q.sort = value;
    } else if (key == "cursor") {
      q.cursor = value;
    } else if (key == "limit") {
      q.limit = ParseId(value);
    } else if (key == "trash") {
      if (value != "true" && value != "false") return InvalidArgument("\"trash\" is true or false");
      q.trash = value == "true";
      if (q.trash && p.user.role < auth::Role::kManager) {
        return Status(StatusCode::kPermissionDenied, "the trash is for managers and admins");
      }
    } else {
      return Internal("declared query parameter \"" + key + "\" is not handled");
    }
  }
  return q;
}

// The writable fields of a contract; `required` marks those a new contract needs.
std::vector<FieldSpec> WritableFields(bool create) {
  auto title =
      Field("title", Json::kString).Range(1, 500).Example(R"("Office lease Keizersgracht")");
  return {
      create ? std::move(title).Required() : std::move(title),
      Field("counterparty", Json::kString).Max(500).Example(R"("Vastgoed BV")"),
      Field("type", Json::kString).Max(100).Example(R"("lease")"),
      Field("status", Json::kString).OneOf({"draft", "active", "terminated", "expired"}),
      Field("owner_id", Json::kInteger)
          .Min(1)
          .Describe("a user of the tenant; users below manager may only name themselves")
          .Example("7"),
      Field("start_date", Json::kString).Nullable().Format("date").Example(R"("2026-01-01")"),
      Field("end_date", Json::kString)
          .Nullable()
          .Format("date")
          .Describe("not before start_date")
          .Example(R"("2028-12-31")"),
      Field("auto_renew", Json::kBoolean).Example("true"),
      Field("renewal_months", Json::kInteger).Nullable().Range(1, 120).Example("12"),
      Field("notice_days", Json::kInteger).Nullable().Range(0, 3650).Example("90"),
      Field("value_cents", Json::kInteger)
          .Nullable()
          .Range(0, int64_t{1} << 53)
          .Describe("with currency")
          .Example("1250000"),
      Field("currency", Json::kString)
          .Nullable()
          .Describe("ISO 4217, with value_cents")
          .Example(R"("EUR")"),
      Field("tags", Json::kArray).Max(50).Describe("a set of labels").Example(R"(["real-estate"])"),
      Field("custom", Json::kObject)
          .Open()
          .Describe("values of the tenant's custom fields by key; null removes one")
          .Example("{}"),
  };
}

// A contract as answered (contract::ToJson).
std::vector<FieldSpec> ContractFields() {
  std::vector<FieldSpec> f;
  f.push_back(Field("id", Json::kInteger).Required());
  for (auto& w : WritableFields(false)) {
    w.required = true;
    w.min.reset();
    f.push_back(std::move(w));
  }
  f.push_back(Field("version", Json::kInteger).Required().Describe("for If-Match"));
  f.push_back(Field("created_at", Json::kString).Required().Format("date-time"));
  f.push_back(Field("updated_at", Json::kString).Required().Format("date-time"));
  f.push_back(Field("deleted_at", Json::kString).Format("date-time").Describe("in the trash"));
  return f;
}

ObjectSpec ContractAnswer() { return {ContractFields()}; }

}  // namespace

void AddContractEndpoints(EndpointTable& api, contract::ContractService& contracts) {
  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/contracts",
      .group = "Contracts",
      .summary = "List contracts, filtered and sorted, a page at a time",
      .who = Who::kViewer,
      .query =
          {
              Field("status", Json::kString).OneOf({"draft", "active", "terminated", "expired"}),
              Field("owner_id", Json::kInteger).Min(1),
              Field("counterparty", Json::kString).Describe("case-insensitive part of the name"),
              Field("tag", Json::kString),
              Field("end_from", Json::kString).Format("date").Describe("end_date on or after"),
              Field("end_to", Json::kString).Format("date").Describe("end_date on or before"),
              Field("sort", Json::kString).OneOf({"id", "title", "end_date", "updated_at"}),
              Field("cursor", Json::kString).Describe("next_cursor of the previous page"),
              Field("limit", Json::kInteger).Range(1, 200).Example("50"),
              Field("trash", Json::kBoolean)
                  .Describe("list the trash instead (managers and admins)"),
          },
      .response = {{
          Field("contracts", Json::kArray).Required().Items(Json::kObject).Fields(ContractFields()),
          Field("next_cursor", Json::kString).Required().Nullable(),
      }},
      .handler =
          [&contracts](Call& call) {
            const Principal& p = call.caller();
            auto q = ListQueryFrom(call.request, p);
            if (!q.ok()) return http::Response::Error(q.status());
            auto page = contracts.List(p.user.tenant_id, *q);
            if (!page.ok()) return http::Response::Error(page.status());
            auto list = nlohmann::json::array();
            for (const auto& c : page->contracts) list.push_back(contract::ToJson(c));
            return http::Response::Json(
                200,
                {{"contracts", list},
                 {"next_cursor", page->next_cursor.empty() ? nlohmann::json(nullptr)
                                                           : nlohmann::json(page->next_cursor)}});
          },
  });

  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/contracts",
      .group = "Contracts",
      .summary = "Create a contract",
      .description = "The owner defaults to the caller. The answer's ETag is its version.",
      .who = Who::kUser,
      .body = BodyKind::kJson,
      .request = {WritableFields(/*create=*/true)},
      .success = 201,
      .response = ContractAnswer(),
      .errors = {{403, "not_owner", "a user creates contracts they own"}},
      .audit = {"contract.create"},
      .handler =
          [&contracts](Call& call) {
            const Principal& p = call.caller();
            const nlohmann::json& body = call.body().Whole();
            if (NamesAnotherOwner(body, p)) {
              return http::Response::Error(
                  Status(StatusCode::kPermissionDenied, "a user creates contracts they own")
                      .WithReason("not_owner"));
            }
            auto created = contracts.Create(call.actor(), p.user.tenant_id, p.user.id, body);
            if (!created.ok()) return http::Response::Error(created.status());
            return WithETag(http::Response::Json(201, contract::ToJson(*created)),
                            created->version);
          },
  });

  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/contracts/{id}",
      .group = "Contracts",
      .summary = "One contract; its ETag is its version",
      .who = Who::kViewer,
      .response = ContractAnswer(),
      .errors = {{404, "not_found", "no such contract in the tenant (or in the trash)"}},
      .handler =
          [&contracts](Call& call) {
            auto c = contracts.Get(call.caller().user.tenant_id, call.Id());
            if (!c.ok()) return http::Response::Error(c.status());
            return WithETag(http::Response::Json(200, contract::ToJson(*c)), c->version);
          },
  });

  api.Add({
      .method = http::Method::kPatch,
      .path = "/api/v1/contracts/{id}",
      .group = "Contracts",
      .summary = "Change a contract's fields (If-Match: its version)",
      .description = "Fields not named keep their values; null clears an optional field.",
      .who = Who::kUser,
      .body = BodyKind::kJson,
      .request = {WritableFields(/*create=*/false)},
      .headers = {Field("If-Match", Json::kString)
                      .Required()
                      .Describe("the version read (its ETag)")
                      .Example(R"("\"3\"")")},
      .response = ContractAnswer(),
      .errors = {{400, "if_match_required", "no If-Match"},
                 {412, "version_mismatch", "the contract changed since it was read"},
                 {403, "not_owner", "a user changes only their own contracts"},
                 {404, "not_found", "no such contract in the tenant"}},
      .audit = {"contract.update"},
      .handler =
          [&contracts](Call& call) {
            const Principal& p = call.caller();
            const int64_t version = IfMatchVersion(call.request.Header("If-Match"));
            if (version == 0) {
              return http::Response::Error(
                  InvalidArgument("send If-Match with the version you read (its ETag)")
                      .WithReason("if_match_required"));
            }
            const nlohmann::json& body = call.body().Whole();
            if (NamesAnotherOwner(body, p)) {
              return http::Response::Error(Status(StatusCode::kPermissionDenied,
                                                  "only managers and admins hand contracts over")
                                               .WithReason("not_owner"));
            }
            auto updated = contracts.Update(call.actor(), p.user.tenant_id, call.Id(), version,
                                            body, OnlyOwner(p));
            if (!updated.ok()) return http::Response::Error(updated.status());
            return WithETag(http::Response::Json(200, contract::ToJson(*updated)),
                            updated->version);
          },
  });

  api.Add({
      .method = http::Method::kDelete,
      .path = "/api/v1/contracts/{id}",
      .group = "Contracts",
      .summary = "Move a contract to the trash (restorable for 30 days)",
      .who = Who::kUser,
      .success = 204,
      .errors = {{403, "not_owner", "a user deletes only their own contracts"},
                 {404, "not_found", "no such contract in the tenant"}},
      .audit = {"contract.delete"},
      .handler =
          [&contracts](Call& call) {
            const Principal& p = call.caller();
            if (Status s = contracts.Trash(call.actor(), p.user.tenant_id, call.Id(), OnlyOwner(p));
                !s.ok()) {
              return http::Response::Error(s);
            }
            return NoContent();
          },
  });

  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/contracts/{id}/restore",
      .group = "Contracts",
      .summary = "Bring a contract back from the trash",
      .who = Who::kUser,
      .response = ContractAnswer(),
      .errors = {{403, "not_owner", "a user restores only their own contracts"},
                 {404, "not_found", "no such contract in the trash"}},
      .audit = {"contract.restore"},
      .handler =
          [&contracts](Call& call) {
            const Principal& p = call.caller();
            auto restored =
                contracts.Restore(call.actor(), p.user.tenant_id, call.Id(), OnlyOwner(p));
            if (!restored.ok()) return http::Response::Error(restored.status());
            return WithETag(http::Response::Json(200, contract::ToJson(*restored)),
                            restored->version);
          },
  });
}

}  // namespace pactum::api
