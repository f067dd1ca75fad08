// The real `pactum serve` records the request stream in batches and writes the last one
// at shutdown: requests answered just before SIGTERM are in the encrypted database and
// covered by the checkpoint the server signs as it stops.

#include <csignal>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/sqlite_database.h"
#include "tests/support/data_database.h"
#include "tests/support/https_client.h"
#include "tests/support/pactum_process.h"
#include "tests/support/temp_dir.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

// The request ids of the platform chain's request events, read from the data directory's
// encrypted database the way the commands open it.
std::vector<std::string> StoredRequestIds(const std::string& data) {
  std::vector<std::string> ids;
  auto db = OpenDataDatabase(data);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return ids;
  const Status s = (*db)->Read([&](store::Session& session) -> Status {
    ASSIGN_OR_RETURN(auto rows, session.Query("SELECT details FROM audit_events WHERE "
                                              "tenant_id = 0 AND stream = 'request' ORDER BY seq"));
    for (const auto& row : rows) {
      ids.push_back(nlohmann::json::parse(row.Text(0)).value("request_id", ""));
    }
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return ids;
}

TEST(RequestAuditServeTest, TheLastRequestsAreWrittenAndSignedAtShutdown) {
  TempDir dir;
  const std::string data = dir.File("data");
  PactumProcess server;
  ASSERT_TRUE(server.Start(
      {"serve", "--data", data, "--listen", "127.0.0.1:0", "--ready-file", dir.File("ready")}, {},
      dir.path()));
  const std::string url = server.WaitReady(dir.File("ready"));
  ASSERT_FALSE(url.empty()) << server.Stderr();
  const std::vector<std::string> sent = {"last-requests-1", "last-requests-2", "last-requests-3"};
  for (const std::string& id : sent) {
    HttpRequest r;
    r.url = url + "/healthz";
    r.headers = {"X-Request-Id: " + id};
    ASSERT_EQ(Perform(r).status, 200);
  }
  server.Signal(SIGTERM);  // at once: well before the recorder's next batch would be due
  ASSERT_EQ(server.Wait(), 0) << server.Stderr();

  EXPECT_EQ(StoredRequestIds(data), sent);
  auto verify = RunPactum({"audit", "verify", "--data", data, "--json"});
  ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  const auto report = nlohmann::json::parse(verify.out);
  const auto& platform = report["chains"][0];
  EXPECT_EQ(platform["tenant"], 0);
  EXPECT_GE(platform["events"], 3);
  EXPECT_EQ(platform["checkpointed_seq"], platform["last_seq"]) << platform;
}

}  // namespace
}  // namespace pactum
