// `pactum audit verify` against the real binary: the events operator commands record,
// the signed checkpoints a server writes at shutdown, and a trail damaged on purpose —
// in the checkpoint file, and in the encrypted database itself (opened in-process with
// the data directory's master key, the way the commands open it).

#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/checkpoint.h"
#include "crypto/random.h"
#include "store/sqlite_database.h"
#include "tests/support/data_database.h"
#include "tests/support/lines.h"
#include "tests/support/pactum_process.h"
#include "tests/support/temp_dir.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

class AuditCliTest : public ::testing::Test {
 protected:
  std::string Data() const { return dir_.File("data"); }
  std::string Checkpoints() const { return Data() + "/audit-checkpoints.jsonl"; }

  void CreateTenant(const std::string& slug) {
    auto r = RunPactum(
        {"tenant", "create", slug, "--admin-email", "admin@example.com", "--data", Data()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  CommandResult Verify(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"audit", "verify", "--data", Data()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunPactum(args);
  }

  nlohmann::json VerifyJson() {
    auto r = Verify({"--json"});
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }

  // Starts and stops the server: at shutdown it signs a checkpoint of every chain that grew.
  void ServeAndStop() {
    PactumProcess p;
    ::unlink(dir_.File("ready").c_str());
    ASSERT_TRUE(p.Start(
        {"serve", "--data", Data(), "--listen", "127.0.0.1:0", "--ready-file", dir_.File("ready")},
        {}, dir_.path()));
    ASSERT_FALSE(p.WaitReady(dir_.File("ready")).empty()) << p.Stderr();
    p.Signal(SIGTERM);
    ASSERT_EQ(p.Wait(), 0) << p.Stderr();
  }

  // Runs `fn` in a write transaction on the data directory's encrypted database.
  void Tamper(const std::function<Status(store::Session&)>& fn) {
    auto db = OpenDataDatabase(Data());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    const Status s = (*db)->Write(fn);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  TempDir dir_;
};

TEST_F(AuditCliTest, AFreshDataDirectoryVerifiesWithNoEvents) {
  auto r = Verify();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "platform: ok, 0 events\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(AuditCliTest, TenantCreateRecordsEventsThatVerify) {
  CreateTenant("acme");
  CreateTenant("globex");
  auto r = Verify();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "platform: ok, 2 events, none signed yet\n"
            "acme: ok, 1 event, none signed yet\n"
            "globex: ok, 1 event, none signed yet\n");
  EXPECT_EQ(r.err, "") << "no progress output when stderr is not a terminal";

  // A server signs each chain's head (at start, then when due, and at shutdown).
  ServeAndStop();
  r = Verify();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("acme: ok, 1 event, signed up to seq 1\n"), std::string::npos) << r.out;
  const nlohmann::json verified = VerifyJson();  // kept: the loop must not outlive it
  for (const auto& chain : verified["chains"]) {
    EXPECT_EQ(chain["checkpointed_seq"], chain["last_seq"]) << chain;
  }

  r = Verify({"--tenant", "globex"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "globex: ok, 1 event, signed up to seq 1\n");
}

TEST_F(AuditCliTest, JsonNamesEveryChainWithItsSlug) {
  CreateTenant("acme");
  ServeAndStop();  // a tenant exists: the first start creates none
  const auto j = VerifyJson();
  EXPECT_EQ(j["ok"], true);
  ASSERT_EQ(j["chains"].size(), 2U) << j;
  const auto& platform = j["chains"][0];
  EXPECT_EQ(platform["slug"], "platform");
  EXPECT_EQ(platform["tenant"], 0);
  EXPECT_EQ(platform["ok"], true);
  EXPECT_GE(platform["events"], 1);
  EXPECT_EQ(platform["last_seq"], platform["events"]);
  EXPECT_GE(platform["checkpoints"], 1);
  EXPECT_EQ(platform["checkpointed_seq"], platform["last_seq"]);
  EXPECT_FALSE(platform.contains("problem"));
  const auto& acme = j["chains"][1];
  EXPECT_EQ(acme["slug"], "acme");
  EXPECT_TRUE(acme["tenant"].is_number_integer());
  EXPECT_NE(acme["tenant"], 0);
  EXPECT_EQ(acme["events"], 1);
  EXPECT_EQ(acme["checkpointed_seq"], 1);
}

TEST_F(AuditCliTest, ACheckpointSignedWithAnotherKeyFails) {
  CreateTenant("acme");
  ServeAndStop();
  ASSERT_EQ(Verify().exit_code, 0);
  // A checkpoint of the platform's head, signed by someone else's key.
  auto checkpoints = audit::CheckpointFile(LocalFileSystem(), Checkpoints()).ReadAll();
  ASSERT_TRUE(checkpoints.ok());
  const auto platform = std::find_if(checkpoints->begin(), checkpoints->end(),
                                     [](const audit::Checkpoint& c) { return c.tenant_id == 0; });
  ASSERT_NE(platform, checkpoints->end());
  audit::Checkpoint forged = *platform;
  crypto::SecretBytes seed(32);
  crypto::RandomBytes(seed.span());
  auto other = audit::AuditSigner::FromSeed(seed.span());
  ASSERT_TRUE(other.ok());
  other->Sign(forged);
  ASSERT_TRUE(audit::CheckpointFile(LocalFileSystem(), Checkpoints()).Append(forged).ok());

  auto r = Verify();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_EQ(r.err.rfind("pactum: the audit trail is damaged: ", 0), 0U) << r.err;
  EXPECT_NE(r.err.find("SIGNATURE"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("platform: SIGNATURE at seq " + std::to_string(forged.seq)),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("acme: ok"), std::string::npos) << "other chains are still checked";
  const auto j = VerifyJson();
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["chains"][0]["problem"]["kind"], "signature");
  EXPECT_EQ(j["chains"][1]["ok"], true);
}

TEST_F(AuditCliTest, ADamagedCheckpointFileIsAOneLineError) {
  CreateTenant("acme");
  ServeAndStop();
  auto before = audit::CheckpointFile(LocalFileSystem(), Checkpoints()).ReadAll();
  ASSERT_TRUE(before.ok());
  std::ofstream(Checkpoints(), std::ios::app) << "{\"tenant\":0,\"seq\":\n";
  auto r = Verify();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("the audit checkpoint file is damaged at line " +
                       std::to_string(before->size() + 1)),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(Checkpoints()), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(AuditCliTest, AnUnknownTenantIsAOneLineError) {
  CreateTenant("acme");
  auto r = Verify({"--tenant", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "pactum: no tenant nope\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(AuditCliTest, AMissingSigningKeyBesideEventsIsAOneLineError) {
  CreateTenant("acme");
  const std::string key = Data() + "/audit-signing.key";
  ASSERT_EQ(::rename(key.c_str(), (key + ".away").c_str()), 0);
  auto r = Verify();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("audit-signing.key is missing"), std::string::npos) << r.err;
  r = RunPactum({"keys", "check", "--data", Data()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("audit-signing.key is missing"), std::string::npos) << r.err;
  // Never silently replaced by a new key, which could not vouch for the events.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"tenant", "create", "globex", "--admin-email", "admin@example.com", "--data", Data()},
           {"keys", "rotate", "--data", Data()},
           {"serve", "--data", Data(), "--listen", "127.0.0.1:0"}}) {
    r = RunPactum(args);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(Lines(r.err), 1U) << r.err;
    EXPECT_NE(r.err.find("audit-signing.key is missing"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(key)) << args[0];
  }
  ASSERT_EQ(::rename((key + ".away").c_str(), key.c_str()), 0);
  EXPECT_EQ(Verify().exit_code, 0);
  r = RunPactum({"keys", "check", "--data", Data(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["master_key_version"], 1) << "rotate changed nothing";
  EXPECT_EQ(RunPactum({"tenant", "list", "--data", Data()}).out.find("globex"), std::string::npos);
}

TEST_F(AuditCliTest, TheSigningKeyRewrappedByKeysRotateStillVerifies) {
  CreateTenant("acme");
  ServeAndStop();
  const int64_t signed_seq = VerifyJson()["chains"][0]["checkpointed_seq"];
  ASSERT_GE(signed_seq, 1);
  const std::string key = Data() + "/audit-signing.key";
  std::ifstream before_in(key);
  const std::string before((std::istreambuf_iterator<char>(before_in)),
                           std::istreambuf_iterator<char>());
  auto r = RunPactum({"keys", "rotate", "--data", Data(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["audit_signing_key_rewrapped"], true);
  std::ifstream after_in(key);
  const std::string after((std::istreambuf_iterator<char>(after_in)),
                          std::istreambuf_iterator<char>());
  EXPECT_NE(before, after) << "rewrapped under the new master key version";
  // The old signatures still verify: the same signing key, wrapped anew.
  auto j = VerifyJson();
  EXPECT_EQ(j["ok"], true) << j;
  EXPECT_EQ(j["chains"][0]["checkpointed_seq"], signed_seq);
  EXPECT_EQ(j["chains"][0]["events"], signed_seq + 1) << "keys.rotate recorded";
  r = RunPactum({"keys", "check", "--data", Data(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["audit_signing_key"], "ok");
  // A server signs on with the rewrapped key; all still verifies.
  ServeAndStop();
  j = VerifyJson();
  EXPECT_EQ(j["ok"], true) << j;
  EXPECT_GE(j["chains"][0]["checkpointed_seq"], signed_seq + 1);
}

TEST_F(AuditCliTest, EventsChangedOrDeletedInTheDatabaseAreNamed) {
  for (const char* slug : {"acme", "globex", "initech", "umbrella"}) CreateTenant(slug);
  ServeAndStop();  // signs the platform's chain: 4 tenant.create events, at least
  ASSERT_EQ(Verify().exit_code, 0);

  Tamper([](store::Session& s) {
    return s
        .Execute(
            "UPDATE audit_events SET details = '{\"slug\":\"evil\"}' "
            "WHERE tenant_id = 0 AND seq = 3")
        .status();
  });
  auto r = Verify();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("platform: CHANGED at seq 3"), std::string::npos) << r.err;

  Tamper([](store::Session& s) {
    return s.Execute("DELETE FROM audit_events WHERE tenant_id = 0 AND seq = 3").status();
  });
  r = Verify();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("MISSING at seq 3"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("acme: ok"), std::string::npos) << r.out;

  // Every event from there on gone, so no gap shows: the signed checkpoint still knows.
  Tamper([](store::Session& s) {
    return s.Execute("DELETE FROM audit_events WHERE tenant_id = 0 AND seq >= 3").status();
  });
  r = Verify();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("TRUNCATED at seq 3"), std::string::npos) << r.err;
  // Only the tenants' chains: still intact.
  EXPECT_EQ(Verify({"--tenant", "acme"}).exit_code, 0);
}

}  // namespace
}  // namespace pactum
