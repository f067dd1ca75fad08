#pragma once

// Operational endpoints: GET /healthz (liveness and database reachability) and
// GET /metrics (Prometheus text, operator allowlist only).

#include <vector>

#include "common/ip_network.h"
#include "common/metrics.h"
#include "http/router.h"
#include "store/database.h"

namespace pactum::api {

struct SystemRoutesDeps {
  store::Database& db;
  MetricsRegistry& metrics;
  std::vector<IpNetwork> metrics_allowlist;  // who may read /metrics
};

void RegisterSystemRoutes(http::Router& router, SystemRoutesDeps deps);

}  // namespace pactum::api
