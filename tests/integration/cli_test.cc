// The `pactum` binary as users and supervisors run it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <csignal>

#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "crypto/self_signed.h"
#include "tests/support/https_client.h"
#include "tests/support/lines.h"
#include "tests/support/pactum_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tls_client.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)
using std::chrono::seconds;

uint16_t PortOf(const std::string& url) {
  return static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class CliTest : public ::testing::Test {
 protected:
  std::string Data() const { return dir_.File("data"); }
  // Starts `pactum serve` on port 0 and returns its base URL.
  std::string Serve(PactumProcess& p, const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = {
        "serve", "--data", Data(), "--listen", "127.0.0.1:0", "--ready-file", dir_.File("ready")};
    ::unlink(dir_.File("ready").c_str());
    EXPECT_TRUE(p.Start(args, env, dir_.path()));
    std::string url = p.WaitReady(dir_.File("ready"));
    EXPECT_FALSE(url.empty()) << p.Stderr();
    return url;
  }
  TempDir dir_;
};

TEST_F(CliTest, EveryCommandHasHelp) {
  auto top = RunPactum({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("serve"), std::string::npos);
  EXPECT_NE(top.out.find("tenant"), std::string::npos);
  EXPECT_NE(top.out.find("keys"), std::string::npos);
  EXPECT_NE(top.out.find("audit"), std::string::npos);
  EXPECT_NE(top.out.find("backup"), std::string::npos);
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"serve", "--help"},
                                             {"tenant", "create", "--help"},
                                             {"tenant", "list", "--help"},
                                             {"tenant", "settings", "--help"},
                                             {"tenant", "reset-2fa", "--help"},
                                             {"keys", "rotate", "--help"},
                                             {"keys", "check", "--help"},
                                             {"audit", "verify", "--help"},
                                             {"backup", "run", "--help"},
                                             {"backup", "list", "--help"},
                                             {"backup", "status", "--help"},
                                             {"backup", "restore", "--help"},
                                             {"backup", "verify", "--help"},
                                             {"backup", "prune", "--help"},
                                             {"backup", "retention-plan", "--help"}}) {
    auto r = RunPactum(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    for (const char* flag : {"--config", "--data", "--json"}) {
      EXPECT_NE(r.out.find(flag), std::string::npos) << args[0] << " lacks " << flag;
    }
  }
  EXPECT_NE(RunPactum({"serve", "--help"}).out.find("--ready-file"), std::string::npos);
  EXPECT_EQ(RunPactum({"--version"}).exit_code, 0);
}

