#pragma once

// Runs a real http::Server in-process on port 0 with a self-signed certificate in a
// temporary data directory. Tests add routes (and an observer) before Start().

#include <memory>
#include <string>

#include "common/metrics.h"
#include "config/config.h"
#include "http/router.h"
#include "http/server.h"
#include "tests/support/temp_dir.h"

namespace pactum::testing_support {

class TestServer {
 public:
  TestServer() {
    config.server.listen = "127.0.0.1:0";
    config.server.io_threads = 2;
    config.server.worker_threads = 4;
    config.server.shutdown_deadline_ms = 5000;
    config.data_dir = dir.path();
  }
  ~TestServer() { Stop(); }

  // Starts serving; fails the test on error.
  void Start();
  void Stop() {
    if (server) server->Shutdown();
  }
  std::string Url(const std::string& path) const { return server->BaseUrl() + path; }
  // Waits up to 10 s until no connection is open; false on timeout. Once the clients have
  // closed theirs, every request has been answered and reported to the observer (which
  // hears of a request only after its answer was written).
  bool AwaitNoConnections() const;
  uint16_t port() const { return server->port(); }

  TempDir dir;
  config::Config config;
  http::Router router;
  MetricsRegistry metrics;
  http::RequestObserver* observer = nullptr;  // the request log, when a test sets one
  std::string ca_file;                        // the self-signed certificate, for verifying clients
  std::unique_ptr<http::Server> server;
};

}  // namespace pactum::testing_support
