// Operational endpoints: liveness with the database's reachability, and the Prometheus
// metrics for the operator's allowlist.

#include "api/routes.h"
#include "common/version.h"

namespace pactum::api {

void AddSystemEndpoints(EndpointTable& api, SystemDeps deps) {
  store::Database& db = deps.db;
  api.Add({
      .method = http::Method::kGet,
      .path = "/healthz",
      .group = "Operations",
      .summary = "Liveness: the server answers and reaches its database",
      .who = Who::kAnyone,
      .response = {{
          Field("status", Json::kString).Required().Example(R"("ok")"),
          Field("version", Json::kString).Required().Example(R"("0.1.0")"),
      }},
      .errors = {{503, "unavailable", "the database does not answer"}},
      .handler =
          [&db](Call&) {
            if (const Status s = db.Ping(); !s.ok()) {
              return http::Response::Error(Unavailable("database unreachable", s.ToString()));
            }
            return http::Response::Json(200, {{"status", "ok"}, {"version", kVersion}});
          },
  });

  MetricsRegistry& metrics = deps.metrics;
  api.Add({
      .method = http::Method::kGet,
      .path = "/metrics",
      .group = "Operations",
      .summary = "Prometheus metrics, for addresses in server.metrics_allowlist",
      .who = Who::kAnyone,
      .execution = http::Execution::kInline,
      .produces = "text/plain; version=0.0.4",
      .errors = {{403, "forbidden", "the address is not in the metrics allowlist"}},
      .handler =
          [&metrics, allow = std::move(deps.metrics_allowlist)](Call& call) {
            auto ip = IpAddress::Parse(call.request.remote_ip);
            if (!ip.ok() || !AnyContains(allow, *ip)) {
              return http::Response::Error(PermissionDenied("metrics are for operators only"));
            }
            return http::Response::Text(200, metrics.Render(), "text/plain; version=0.0.4");
          },
  });
}

void AddAllEndpoints(EndpointTable& api, AllDeps deps) {
  AddSystemEndpoints(api, std::move(deps.system));
  AddLoginEndpoints(api);
  AddMeEndpoints(api);
  AddTwoFactorEndpoints(api);
  AddUserEndpoints(api);
  AddTokenEndpoints(api);
  AddSettingsEndpoints(api);
  AddContractEndpoints(api, deps.contracts);
  AddCustomFieldEndpoints(api, deps.custom_fields);
  AddDocumentEndpoints(api, deps.documents);
  AddAuditEndpoints(api, deps.audit);
  AddOpenApiEndpoint(api);
}

}  // namespace pactum::api