TEST_F(CliTest, UnknownCommandOrFlagIsOneLineAndExit2) {
  auto r = RunPactum({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  auto f = RunPactum({"serve", "--no-such-flag"});
  EXPECT_EQ(f.exit_code, 2);
  EXPECT_EQ(Lines(f.err), 1U) << f.err;
}

TEST_F(CliTest, ServeOnPortZeroWritesReadyFileCreatesPrivateKeyAndServes) {
  PactumProcess p;
  const std::string url = Serve(p);
  ASSERT_EQ(url.rfind("https://127.0.0.1:", 0), 0U) << url;
  // The self-signed certificate verifies for 127.0.0.1; its key is 0600.
  HttpRequest req;
  req.url = url + "/healthz";
  req.ca_file = Data() + "/tls/cert.pem";
  auto r = Perform(req);
  EXPECT_EQ(r.status, 200) << r.error;
  struct stat st {};
  ASSERT_EQ(::stat((Data() + "/tls/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(::stat(Data().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0) << "data directory must be private";
  ASSERT_EQ(::stat((Data() + "/pactum.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0) << "database must be private";
  ASSERT_EQ(::stat((Data() + "/master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // The operator log is JSON lines.
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
  std::istringstream log(p.Stderr());
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    EXPECT_EQ(line.find("PRIVATE KEY"), std::string::npos);
    ++lines;
  }
  EXPECT_GE(lines, 2);
  EXPECT_NE(p.Stdout().find(url), std::string::npos);  // the URL for the person who ran it
}

TEST_F(CliTest, SecondStartReusesTheCertificate) {
  std::string first_fp, second_fp;
  for (std::string* fp : {&first_fp, &second_fp}) {
    PactumProcess p;
    const std::string url = Serve(p);
    TlsClient c;
    ASSERT_TRUE(c.Connect(PortOf(url)));
    *fp = c.PeerFingerprint();
    p.Signal(SIGTERM);
    EXPECT_EQ(p.Wait(), 0);
  }
  EXPECT_EQ(first_fp, second_fp);
}

TEST_F(CliTest, BadConfigurationExits2NamingTheKey) {
  auto env = RunPactum({"serve", "--data", Data()}, {{"PACTUM_LIMITS_MAX_HEADER_BYTES", "lots"}});
  EXPECT_EQ(env.exit_code, 2);
  EXPECT_EQ(Lines(env.err), 1U) << env.err;
  EXPECT_NE(env.err.find("PACTUM_LIMITS_MAX_HEADER_BYTES"), std::string::npos) << env.err;

  std::ofstream(dir_.File("bad.toml")) << "[server]\nlisten = \"not-an-address\"\n";
  auto file = RunPactum({"serve", "--data", Data(), "--config", dir_.File("bad.toml")});
  EXPECT_EQ(file.exit_code, 2);
  EXPECT_EQ(Lines(file.err), 1U) << file.err;
  EXPECT_NE(file.err.find("server.listen"), std::string::npos) << file.err;

  std::ofstream(dir_.File("typo.toml")) << "[limits]\nmax_header_byte = 1\n";
  auto typo = RunPactum({"serve", "--data", Data(), "--config", dir_.File("typo.toml")});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("limits.max_header_byte"), std::string::npos) << typo.err;

  auto missing = RunPactum({"serve", "--data", Data(), "--config", dir_.File("none.toml")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(Lines(missing.err), 1U);
}

TEST_F(CliTest, ListenAddressInUseIsAOneLineError) {
  PactumProcess first;
  const std::string url = Serve(first);
  auto second = RunPactum({"serve", "--data", dir_.File("other"), "--listen",
                           "127.0.0.1:" + std::to_string(PortOf(url))});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("cannot listen"), std::string::npos) << second.err;
}

TEST_F(CliTest, SighupReloadsAConfiguredCertificate) {
  auto a = crypto::GenerateSelfSigned({"localhost"}, {"127.0.0.1"}, std::chrono::hours(1));
  auto b = crypto::GenerateSelfSigned({"localhost"}, {"127.0.0.1"}, std::chrono::hours(1));
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string cert = dir_.File("cert.pem"), key = dir_.File("key.pem");
  ASSERT_TRUE(WriteFileAtomic(cert, a->certificate_pem, 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(key, a->private_key_pem, 0600).ok());
  PactumProcess p;
  const std::string url =
      Serve(p, {{"PACTUM_SERVER_TLS_CERT_FILE", cert}, {"PACTUM_SERVER_TLS_KEY_FILE", key}});
  TlsClient before;
  ASSERT_TRUE(before.Connect(PortOf(url)));
  EXPECT_EQ(before.PeerFingerprint(), *crypto::CertificateFingerprint(a->certificate_pem));
  EXPECT_FALSE(std::filesystem::exists(Data() + "/tls/cert.pem"));  // used as given

  ASSERT_TRUE(WriteFileAtomic(key, b->private_key_pem, 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(cert, b->certificate_pem, 0644).ok());
  p.Signal(SIGHUP);
  const std::string want = *crypto::CertificateFingerprint(b->certificate_pem);
  std::string got;
  for (int i = 0; i < 100 && got != want; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    TlsClient after;
    ASSERT_TRUE(after.Connect(PortOf(url)));
    got = after.PeerFingerprint();
  }
  EXPECT_EQ(got, want);
  // The connection made before the reload keeps working.
  EXPECT_EQ(StatusOf(before.RoundTrip("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 200);

  // A broken certificate on reload keeps the current one and the server up.
  std::ofstream(cert) << "garbage";
  p.Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  TlsClient still;
  ASSERT_TRUE(still.Connect(PortOf(url)));
  EXPECT_EQ(still.PeerFingerprint(), want);
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
  EXPECT_NE(p.Stderr().find("TLS reload failed"), std::string::npos);
}

TEST_F(CliTest, SigtermWithIdleConnectionsExitsZeroPromptly) {
  PactumProcess p;
  const std::string url = Serve(p);
  TlsClient idle;
  ASSERT_TRUE(idle.Connect(PortOf(url)));
  EXPECT_EQ(StatusOf(idle.RoundTrip("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
  const auto start = std::chrono::steady_clock::now();
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(seconds(20)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));  // not the idle timeout
}

TEST_F(CliTest, RedirectListenerOnlyRedirectsToHttps) {
  const uint16_t port = FreePort();
  PactumProcess p;
  const std::string url =
      Serve(p, {{"PACTUM_SERVER_REDIRECT_LISTEN", "127.0.0.1:" + std::to_string(port)}});
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/contracts?x=1";
  auto r = Perform(req);
  EXPECT_EQ(r.status, 308) << r.error;
  EXPECT_EQ(r.headers["location"],
            "https://127.0.0.1:" + std::to_string(PortOf(url)) + "/api/v1/contracts?x=1");
  EXPECT_EQ(r.body.find("healthz"), std::string::npos);
  // Nothing is served over plain HTTP, not even health.
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/healthz";
  EXPECT_EQ(Perform(req).status, 308);
  req.headers = {"Host: evil\r\nX: y"};
  EXPECT_NE(Perform(req).status, 200);
}

TEST_F(CliTest, RedirectListenerObeysTheConnectionLimits) {
  const uint16_t port = FreePort();
  PactumProcess p;
  Serve(p, {{"PACTUM_SERVER_REDIRECT_LISTEN", "127.0.0.1:" + std::to_string(port)},
            {"PACTUM_LIMITS_MAX_CONNECTIONS_PER_IP", "2"}});
  auto open_idle = [port] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  };
  const int a = open_idle();
  const int b = open_idle();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int c = open_idle();
  char byte = 0;
  EXPECT_EQ(::read(c, &byte, 1), 0);  // closed at once: the address is at its limit
  for (int fd : {a, b, c}) ::close(fd);
}

TEST_F(CliTest, TenantCreateWorksWhileTheServerRuns) {
  PactumProcess p;
  Serve(p);
  auto created = RunPactum({"tenant", "create", "acme", "--admin-email", "admin@example.com",
                            "--data", Data(), "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto j = nlohmann::json::parse(created.out);
  EXPECT_EQ(j["tenant"], "acme");
  EXPECT_TRUE(j["id"].is_number());
  auto dup = RunPactum(
      {"tenant", "create", "acme", "--admin-email", "admin@example.com", "--data", Data()});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_EQ(Lines(dup.err), 1U);
  EXPECT_NE(dup.err.find("already exists"), std::string::npos) << dup.err;
  auto bad = RunPactum(
      {"tenant", "create", "Bad_Slug", "--admin-email", "admin@example.com", "--data", Data()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(Lines(bad.err), 1U);
  // A look-alike admin address (a Cyrillic "а") is refused with the reason, on one line.
  auto lookalike = RunPactum(
      {"tenant", "create", "globex", "--admin-email", "\u0430dmin@example.com", "--data", Data()});
  EXPECT_EQ(lookalike.exit_code, 2);
  EXPECT_EQ(Lines(lookalike.err), 1U);
  EXPECT_NE(lookalike.err.find("mixes Cyrillic and Latin"), std::string::npos) << lookalike.err;
  auto list = RunPactum({"tenant", "list", "--data", Data(), "--json"});
  EXPECT_EQ(nlohmann::json::parse(list.out)["tenants"][0]["tenant"], "acme");
  // PACTUM_DATA_DIR works like --data.
  auto via_env = RunPactum({"tenant", "list", "--json"}, {{"PACTUM_DATA_DIR", Data()}});
  EXPECT_EQ(nlohmann::json::parse(via_env.out)["tenants"].size(), 2U) << "acme and default";
}

TEST_F(CliTest, TenantCreateMakesTheFirstAdminWithAOneTimePassword) {
  auto r = RunPactum(
      {"tenant", "create", "acme", "--admin-email", "Ann@Example.com", "--data", Data(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["tenant"], "acme");
  EXPECT_EQ(j["admin_email"], "Ann@Example.com");
  const std::string password = j["one_time_password"];
  EXPECT_GE(password.size(), 12U);
  // The same address in another case is the same user: refused, and the tenant with it.
  r = RunPactum({"tenant", "create", "acme", "--admin-email", "ann@example.com", "--data", Data()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  // Bad or missing addresses are usage errors.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"tenant", "create", "beta", "--data", Data()},
           {"tenant", "create", "beta", "--admin-email", "not-an-address", "--data", Data()}}) {
    r = RunPactum(args);
    EXPECT_EQ(r.exit_code, 2) << args.size();
    EXPECT_EQ(Lines(r.err), 1U) << r.err;
  }
  auto list = RunPactum({"tenant", "list", "--data", Data(), "--json"});
  EXPECT_EQ(nlohmann::json::parse(list.out)["tenants"].size(), 1U) << "no half-made tenant";
}

TEST_F(CliTest, TenantSettingsLetTheOperatorReopenALockedTenant) {
  ASSERT_EQ(
      RunPactum({"tenant", "create", "acme", "--admin-email", "ann@example.com", "--data", Data()})
          .exit_code,
      0);
  auto shown = RunPactum({"tenant", "settings", "acme", "--data", Data(), "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  auto j = nlohmann::json::parse(shown.out);
  EXPECT_EQ(j["tenant"], "acme");
  EXPECT_EQ(j["require_2fa"], false);
  EXPECT_EQ(j["session_minutes"], 60);
  auto set =
      RunPactum({"tenant", "settings", "acme", "--ip-allowlist", "10.0.0.0/8", "--ip-allowlist",
                 "2001:db8::1", "--require-2fa", "on", "--data", Data(), "--json"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  j = nlohmann::json::parse(set.out);
  EXPECT_EQ(j["ip_allowlist"], nlohmann::json::array({"10.0.0.0/8", "2001:db8::1/128"}));
  EXPECT_EQ(j["require_2fa"], true);
  // Stored: a new process reads them back.
  j = nlohmann::json::parse(
      RunPactum({"tenant", "settings", "acme", "--data", Data(), "--json"}).out);
  EXPECT_EQ(j["ip_allowlist"].size(), 2U);
  auto cleared = RunPactum({"tenant", "settings", "acme", "--clear-ip-allowlist", "--require-2fa",
                            "off", "--data", Data(), "--json"});
  ASSERT_EQ(cleared.exit_code, 0) << cleared.err;
  j = nlohmann::json::parse(cleared.out);
  EXPECT_EQ(j["ip_allowlist"], nlohmann::json::array());
  EXPECT_EQ(j["require_2fa"], false);
  // Bad input: one line, nothing changed.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"tenant", "settings", "acme", "--ip-allowlist", "nope", "--data", Data()},
           {"tenant", "settings", "acme", "--require-2fa", "maybe", "--data", Data()},
           {"tenant", "settings", "acme", "--ip-allowlist", "10.0.0.0/8", "--clear-ip-allowlist",
            "--data", Data()}}) {
    auto r = RunPactum(args);
    EXPECT_EQ(r.exit_code, 2) << args[3];
    EXPECT_EQ(Lines(r.err), 1U) << r.err;
  }
  auto missing = RunPactum({"tenant", "settings", "nope", "--data", Data()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(Lines(missing.err), 1U) << missing.err;
  j = nlohmann::json::parse(
      RunPactum({"tenant", "settings", "acme", "--data", Data(), "--json"}).out);
  EXPECT_EQ(j["ip_allowlist"], nlohmann::json::array());
  // A lost second factor: the operator turns it off for one user.
  auto reset = RunPactum(
      {"tenant", "reset-2fa", "acme", "--email", "ANN@example.com", "--data", Data(), "--json"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_EQ(nlohmann::json::parse(reset.out)["two_factor_enabled"], false);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"tenant", "reset-2fa", "acme", "--email", "nobody@example.com", "--data", Data()},
           {"tenant", "reset-2fa", "nope", "--email", "ann@example.com", "--data", Data()}}) {
    auto r = RunPactum(args);
    EXPECT_EQ(r.exit_code, 1) << args[2];
    EXPECT_EQ(Lines(r.err), 1U) << r.err;
  }
}

TEST_F(CliTest, TheFirstStartCreatesTheDefaultTenantAndTellsWhereThePasswordIs) {
  PactumProcess p;
  const std::string url = Serve(p);
  const std::string file = Data() + "/initial-admin-password";
  ASSERT_TRUE(std::filesystem::exists(file));
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  std::ifstream in(file);
  std::string password;
  std::getline(in, password);
  EXPECT_GE(password.size(), 12U);
  EXPECT_NE(p.Stdout().find(file), std::string::npos) << p.Stdout();
  EXPECT_NE(p.Stdout().find("admin@localhost"), std::string::npos) << p.Stdout();
  EXPECT_EQ(p.Stdout().find(password), std::string::npos) << "the password only in the file";
  EXPECT_EQ(p.Stderr().find(password), std::string::npos) << "and never in the log";
  // It logs in, and must be changed first.
  HttpRequest login;
  login.method = "POST";
  login.url = url + "/api/v1/auth/login";
  login.ca_file = Data() + "/tls/cert.pem";
  login.headers = {"Content-Type: application/json"};
  login.body =
      nlohmann::json{{"tenant", "default"}, {"email", "admin@localhost"}, {"password", password}}
          .dump();
  auto r = Perform(login);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["password_change_required"], true);
  p.Signal(SIGTERM);
  ASSERT_EQ(p.Wait(), 0);
  // A second start creates nothing and leaves the file as it was.
  PactumProcess again;
  Serve(again);
  EXPECT_EQ(again.Stdout().find("First start"), std::string::npos) << again.Stdout();
  std::ifstream in2(file);
  std::string same;
  std::getline(in2, same);
  EXPECT_EQ(same, password);
  auto list = RunPactum({"tenant", "list", "--data", Data(), "--json"});
  EXPECT_EQ(nlohmann::json::parse(list.out)["tenants"].size(), 1U);
  EXPECT_EQ(nlohmann::json::parse(list.out)["tenants"][0]["tenant"], "default");
}

TEST_F(CliTest, TheInitialPasswordFileGoesOnceTheAdminChoseAPassword) {
  PactumProcess p;
  const std::string url = Serve(p);
  const std::string file = Data() + "/initial-admin-password";
  std::string password;
  std::getline(std::ifstream(file), password);
  ASSERT_GE(password.size(), 12U);
  auto call = [&](const std::string& path, const nlohmann::json& body,
                  std::vector<std::string> headers) {
    HttpRequest r;
    r.method = "POST";
    r.url = url + path;
    r.ca_file = Data() + "/tls/cert.pem";
    r.headers = std::move(headers);
    r.headers.push_back("Content-Type: application/json");
    r.body = body.dump();
    return Perform(r);
  };
  auto login =
      call("/api/v1/auth/login",
           {{"tenant", "default"}, {"email", "admin@localhost"}, {"password", password}}, {});
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string cookie =
      login.headers["set-cookie"].substr(0, login.headers["set-cookie"].find(';'));
  const std::vector<std::string> session = {
      "Cookie: " + cookie,
      "X-CSRF-Token: " + nlohmann::json::parse(login.body)["csrf_token"].get<std::string>()};
  // A refused change keeps it: the one-time password is still the only one.
  const std::string chosen = "a long and private passphrase";
  EXPECT_EQ(
      call("/api/v1/me/password", {{"current", "not it at all"}, {"new", chosen}}, session).status,
      403);
  EXPECT_TRUE(std::filesystem::exists(file));
  ASSERT_EQ(call("/api/v1/me/password", {{"current", password}, {"new", chosen}}, session).status,
            204);
  EXPECT_FALSE(std::filesystem::exists(file)) << "a stale secret left on disk";
  p.Signal(SIGTERM);
  ASSERT_EQ(p.Wait(), 0);
  EXPECT_NE(p.Stderr().find("deleted the initial admin's one-time password file"),
            std::string::npos)
      << p.Stderr();
  EXPECT_EQ(p.Stderr().find(password), std::string::npos) << "never in the log";
  // A copy put back (or one left by a crash before the removal) goes at the next start,
  // and nothing makes a new one.
  ASSERT_TRUE(WriteFileAtomic(file, password + "\n", 0600).ok());
  PactumProcess again;
  Serve(again);
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_EQ(again.Stdout().find("First start"), std::string::npos) << again.Stdout();
}

TEST_F(CliTest, MasterKeyProblemsRefuseToStartWithOneLine) {
  ASSERT_EQ(RunPactum({"tenant", "list", "--data", Data()}).exit_code, 0);  // first start
  const std::string key = Data() + "/master.key";
  // Readable by others.
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  auto r = RunPactum({"serve", "--data", Data(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  // Another environment: a staging process refuses dev's keys and data.
  r = RunPactum({"serve", "--data", Data(), "--listen", "127.0.0.1:0"},
                {{"PACTUM_ENVIRONMENT", "staging"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("'dev'"), std::string::npos) << r.err;
  // A staging process with its own (injected) key pointed at dev's data directory.
  r = RunPactum({"tenant", "list", "--data", Data()},
                {{"PACTUM_ENVIRONMENT", "staging"},
                 {"PACTUM_MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("pactum.db-key belongs to environment 'dev'"), std::string::npos) << r.err;
  // Missing beside an existing database: never silently replaced by a new key.
  ASSERT_EQ(::rename(key.c_str(), (key + ".away").c_str()), 0);
  r = RunPactum({"tenant", "list", "--data", Data()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(key));
  ASSERT_EQ(::rename((key + ".away").c_str(), key.c_str()), 0);
  // A wrong master key: a valid key file, but not the one the data was wrapped with.
  const std::string other = dir_.File("other");
  ASSERT_EQ(RunPactum({"tenant", "list", "--data", other}).exit_code, 0);
  std::filesystem::copy_file(key, key + ".right");
  std::filesystem::copy_file(other + "/master.key", key,
                             std::filesystem::copy_options::overwrite_existing);
  r = RunPactum({"serve", "--data", Data(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("does not open"), std::string::npos) << r.err;
  std::filesystem::rename(key + ".right", key);
  // The database key file missing beside the database.
  const std::string db_key = Data() + "/pactum.db-key";
  std::filesystem::rename(db_key, db_key + ".away");
  r = RunPactum({"tenant", "list", "--data", Data()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("pactum.db-key is missing"), std::string::npos) << r.err;
  std::filesystem::rename(db_key + ".away", db_key);
  EXPECT_EQ(RunPactum({"tenant", "list", "--data", Data()}).exit_code, 0) << "all restored";
  // A malformed injected key.
  r = RunPactum({"tenant", "list", "--data", dir_.File("fresh")},
                {{"PACTUM_MASTER_KEY", "not-base64"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_EQ(r.err.find("not-base64"), std::string::npos) << "the secret must not be echoed";
}

// The "master key inside the data directory" warnings among the JSON lines of `err`.
std::vector<nlohmann::json> MasterKeyWarnings(const std::string& err) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(err);
  std::string line;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("msg", "").find("master key file lies inside the data "
                                                     "directory") != std::string::npos) {
      out.push_back(std::move(j));
    }
  }
  return out;
}

TEST_F(CliTest, ServeWarnsAtEveryStartWhileTheMasterKeyLiesInTheDataDirectory) {
  for (int start = 0; start < 2; ++start) {
    PactumProcess p;
    Serve(p);
    p.Signal(SIGTERM);
    ASSERT_EQ(p.Wait(), 0);
    const auto warnings = MasterKeyWarnings(p.Stderr());
    ASSERT_EQ(warnings.size(), 1U) << "start " << start << ": " << p.Stderr();
    EXPECT_EQ(warnings[0]["level"], "warning");
    EXPECT_EQ(warnings[0]["master_key_file"], Data() + "/master.key");
    const std::string msg = warnings[0]["msg"];
    EXPECT_NE(msg.find("every copy or backup"), std::string::npos) << "why";
    EXPECT_NE(msg.find("PACTUM_MASTER_KEY_FILE"), std::string::npos) << "how";
    EXPECT_NE(msg.find("docs/operations.md"), std::string::npos) << "where the steps are";
    EXPECT_EQ(msg.find("kek "), std::string::npos);
  }
  // One-shot commands keep their stderr for failures.
  EXPECT_EQ(RunPactum({"tenant", "list", "--data", Data()}).err, "");
  // Moved out as docs/operations.md says: the same data opens, and no warning.
  const std::string keys = dir_.File("keys");
  ASSERT_EQ(::mkdir(keys.c_str(), 0700), 0);
  ASSERT_EQ(::rename((Data() + "/master.key").c_str(), (keys + "/master.key").c_str()), 0);
  PactumProcess moved;
  ::unlink(dir_.File("ready").c_str());
  ASSERT_TRUE(moved.Start(
      {"serve", "--data", Data(), "--listen", "127.0.0.1:0", "--ready-file", dir_.File("ready")},
      {{"PACTUM_MASTER_KEY_FILE", keys + "/master.key"}}, dir_.path()));
  ASSERT_FALSE(moved.WaitReady(dir_.File("ready")).empty()) << moved.Stderr();
  moved.Signal(SIGTERM);
  ASSERT_EQ(moved.Wait(), 0);
  EXPECT_TRUE(MasterKeyWarnings(moved.Stderr()).empty()) << moved.Stderr();
  // Named explicitly but still inside (through a path with ".."): still a warning.
  PactumProcess inside;
  ::unlink(dir_.File("ready").c_str());
  ASSERT_EQ(::rename((keys + "/master.key").c_str(), (Data() + "/kek").c_str()), 0);
  ASSERT_TRUE(inside.Start(
      {"serve", "--data", Data(), "--listen", "127.0.0.1:0", "--ready-file", dir_.File("ready")},
      {{"PACTUM_MASTER_KEY_FILE", keys + "/../data/kek"}}, dir_.path()));
  ASSERT_FALSE(inside.WaitReady(dir_.File("ready")).empty()) << inside.Stderr();
  inside.Signal(SIGTERM);
  ASSERT_EQ(inside.Wait(), 0);
  EXPECT_EQ(MasterKeyWarnings(inside.Stderr()).size(), 1U) << inside.Stderr();
}

TEST_F(CliTest, ServeDoesNotWarnAboutAnInjectedMasterKey) {
  PactumProcess p;
  Serve(p, {{"PACTUM_MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}});
  p.Signal(SIGTERM);
  ASSERT_EQ(p.Wait(), 0);
  EXPECT_TRUE(MasterKeyWarnings(p.Stderr()).empty()) << p.Stderr();
}

TEST_F(CliTest, AnInjectedMasterKeyNeedsNoKeyFile) {
  auto r = RunPactum(
      {"tenant", "create", "acme", "--admin-email", "admin@example.com", "--data", Data()},
      {{"PACTUM_MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(Data() + "/master.key"));
}

std::string KekLines(const std::string& key_file) {
  std::ifstream in(key_file);
  std::string line;
  std::string out;
  while (std::getline(in, line)) {
    if (line.starts_with("kek ")) out += line.substr(0, line.find(' ', 4)) + ";";
  }
  return out;
}

TEST_F(CliTest, KeysRotateTwiceAndEverythingStillOpensButNotWithTheOldMasterKey) {
  ASSERT_EQ(RunPactum({"tenant", "create", "acme", "--admin-email", "admin@example.com", "--data",
                       Data()})
                .exit_code,
            0);
  ASSERT_EQ(RunPactum({"tenant", "create", "globex", "--admin-email", "admin@example.com", "--data",
                       Data()})
                .exit_code,
            0);
  const std::string key = Data() + "/master.key";
  const std::string old_key = dir_.File("old.key");
  std::filesystem::copy_file(key, old_key);
  auto r = RunPactum({"keys", "rotate", "--data", Data(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["master_key_version"], 2);
  EXPECT_EQ(j["tenant_keys_rewrapped"], 2);
  EXPECT_EQ(j["tenant_key_versions_started"], 2);
  r = RunPactum({"keys", "rotate", "--data", Data(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["master_key_version"], 3);
  EXPECT_EQ(j["tenant_keys_rewrapped"], 4);
  EXPECT_EQ(KekLines(key), "kek 3;") << "older master key versions are retired";
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  // A new process: every key opens and every tenant is there.
  r = RunPactum({"keys", "check", "--data", Data(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["tenant_key_versions"], 6);
  r = RunPactum({"tenant", "list", "--data", Data(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["tenants"].size(), 2U);
  // The old master key alone no longer opens anything: neither as it was ...
  std::filesystem::copy_file(key, key + ".new");
  std::filesystem::copy_file(old_key, key, std::filesystem::copy_options::overwrite_existing);
  r = RunPactum({"keys", "check", "--data", Data()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("no longer holds"), std::string::npos) << r.err;
  // ... nor presented as the current version.
  std::ifstream in(old_key);
  std::string header;
  std::string kek;
  std::getline(in, header);
  std::getline(in, kek);
  ASSERT_TRUE(
      WriteFileAtomic(key, header + "\nkek 3" + kek.substr(kek.rfind(' ')) + "\n", 0600).ok());
  r = RunPactum({"keys", "check", "--data", Data()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("does not open"), std::string::npos) << r.err;
  std::filesystem::rename(key + ".new", key);
  EXPECT_EQ(RunPactum({"keys", "check", "--data", Data()}).exit_code, 0);
}

TEST_F(CliTest, NothingTheCommandsStoreLiesInClearInTheDataDirectory) {
  const std::string marker = "pctmark-" + std::to_string(::getpid()) + "-zq";
  PactumProcess p;
  Serve(p);
  ASSERT_EQ(RunPactum({"tenant", "create", marker, "--admin-email", "admin@example.com", "--data",
                       Data()})
                .exit_code,
            0);
  // The data directory and the backups beside it (snapshots, change log, the spool).
  auto scan = [&] {
    std::vector<std::string> found;
    for (const std::string& root : {Data(), dir_.File("pactum-backups")}) {
      if (!std::filesystem::exists(root)) continue;
      for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
        if (bytes.find(marker) != std::string::npos) found.push_back(e.path().string());
      }
    }
    return found;
  };
  EXPECT_EQ(scan(), std::vector<std::string>{}) << "while the server runs (WAL live)";
  p.Signal(SIGTERM);
  ASSERT_EQ(p.Wait(), 0);
  // Backups keep the WAL for the change log (encrypted like the database file).
  EXPECT_TRUE(std::filesystem::exists(Data() + "/pactum.db-wal"));
  EXPECT_TRUE(std::filesystem::exists(dir_.File("pactum-backups/site-b")));
  EXPECT_EQ(scan(), std::vector<std::string>{}) << "after shutdown";
  auto list = RunPactum({"tenant", "list", "--data", Data()});
  EXPECT_NE(list.out.find(marker), std::string::npos) << "and it is really stored";
}

TEST_F(CliTest, ConcurrentFirstStartsAgreeOnOneSetOfKeys) {
  std::vector<CommandResult> results(4);
  std::vector<std::thread> threads;
  threads.reserve(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] = RunPactum({"tenant", "create", "t" + std::to_string(i), "--admin-email",
                              "admin@example.com", "--data", Data()});
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r.exit_code, 0) << r.err;
  auto check = RunPactum({"keys", "check", "--data", Data(), "--json"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(nlohmann::json::parse(check.out)["tenant_key_versions"], 4);
  // The four processes extended one platform audit chain, one after another.
  auto verify = RunPactum({"audit", "verify", "--data", Data(), "--json"});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(nlohmann::json::parse(verify.out)["chains"][0]["events"], 4);
}

TEST_F(CliTest, KeysRotateRefusesWhileTheServerRuns) {
  PactumProcess p;
  Serve(p);
  auto r = RunPactum({"keys", "rotate", "--data", Data()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("stop the server first"), std::string::npos) << r.err;
  EXPECT_EQ(KekLines(Data() + "/master.key"), "kek 1;");
  // An injected master key cannot be rotated from here.
  r = RunPactum({"keys", "rotate", "--data", dir_.File("injected")},
                {{"PACTUM_MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("PACTUM_MASTER_KEY"), std::string::npos) << r.err;
}

TEST_F(CliTest, AnUnencryptedOrAlteredDatabaseIsRefusedWithOneLine) {
  // Without backups SQLite folds the WAL into the file at close: the pages flipped below
  // are the ones read.
  ASSERT_EQ(RunPactum({"tenant", "create", "acme", "--admin-email", "admin@example.com", "--data",
                       Data()},
                      {{"PACTUM_BACKUP_MODE", "off"}})
                .exit_code,
            0);
  const std::string db_path = Data() + "/pactum.db";
  ASSERT_FALSE(std::filesystem::exists(db_path + "-wal")) << "closed cleanly, WAL folded in";
  // A flipped byte in a page: a corruption error, not a crash and not wrong data.
  {
    std::fstream f(db_path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 100);
    char c = 0;
    f.read(&c, 1);
    f.seekp(4096 + 100);
    c = static_cast<char>(c ^ 0x01);
    f.write(&c, 1);
  }
  auto r = RunPactum({"tenant", "list", "--data", Data()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("corrupt"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("acme"), std::string::npos);
  // A plain SQLite file in its place: there is no plaintext mode.
  std::filesystem::remove(db_path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE tenants(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  r = RunPactum({"serve", "--data", Data(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1U) << r.err;
  EXPECT_NE(r.err.find("unencrypted"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pactum
