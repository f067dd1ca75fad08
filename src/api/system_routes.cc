#include "api/system_routes.h"

#include <nlohmann/json.hpp>

#include "common/version.h"

namespace pactum::api {

void RegisterSystemRoutes(http::Router& router, SystemRoutesDeps deps) {
  store::Database& db = deps.db;
  router.Add(http::Method::kGet, "/healthz", [&db](http::Request&) {
    const Status s = db.Ping();
    if (!s.ok()) {
      http::Response r = http::Response::Error(Unavailable("database unreachable", s.ToString()));
      return r;
    }
    return http::Response::Json(200, {{"status", "ok"}, {"version", kVersion}});
  });

  MetricsRegistry& metrics = deps.metrics;
  router.Add(http::Method::kGet, "/metrics",
             [&metrics, allow = std::move(deps.metrics_allowlist)](http::Request& req) {
               auto ip = IpAddress::Parse(req.remote_ip);
               if (!ip.ok() || !AnyContains(allow, *ip)) {
                 return http::Response::Error(PermissionDenied("metrics are for operators only"));
               }
               return http::Response::Text(200, metrics.Render(), "text/plain; version=0.0.4");
             },
             {.execution = http::Execution::kInline});
}

}  // namespace pactum::api
