#include "tests/support/test_server.h"

#include <gtest/gtest.h>

#include "http/tls.h"

namespace pactum::testing_support {

void TestServer::Start() {
  auto files = http::ResolveTlsFiles(config.data_dir, "", "");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ca_file = files->cert_file;
  auto tls = http::MakeServerTlsContext(files->cert_file, files->key_file);
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  server = std::make_unique<http::Server>(config.server, config.limits, router, metrics);
  const Status s = server->Start(*tls);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

}  // namespace pactum::testing_support
