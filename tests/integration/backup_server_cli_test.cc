// The server's background jobs and control socket, and lost backup targets, with the real
// binary: `pactum backup run` asks a live server through <data>/control.sock (0600); the
// jobs' state is in <data>/status.json and /metrics; a target whose directory is deleted
// (between runs or under the server) is named by verify and status (exit 1) and gets a new
// snapshot from the server.

#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/https_client.h"
#include "tests/support/lines.h"
#include "tests/support/pactum_process.h"
#include "tests/support/temp_dir.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

constexpr const char* kServerTestMasterKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class BackupServerTest : public ::testing::Test {
 protected:
  BackupServerTest() {
    env_ = {{"PACTUM_MASTER_KEY", kServerTestMasterKey},
            {"PACTUM_BACKUP_DIR", dir_.File("backups")},
            {"PACTUM_DATA_DIR", Data()}};
  }

  std::string Data() const { return dir_.File("data"); }

  // Starts the server; its base URL, "" on failure.
  std::string Serve(PactumProcess& p) {
    std::filesystem::remove(dir_.File("ready"));
    if (!p.Start({"serve", "--listen", "127.0.0.1:0", "--ready-file", dir_.File("ready")}, env_,
                 dir_.path())) {
      return "";
    }
    return p.WaitReady(dir_.File("ready"));
  }

  CommandResult Pactum(const std::vector<std::string>& args) { return RunPactum(args, env_); }

  // The backup status file, parsed ({} while unreadable).
  nlohmann::json BackupStatus() const {
    auto j = nlohmann::json::parse(Slurp(Data() + "/backup-spool/status.json"), nullptr, false);
    return j.is_object() ? j : nlohmann::json::object();
  }

  static nlohmann::json TargetIn(const nlohmann::json& status, const std::string& name) {
    if (!status.contains("targets")) return {};
    for (const auto& t : status["targets"]) {
      if (t.value("name", "") == name) return t;
    }
    return {};
  }

  // Waits (a hang guard, not a timing check) until `ready` holds for the status file.
  bool WaitForStatus(const std::function<bool(const nlohmann::json&)>& ready) const {
    for (int i = 0; i < 1200; ++i) {
      if (ready(BackupStatus())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Until both targets hold a verified snapshot of the server's first round.
  bool WaitForFirstSnapshot() const {
    return WaitForStatus([](const nlohmann::json& s) {
      if (!s.contains("last_snapshot") || s["last_snapshot"].value("id", "").empty()) return false;
      for (const auto& t : s.value("targets", nlohmann::json::array())) {
        if (t.value("last_verified_snapshot", "").empty()) return false;
      }
      return true;
    });
  }

  std::string Metrics(const std::string& url) const {
    HttpRequest r;
    r.url = url + "/metrics";
    r.ca_file = Data() + "/tls/cert.pem";
    return Perform(r).body;
  }

  TempDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(BackupServerTest, BackupRunAsksTheLiveServerThroughItsControlSocket) {
  PactumProcess server;
  const std::string url = Serve(server);
  ASSERT_FALSE(url.empty()) << server.Stderr();
  const std::string socket = Data() + "/control.sock";
  struct stat st {};
  ASSERT_EQ(::lstat(socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  ASSERT_TRUE(WaitForFirstSnapshot()) << BackupStatus().dump();

  auto run = Pactum({"backup", "run", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto ran = nlohmann::json::parse(run.out);
  EXPECT_EQ(ran["ok"], true);
  ASSERT_EQ(ran["targets"].size(), 2U);
  // The server took it (its log says so), not the command: it could not have, the server
  // owns the backups.
  const std::string id = ran["snapshot"].value("id", "");
  EXPECT_NE(server.Stderr().find("\"verb\":\"backup.run\""), std::string::npos) << server.Stderr();
  EXPECT_FALSE(std::filesystem::exists(Data() + "/backup-spool/requests")) << "no request files";
  auto list = Pactum({"backup", "list", "--json"});
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;

  // The jobs, in the status file and the metrics.
  const auto jobs = nlohmann::json::parse(Slurp(Data() + "/status.json"), nullptr, false);
  ASSERT_TRUE(jobs.is_object()) << Slurp(Data() + "/status.json");
  std::vector<std::string> names;
  for (const auto& j : jobs["jobs"]) names.push_back(j.value("name", ""));
  EXPECT_EQ(names, (std::vector<std::string>{"housekeeping", "audit-checkpoint", "backup-changelog",
                                             "backup-snapshot", "backup-prune"}));
  const std::string metrics = Metrics(url);
  for (const char* line : {"pactum_job_runs_total{job=\"backup-snapshot\",result=\"ok\"}",
                           "pactum_job_next_run_timestamp_seconds{job=\"backup-snapshot\"}",
                           "pactum_job_last_error_info{job=\"backup-changelog\",error=\"\"} 1",
                           "pactum_job_failing{job=\"housekeeping\"} 0"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
  }
  auto status = Pactum({"backup", "status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const auto st_json = nlohmann::json::parse(status.out);
  ASSERT_FALSE(st_json["jobs"].empty());
  EXPECT_EQ(st_json["jobs"][0]["name"], "backup-changelog");

  server.Signal(SIGTERM);
  ASSERT_EQ(server.Wait(), 0) << server.Stderr();
  EXPECT_FALSE(std::filesystem::exists(socket)) << "removed at the stop";
}

TEST_F(BackupServerTest, BackupRunAfterAKilledServerTakesTheSnapshotItself) {
  PactumProcess server;
  ASSERT_FALSE(Serve(server).empty()) << server.Stderr();
  ASSERT_TRUE(WaitForFirstSnapshot()) << BackupStatus().dump();
  server.Signal(SIGKILL);
  (void)server.Wait();
  ASSERT_TRUE(std::filesystem::exists(Data() + "/control.sock")) << "a stale socket is left";
  auto run = Pactum({"backup", "run", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(nlohmann::json::parse(run.out)["ok"], true);
  // The next server replaces the stale socket and answers on it.
  PactumProcess again;
  ASSERT_FALSE(Serve(again).empty()) << again.Stderr();
  auto run_again = Pactum({"backup", "run", "--json"});
  EXPECT_EQ(run_again.exit_code, 0) << run_again.err;
  EXPECT_NE(again.Stderr().find("\"verb\":\"backup.run\""), std::string::npos);
  again.Signal(SIGTERM);
  EXPECT_EQ(again.Wait(), 0) << again.Stderr();
}

TEST_F(BackupServerTest, ATargetDeletedBetweenRunsIsReportedThenSnapshottedAgain) {
  {
    PactumProcess server;
    ASSERT_FALSE(Serve(server).empty()) << server.Stderr();
    ASSERT_TRUE(WaitForFirstSnapshot()) << BackupStatus().dump();
    server.Signal(SIGTERM);
    ASSERT_EQ(server.Wait(), 0) << server.Stderr();
  }
  std::filesystem::remove_all(dir_.File("backups/site-a"));

  auto verify = Pactum({"backup", "verify", "--all", "--json"});
  EXPECT_EQ(verify.exit_code, 1) << verify.out;
  EXPECT_EQ(Lines(verify.err), 1U) << verify.err;
  bool named = false;
  for (const auto& line : nlohmann::json::parse(verify.out)) {
    if (line.value("target", "") == "site-a" && line.value("lost", false)) {
      named = true;
      EXPECT_NE(line.value("error", "").find("lost its backups"), std::string::npos) << line;
    }
  }
  EXPECT_TRUE(named) << verify.out;
  EXPECT_FALSE(std::filesystem::exists(dir_.File("backups/site-a"))) << "not made anew by verify";
  auto text = Pactum({"backup", "verify"});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.out.find("site-a: target: FAILED: lost its backups"), std::string::npos)
      << text.out;

  auto status = Pactum({"backup", "status", "--json"});
  EXPECT_EQ(status.exit_code, 1) << status.out;
  EXPECT_EQ(Lines(status.err), 1U) << status.err;
  EXPECT_NE(status.err.find("site-a"), std::string::npos) << status.err;
  const auto st = nlohmann::json::parse(status.out);
  EXPECT_EQ(TargetIn(st, "site-a")["lost"], true) << st.dump();
  EXPECT_EQ(TargetIn(st, "site-b")["ok"], true) << st.dump();
  EXPECT_EQ(st["healthy"], false);

  // The server finds it lost at start, makes it anew and snapshots into it.
  PactumProcess server;
  const std::string url = Serve(server);
  ASSERT_FALSE(url.empty()) << server.Stderr();
  ASSERT_TRUE(WaitForStatus([](const nlohmann::json& s) {
    const auto a = TargetIn(s, "site-a");
    return a.value("losses", 0) == 1 && !a.value("last_verified_snapshot", "").empty() &&
           a.value("ok", false);
  })) << BackupStatus().dump();
  EXPECT_NE(server.Stderr().find("lost its backups"), std::string::npos) << server.Stderr();
  EXPECT_NE(Metrics(url).find("pactum_backup_target_losses_total{target=\"site-a\"} 1"),
            std::string::npos);
  auto healed = Pactum({"backup", "verify", "--all", "--json"});
  EXPECT_EQ(healed.exit_code, 0) << healed.out << healed.err;
  EXPECT_EQ(Pactum({"backup", "status"}).exit_code, 0);
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(), 0) << server.Stderr();
}

TEST_F(BackupServerTest, ATargetDeletedUnderTheServerGetsANewSnapshotAndTheLogGoesOn) {
  PactumProcess server;
  const std::string url = Serve(server);
  ASSERT_FALSE(url.empty()) << server.Stderr();
  ASSERT_TRUE(WaitForFirstSnapshot()) << BackupStatus().dump();
  std::filesystem::remove_all(dir_.File("backups/site-a"));
  ASSERT_TRUE(WaitForStatus([](const nlohmann::json& s) {
    const auto a = TargetIn(s, "site-a");
    return a.value("losses", 0) == 1 && a.value("ok", false) &&
           !a.value("last_verified_snapshot", "").empty();
  })) << BackupStatus().dump();
  EXPECT_NE(server.Stderr().find("lost its backups"), std::string::npos) << server.Stderr();
  // A write after it reaches site-a: restored from site-a alone.
  ASSERT_EQ(Pactum({"tenant", "create", "after", "--admin-email", "a@example.com"}).exit_code, 0);
  server.Signal(SIGTERM);
  ASSERT_EQ(server.Wait(), 0) << server.Stderr();
  auto restored = Pactum({"backup", "restore", "--at", "latest", "--to", dir_.File("restored"),
                          "--target", "site-a", "--json"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  auto tenants =
      RunPactum({"tenant", "list", "--json"}, {{"PACTUM_MASTER_KEY", kServerTestMasterKey},
                                               {"PACTUM_BACKUP_DIR", dir_.File("backups")},
                                               {"PACTUM_DATA_DIR", dir_.File("restored")}});
  EXPECT_NE(tenants.out.find("\"after\""), std::string::npos) << tenants.out << tenants.err;
}

}  // namespace
}  // namespace pactum
