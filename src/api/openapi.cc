#include "api/openapi.h"

#include <map>
#include <mutex>
#include <set>

#include "api/routes.h"
#include "common/version.h"

namespace pactum::api {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The {name} segments of a path.
std::vector<std::string> PathParams(const std::string& path) {
  std::vector<std::string> out;
  size_t open = path.find('{');
  while (open != std::string::npos) {
    const size_t close = path.find('}', open);
    out.push_back(path.substr(open + 1, close - open - 1));
    open = path.find('{', close);
  }
  return out;
}

FieldSpec PathParam(const std::string& name) {
  if (name == "id") return Field(name, Json::kInteger).Min(1).Describe("the object's id");
  if (name == "token") return Field(name, Json::kString).Describe("the signed link token");
  return Field(name, Json::kString);
}

std::string OperationId(const Endpoint& e) {
  std::string id = Lower(http::MethodName(e.method));
  for (const char c : e.path) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      id += c;
    } else if (c == '/' || c == '-' || c == '.') {
      if (id.back() != '_') id += '_';
    }
  }
  while (id.back() == '_') id.pop_back();
  return id;
}

// "1-500 characters", "at most 50 items", "one of a, b" ... for the Markdown tables.
std::string Limits(const FieldSpec& f) {
  std::string out;
  auto range = [&f](const std::string& unit) -> std::string {
    if (f.min && f.max) return std::to_string(*f.min) + "-" + std::to_string(*f.max) + unit;
    if (f.max) return "at most " + std::to_string(*f.max) + unit;
    if (f.min) return "at least " + std::to_string(*f.min) + unit;
    return "";
  };
  switch (f.type) {
    case Json::kString:
      out = range(" characters");
      break;
    case Json::kArray:
      out = range(" items");
      break;
    case Json::kInteger:
    case Json::kNumber:
      out = range("");
      break;
    case Json::kBoolean:
    case Json::kObject:
    case Json::kAny:
      break;
  }
  if (!f.one_of.empty()) {
    std::string values;
    for (const auto& v : f.one_of) values += (values.empty() ? "`" : ", `") + v + "`";
    out += (out.empty() ? "one of " : "; one of ") + values;
  }
  return out;
}

std::string TypeText(const FieldSpec& f) {
  std::string t = JsonTypeName(f.type);
  if (f.type == Json::kArray) t = std::string("array of ") + JsonTypeName(f.items);
  if (!f.format.empty()) t += " (" + f.format + ")";
  if (f.nullable) t += " or null";
  return t;
}

