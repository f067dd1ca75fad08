// Uploads survive a crash whole or not at all: the real server is killed with SIGKILL
// while several clients upload at once, again and again; after each restart every upload
// that was answered 201 downloads byte-identical, and every document that exists (also
// one whose answer the kill swallowed) is complete.

#include <openssl/evp.h>
#include <unistd.h>
#include <csignal>

#include <atomic>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/hex.h"
#include "crypto/token.h"
#include "tests/support/https_client.h"
#include "tests/support/pactum_process.h"
#include "tests/support/temp_dir.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

std::string Sha256Hex(std::string_view data) {
  const std::string raw = crypto::Sha256(data);
  return HexEncode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
}

// Text content of 0.5-4 MiB, different for every attempt.
std::string Content(int attempt) {
  std::mt19937 rng(static_cast<unsigned>(attempt));
  const size_t size = (512U << 10) + rng() % (3584U << 10);
  std::string s = "upload " + std::to_string(attempt) + "\n";
  while (s.size() < size) s += "clause " + std::to_string(rng()) + "\n";
  s.resize(size);
  return s;
}

class CrashTest : public ::testing::Test {
 protected:
  std::string Data() const { return dir_.File("data"); }

  std::string Serve(PactumProcess& p) {
    ::unlink(dir_.File("ready").c_str());
    EXPECT_TRUE(p.Start(
        {"serve", "--data", Data(), "--listen", "127.0.0.1:0", "--ready-file", dir_.File("ready")},
        {}, dir_.path()));
    std::string url = p.WaitReady(dir_.File("ready"));
    EXPECT_FALSE(url.empty()) << p.Stderr();
    return url;
  }

  HttpResponse Call(const std::string& url, const std::string& method, const std::string& path,
                    const std::string& body, std::vector<std::string> headers) {
    HttpRequest r;
    r.method = method;
    r.url = url + path;
    r.body = body;
    r.headers = std::move(headers);
    r.ca_file = Data() + "/tls/cert.pem";
    return Perform(r);
  }

  TempDir dir_;
};

TEST_F(CrashTest, KilledDuringConcurrentUploadsLeavesOnlyWholeDocuments) {
  auto server = std::make_unique<PactumProcess>();
  std::string url = Serve(*server);
  std::ifstream in(Data() + "/initial-admin-password");
  std::string password;
  std::getline(in, password);
  const std::string json = "Content-Type: application/json";
  auto login = Call(
      url, "POST", "/api/v1/auth/login",
      nlohmann::json{{"tenant", "default"}, {"email", "admin@localhost"}, {"password", password}}
          .dump(),
      {json});
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string set_cookie = login.headers["set-cookie"];
  const std::vector<std::string> session = {
      "Cookie: " + set_cookie.substr(0, set_cookie.find(';')),
      "X-CSRF-Token: " + std::string(nlohmann::json::parse(login.body)["csrf_token"])};
  std::vector<std::string> with_json = session;
  with_json.push_back(json);
  ASSERT_EQ(
      Call(url, "POST", "/api/v1/me/password",
           nlohmann::json{{"current", password}, {"new", "a long and private passphrase"}}.dump(),
           with_json)
          .status,
      204);
  auto contract = Call(url, "POST", "/api/v1/contracts", R"({"title":"Crash"})", with_json);
  ASSERT_EQ(contract.status, 201) << contract.body;
  const std::string documents =
      "/api/v1/contracts/" + std::to_string(int64_t(nlohmann::json::parse(contract.body)["id"])) +
      "/documents";

  std::mutex mu;
  std::map<int64_t, std::string> answered;  // document id -> sha256 of what was sent
  std::set<std::string> attempted;          // sha256 of everything sent
  std::atomic<int> next_attempt{0};
  constexpr int kRounds = 5;
  constexpr int kClients = 4;
  const unsigned seed = std::random_device()();
  std::mt19937 rng(seed);
  SCOPED_TRACE("kill timing seed " + std::to_string(seed));
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<bool> killed{false};
    std::vector<std::thread> clients;
    clients.reserve(kClients);
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&] {
        while (!killed) {
          const int attempt = next_attempt++;
          const std::string content = Content(attempt);
          const std::string sha = Sha256Hex(content);
          {
            const std::lock_guard lock(mu);
            attempted.insert(sha);
          }
          std::vector<std::string> headers = session;
          headers.push_back("X-Filename: upload-" + std::to_string(attempt) + ".txt");
          auto r = Call(url, "POST", documents, content, headers);
          if (r.status == 0 || !r.error.empty()) continue;  // the kill cut it: unanswered
          if (r.status == 201) {
            const auto doc = nlohmann::json::parse(r.body);
            EXPECT_EQ(doc["sha256"], sha);
            const std::lock_guard lock(mu);
            answered[doc["id"]] = sha;
          } else {
            ADD_FAILURE() << "upload answered " << r.status << ": " << r.body;
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 400));
    server->Signal(SIGKILL);
    killed = true;
    for (auto& t : clients) t.join();
    server->Wait();
    server = std::make_unique<PactumProcess>();
    url = Serve(*server);  // the session is in the database: it survives the restart
  }
  ASSERT_GT(answered.size(), 0U) << "no upload finished before a kill: nothing was tested";

  auto list = Call(url, "GET", documents, "", session);
  ASSERT_EQ(list.status, 200) << list.body;
  std::set<int64_t> listed;
  const auto stored = nlohmann::json::parse(list.body);
  for (const auto& d : stored["documents"]) {
    listed.insert(int64_t(d["id"]));
    EXPECT_EQ(attempted.count(std::string(d["sha256"])), 1U)
        << "a document that is none of the uploads";
    // Complete: it downloads, and its bytes are what its recorded hash says.
    auto link = Call(url, "POST", "/api/v1/documents/" + std::to_string(int64_t(d["id"])) + "/link",
                     "", session);
    ASSERT_EQ(link.status, 200) << link.body;
    const std::string link_url = nlohmann::json::parse(link.body)["url"];
    auto got = Call(url, "GET", link_url.substr(link_url.find("/files/")), "", {session[0]});
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(Sha256Hex(got.body), std::string(d["sha256"])) << "document " << d["id"];
    if (auto it = answered.find(int64_t(d["id"])); it != answered.end()) {
      EXPECT_EQ(Sha256Hex(got.body), it->second);
    }
  }
  for (const auto& [id, sha] : answered) {
    EXPECT_EQ(listed.count(id), 1U) << "document " << id << " was answered 201 and is gone";
  }
  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(), 0);
}

}  // namespace
}  // namespace pactum
