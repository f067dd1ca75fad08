#include "tests/support/test_server.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "http/tls.h"

namespace pactum::testing_support {

void TestServer::Start() {
  auto files = http::ResolveTlsFiles(config.data_dir, "", "");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ca_file = files->cert_file;
  auto tls = http::MakeServerTlsContext(files->cert_file, files->key_file);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  server = std::make_unique<http::Server>(config.server, config.limits, router, metrics, observer);
  const Status s = server->Start(*tls);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

bool TestServer::AwaitNoConnections() const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server->open_connections() > 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace pactum::testing_support