std::string Escape(std::string s) {
  std::string out;
  for (const char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

void FieldTable(std::string& md, const std::vector<FieldSpec>& fields, bool with_required,
                const std::string& prefix = "") {
  if (prefix.empty()) {
    md += with_required ? "| field | type | required | limits | meaning |\n|---|---|---|---|---|\n"
                        : "| field | type | limits | meaning |\n|---|---|---|---|\n";
  }
  for (const auto& f : fields) {
    md += "| `" + prefix + f.name + "` | " + TypeText(f) + " | ";
    if (with_required) md += std::string(f.required ? "yes" : "no") + " | ";
    md += Escape(Limits(f)) + " | " + Escape(f.description) + " |\n";
    if (!f.fields.empty()) {
      FieldTable(md, f.fields, with_required,
                 prefix + f.name + (f.type == Json::kArray ? "[]." : "."));
    }
  }
}

std::string WhoText(const Endpoint& e) {
  switch (e.who) {
    case Who::kAnyone:
      return "anyone (no credentials)";
    case Who::kLinkHolder:
      return "the holder of a valid download link";
    case Who::kViewer:
      return "every role (viewer and up)";
    case Who::kUser:
      return "user, manager, admin";
    case Who::kManager:
      return "manager, admin";
    case Who::kAdmin:
      return "admin";
  }
  return "admin";
}

std::string BodyLimit(const Endpoint& e) {
  if (e.max_body_bytes >= 0) return std::to_string(e.max_body_bytes) + " bytes";
  return e.body == BodyKind::kStream ? "limits.max_upload_bytes (default 1 GiB)"
                                     : "limits.max_body_bytes (default 1 MiB)";
}

json ErrorSchemaRef() { return {{"$ref", "#/components/schemas/Error"}}; }

}  // namespace

std::vector<ErrorCase> CommonErrors(const Endpoint& e) {
  std::vector<ErrorCase> out;
  const bool takes_input = e.body == BodyKind::kJson || !e.query.empty();
  if (e.body == BodyKind::kJson) {
    out.push_back({400, "invalid_json", "the body is not one JSON object in UTF-8"});
  }
  if (takes_input) {
    out.push_back({400, "invalid_argument", "a field or parameter is unknown, missing or invalid"});
  }
  if (NeedsCaller(e.who)) {
    out.push_back({401, "unauthenticated", "no valid session or API token"});
    out.push_back({403, "forbidden", "the caller's role does not allow it"});
    out.push_back({403, "csrf_failed", "a session's unsafe request without its X-CSRF-Token"});
    out.push_back({403, "ip_not_allowed", "the tenant's IP allowlist does not admit the address"});
    if (!e.before_password_change) {
      out.push_back({403, "password_change_required", "the session's password must change first"});
    }
    if (!e.before_two_factor) {
      out.push_back({403, "two_factor_required", "the tenant requires 2FA: enrol first"});
    }
  }
  if (e.body != BodyKind::kNone) {
    out.push_back({413, "payload_too_large", "the body is larger than " + BodyLimit(e)});
  }
  if (e.body == BodyKind::kJson) {
    out.push_back({415, "unsupported_media_type", "the body is not sent as application/json"});
  }
  out.push_back({503, "audit_unavailable", "the audit trail cannot record; nothing was done"});
  return out;
}

nlohmann::json OpenApiDocument(const std::vector<std::unique_ptr<Endpoint>>& endpoints) {
  json paths = json::object();
  for (const auto& ep : endpoints) {
    const Endpoint& e = *ep;
    json op{{"operationId", OperationId(e)}, {"summary", e.summary}, {"tags", {e.group}}};
    if (!e.description.empty()) op["description"] = e.description;
    json params = json::array();
    for (const auto& name : PathParams(e.path)) {
      params.push_back({{"name", name},
                        {"in", "path"},
                        {"required", true},
                        {"schema", ToJsonSchema(PathParam(name))}});
    }
    for (const auto& q : e.query) {
      json p{
          {"name", q.name}, {"in", "query"}, {"required", q.required}, {"schema", ToJsonSchema(q)}};
      if (!q.description.empty()) p["description"] = q.description;
      params.push_back(std::move(p));
    }
    for (const auto& h : e.headers) {
      json p{{"name", h.name},
             {"in", "header"},
             {"required", h.required},
             {"schema", ToJsonSchema(h)}};
      if (!h.description.empty()) p["description"] = h.description;
      params.push_back(std::move(p));
    }
    if (!params.empty()) op["parameters"] = std::move(params);
    if (e.body == BodyKind::kJson) {
      op["requestBody"] = {
          {"required", true},
          {"content",
           {{"application/json",
             {{"schema", ToJsonSchema(e.request)}, {"example", ExampleOf(e.request)}}}}}};
    } else if (e.body == BodyKind::kStream) {
      op["requestBody"] = {
          {"required", true},
          {"content", {{"*/*", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}};
    }
    json responses = json::object();
    json success{{"description", e.summary}};
    if (e.success != 204) {
      if (e.produces == "application/json" && e.response.empty()) {
        success["content"] = {{"application/json", {{"schema", {{"type", "object"}}}}}};
      } else if (e.produces == "application/json") {
        success["content"] = {
            {"application/json",
             {{"schema", ToJsonSchema(e.response)}, {"example", ExampleOf(e.response)}}}};
      } else {
        success["content"] = {{e.produces, {{"schema", {{"type", "string"}}}}}};
      }
    }
    responses[std::to_string(e.success)] = std::move(success);
    // Errors by status, each naming its codes.
    std::map<int, std::vector<const ErrorCase*>> by_status;
    const auto common = CommonErrors(e);
    for (const auto& c : common) by_status[c.status].push_back(&c);
    for (const auto& c : e.errors) by_status[c.status].push_back(&c);
    for (const auto& [status, cases] : by_status) {
      std::string text;
      std::set<std::string> codes;
      for (const ErrorCase* c : cases) {
        if (!codes.insert(c->code).second) continue;
        text += (text.empty() ? "" : "; ") + c->code + ": " + c->when;
      }
      responses[std::to_string(status)] = {
          {"description", text},
          {"content", {{"application/json", {{"schema", ErrorSchemaRef()}}}}}};
    }
    op["responses"] = std::move(responses);
    if (NeedsCaller(e.who)) {
      op["security"] =
          e.session_only ? json::array({{{"session", json::array()}}})
                         : json::array({{{"session", json::array()}}, {{"bearer", json::array()}}});
    } else {
      op["security"] = json::array();
    }
    op["x-pactum-who"] = WhoName(e.who);
    if (e.session_only) op["x-pactum-session-only"] = true;
    if (!e.audit.empty()) op["x-pactum-audit"] = e.audit;
    paths[e.path][Lower(http::MethodName(e.method))] = std::move(op);
  }
  json error_schema{
      {"type", "object"},
      {"required", {"error"}},
      {"properties",
       {{"error",
         {{"type", "object"},
          {"required", {"code", "message"}},
          {"properties",
           {{"code", {{"type", "string"}, {"description", "stable and machine-readable"}}},
            {"message", {{"type", "string"}, {"description", "for people; may change"}}}}}}}}}};
  return {{"openapi", "3.1.0"},
          {"info",
           {{"title", "Pactum API"},
            {"version", kVersion},
            {"description",
             "The contract register's HTTP API. JSON over HTTPS; sessions use the cookie "
             "__Host-pactum_session plus X-CSRF-Token on unsafe methods, API clients "
             "Authorization: Bearer. Errors are {\"error\":{\"code\",\"message\"}}."}}},
          {"paths", std::move(paths)},
          {"components",
           {{"securitySchemes",
             {{"session",
               {{"type", "apiKey"}, {"in", "cookie"}, {"name", std::string(kSessionCookie)}}},
              {"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas", {{"Error", error_schema}}}}}};
}

std::string ApiMarkdown(const std::vector<std::unique_ptr<Endpoint>>& endpoints) {
  std::string md =
      "# API reference\n\n"
      "Generated from the endpoint declarations (`src/api/*_routes.cc`) by `make api-docs`;\n"
      "a test fails when this file and the declarations differ. The same description is\n"
      "served as OpenAPI 3.1 at `GET /api/v1/openapi.json`.\n\n"
      "JSON over HTTPS. A browser session uses the cookie `__Host-pactum_session` (Secure,\n"
      "HttpOnly, SameSite=Strict) and sends `X-CSRF-Token` with every unsafe method; API\n"
      "clients send `Authorization: Bearer <token>`. JSON bodies must be sent as\n"
      "`Content-Type: application/json`, one object in UTF-8; unknown fields and query\n"
      "parameters are refused. Errors are `{\"error\":{\"code\":\"…\",\"message\":\"…\"}}`;\n"
      "the `code` is stable. Objects of another tenant do not exist for a caller (404).\n";
  std::vector<std::string> groups;
  for (const auto& e : endpoints) {
    if (std::find(groups.begin(), groups.end(), e->group) == groups.end()) {
      groups.push_back(e->group);
    }
  }
  md += "\n## Contents\n\n";
  for (const auto& g : groups) {
    md += "- " + g + ":";
    for (const auto& e : endpoints) {
      if (e->group == g)
        md += std::string(" `") + http::MethodName(e->method) + " " + e->path + "`";
    }
    md += "\n";
  }
  for (const auto& g : groups) {
    md += "\n## " + g + "\n";
    for (const auto& ep : endpoints) {
      const Endpoint& e = *ep;
      if (e.group != g) continue;
      md += std::string("\n### `") + http::MethodName(e.method) + " " + e.path + "`\n\n";
      md += e.summary + ".";
      if (!e.description.empty()) md += " " + e.description;
      md += "\n\n- Who: " + WhoText(e);
      if (NeedsCaller(e.who))
        md += e.session_only ? "; a login session only" : "; session or API token";
      md += "\n";
      if (e.body == BodyKind::kJson) md += "- Body: JSON, at most " + BodyLimit(e) + "\n";
      if (e.body == BodyKind::kStream)
        md += "- Body: the raw bytes, at most " + BodyLimit(e) + "\n";
      md += "- Success: " + std::to_string(e.success);
      if (e.success != 204 && e.produces != "application/json") md += " (" + e.produces + ")";
      md += "\n";
      if (!e.audit.empty()) {
        md += "- Audit:";
        for (const auto& a : e.audit) md += " `" + a + "`";
        md += "\n";
      }
      if (!e.query.empty()) {
        md += "\nQuery parameters:\n\n";
        FieldTable(md, e.query, /*with_required=*/false);
      }
      if (!e.headers.empty()) {
        md += "\nHeaders:\n\n";
        FieldTable(md, e.headers, /*with_required=*/true);
      }
      if (e.body == BodyKind::kJson) {
        md += "\nRequest body:\n\n";
        FieldTable(md, e.request.fields, /*with_required=*/true);
        md += "\n```json\n" + ExampleOf(e.request).dump(2) + "\n```\n";
      }
      if (e.success != 204 && e.produces == "application/json" && !e.response.empty()) {
        md += "\nAnswer:\n\n";
        FieldTable(md, e.response.fields, /*with_required=*/true);
      }
      md += "\nErrors:\n\n| status | code | when |\n|---|---|---|\n";
      for (const auto& c : e.errors) {
        md += "| " + std::to_string(c.status) + " | `" + c.code + "` | " + Escape(c.when) + " |\n";
      }
      for (const auto& c : CommonErrors(e)) {
        md += "| " + std::to_string(c.status) + " | `" + c.code + "` | " + Escape(c.when) + " |\n";
      }
    }
  }
  return md;
}

void AddOpenApiEndpoint(EndpointTable& api) {
  // Rendered once, at the first call, when every endpoint is declared.
  auto cache = std::make_shared<std::pair<std::once_flag, std::string>>();
  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/openapi.json",
      .group = "Operations",
      .summary = "This API's OpenAPI 3.1 description",
      .who = Who::kAnyone,
      .execution = http::Execution::kInline,
      .produces = "application/json",
      .handler =
          [&api, cache](Call&) {
            std::call_once(cache->first,
                           [&] { cache->second = OpenApiDocument(api.endpoints()).dump(); });
            return http::Response::Text(200, cache->second, "application/json");
          },
  });
}

}  // namespace pactum::api
