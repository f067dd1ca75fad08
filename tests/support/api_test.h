#pragma once

// A real HTTPS server with the API routes (auth, settings, contracts, custom fields,
// documents) over an encrypted database, two tenants ("acme" with admin Ann, "globex" with
// admin Gus) and a fake clock, for the API integration tests.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "crypto/local_key_provider.h"
#include "crypto/otp.h"
#include "store/sqlite_database.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fault_audit_sink.h"
#include "tests/support/fault_database.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/https_client.h"
#include "tests/support/recording_audit_sink.h"
#include "tests/support/test_keys.h"
#include "tests/support/test_server.h"

namespace pactum::testing_support {

class ApiTest : public ::testing::Test {
 protected:
  // The server stops before the services it calls (and the request log) go away.
  ~ApiTest() override { srv_.Stop(); }

  void SetUp() override {
    store::SqliteOptions o;
    o.path = srv_.dir.File("p.db");
    o.key = RandomKey();
    db_ = std::move(store::OpenSqliteDatabase(o)).value();
    provider_ =
        std::move(crypto::LocalKeyProvider::Create(srv_.dir.File("master.key"), "dev")).value();
    srv_.config.server.metrics_allowlist = {"127.0.0.1/32"};
    srv_.config.backup.mode = "off";  // the backup tests have their own rigs
    Configure(srv_.config);
    // The request and api streams go through a database handle a test can make fail;
    // batches are written only when a test calls FlushRequests().
    request_db_ = std::make_unique<FaultDatabase>(*db_);
    auto built = app::App::Build(
        srv_.config,
        {.db = db_.get(),
         .keys = provider_.get(),
         .clock = &clock_,
         .files = &files_,
         .router = &srv_.router,
         .metrics = &srv_.metrics,
         .request_db = request_db_.get(),
         .wrap_audit =
             [this](audit::AuditSink& log) {
               auto sink = std::make_unique<FaultAuditSink>(log);
               audit_ = sink.get();
               return sink;
             }},
        std::move(audit::OpenAuditSigner(srv_.dir.path(), *provider_, true)).value(),
        {.record_requests = RecordsRequests(),
         .recorder = {.interval = std::chrono::hours(1)},
         .endpoints = {.strict = true}});
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    app_ = std::move(built).value();
    keys_ = &app_->tenant_keys();
    signer_ = &app_->signer();
    audit_log_ = &app_->audit_log();
    checkpoints_ = &app_->checkpoint_file();
    tenants_ = &app_->tenants();
    users_ = &app_->users();
    settings_ = &app_->settings();
    sessions_ = &app_->sessions();
    throttle_ = &app_->throttle();
    tokens_ = &app_->tokens();
    two_factor_ = &app_->two_factor();
    contracts_ = &app_->contracts();
    custom_fields_ = &app_->custom_fields();
    blobs_ = &app_->blobs();
    documents_ = &app_->documents();
    endpoints_ = &app_->endpoints();
    request_log_ = app_->request_log();
    recorder_ = app_->recorder();
    request_audit_ = app_->request_observer();
    srv_.observer = request_audit_;

    const int64_t acme = tenants_->Create("acme")->id;
    auto ann = users_->Create(testing_support::TestActor(), acme, "ann@example.com", "Ann",
                              auth::Role::kAdmin);
    ann_id_ = ann->first.id;
    ann_otp_ = ann->second;
    const int64_t globex = tenants_->Create("globex")->id;
    ASSERT_TRUE(users_
                    ->Create(testing_support::TestActor(), globex, "gus@example.com", "Gus",
                             auth::Role::kAdmin)
                    .ok());
    srv_.Start();
  }

  // Lets a derived fixture change the server's configuration before it starts.
  virtual void Configure(config::Config& /*config*/) {}
  // Lets a derived fixture record the request and api streams (request_audit_).
  virtual bool RecordsRequests() const { return false; }
  // With RecordsRequests(): writes the events of every request answered so far.
  Status FlushRequests() {
    if (!srv_.AwaitNoConnections()) return Unavailable("connections stay open");
    return recorder_->Flush();
  }

  // The TOTP code for a base32 secret at the fake clock's time (offset in 30 s steps).
  std::string Totp(const std::string& secret, int steps = 0) const {
    const auto key = crypto::Base32Decode(secret).value();
    const int64_t step = UnixSeconds(clock_.Now()) / 30 + steps;
    return crypto::FormatOtp(crypto::Hotp(key, static_cast<uint64_t>(step), 6), 6);
  }

  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = "", std::vector<std::string> headers = {}) {
    HttpRequest r;
    r.method = method;
    r.url = srv_.Url(path);
    r.body = body;
    r.headers = std::move(headers);
    if (!body.empty()) r.headers.push_back("Content-Type: application/json");
    r.ca_file = srv_.ca_file;
    return Perform(r);
  }

  // Uploads `content` as a document of `contract`, as `as`.
  HttpResponse Upload(const std::vector<std::string>& as, int64_t contract,
                      const std::string& content, const std::string& filename = "terms.txt") {
    HttpRequest r;
    r.method = "POST";
    r.url = srv_.Url("/api/v1/contracts/" + std::to_string(contract) + "/documents");
    r.headers = as;
    r.headers.push_back("Content-Type: application/octet-stream");
    r.headers.push_back("X-Filename: " + filename);
    r.body = content;
    r.ca_file = srv_.ca_file;
    return Perform(r);
  }

  // The URL path of a download link for document `id`, made by `as`.
  std::string LinkPath(const std::vector<std::string>& as, int64_t id) {
    auto r = Call("POST", "/api/v1/documents/" + std::to_string(id) + "/link", "", as);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return "/files/none";
    const std::string url = nlohmann::json::parse(r.body)["url"];
    return url.substr(url.find("/files/"));
  }

  struct Login {
    HttpResponse response;
    std::string cookie;  // "name=value"
    std::string csrf;
  };
  Login LogIn(const std::string& tenant, const std::string& email, const std::string& password) {
    Login l;
    l.response =
        Call("POST", "/api/v1/auth/login",
             nlohmann::json{{"tenant", tenant}, {"email", email}, {"password", password}}.dump());
    const auto it = l.response.headers.find("set-cookie");
    const std::string set = it == l.response.headers.end() ? "" : it->second;
    l.cookie = set.substr(0, set.find(';'));
    if (l.response.status == 200) {
      l.csrf = nlohmann::json::parse(l.response.body).value("csrf_token", "");
    }
    return l;
  }
  // Logs Ann in and replaces her one-time password.
  Login Ready() {
    Login l = LogIn("acme", "ann@example.com", ann_otp_);
    EXPECT_EQ(Call("POST", "/api/v1/me/password",
                   nlohmann::json{{"current", ann_otp_}, {"new", kNewPassword}}.dump(),
                   {"Cookie: " + l.cookie, "X-CSRF-Token: " + l.csrf})
                  .status,
              204);
    return l;
  }

  // Logs in `email` of `tenant` (created with `role` and kNewPassword when new); returns
  // the session headers (cookie and CSRF token).
  std::vector<std::string> As(const std::string& tenant, const std::string& email,
                              auth::Role role) {
    const int64_t t = tenants_->FindBySlug(tenant)->id;
    auto u = users_->FindByEmail(t, email);
    if (!u.ok()) {
      auto made = users_->Create(testing_support::TestActor(), t, email, email, role);
      EXPECT_TRUE(made.ok());
      EXPECT_TRUE(
          users_->SetPassword(testing_support::TestActor(), made->first.id, kNewPassword).ok());
      ids_[email] = made->first.id;
    }
    Login l = LogIn(tenant, email, kNewPassword);
    EXPECT_EQ(l.response.status, 200) << email << ": " << l.response.body;
    return {"Cookie: " + l.cookie, "X-CSRF-Token: " + l.csrf};
  }

  static constexpr const char* kNewPassword = "a long and private passphrase";
  std::map<std::string, int64_t> ids_;  // users made by As()
  TestServer srv_;
  FakeClock clock_;
  FaultFileSystem files_{LocalFileSystem()};  // the blob store's and checkpoints' disk
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<crypto::LocalKeyProvider> provider_;
  std::unique_ptr<FaultDatabase> request_db_;  // the request streams' database handle
  std::unique_ptr<app::App> app_;              // the service graph `pactum serve` builds
  // Parts of app_, by name.
  tenant::TenantKeys* keys_ = nullptr;
  audit::AuditSigner* signer_ = nullptr;
  audit::SqlAuditLog* audit_log_ = nullptr;
  FaultAuditSink* audit_ = nullptr;  // what the services write to; can be made to fail
  audit::CheckpointFile* checkpoints_ = nullptr;
  tenant::TenantService* tenants_ = nullptr;
  auth::UserService* users_ = nullptr;
  tenant::SettingsService* settings_ = nullptr;
  auth::SessionService* sessions_ = nullptr;
  auth::LoginThrottle* throttle_ = nullptr;
  auth::TokenService* tokens_ = nullptr;
  auth::TwoFactorService* two_factor_ = nullptr;
  contract::ContractService* contracts_ = nullptr;
  contract::CustomFieldService* custom_fields_ = nullptr;
  blob::LocalBlobStore* blobs_ = nullptr;
  document::DocumentService* documents_ = nullptr;
  api::EndpointTable* endpoints_ = nullptr;  // strict: handlers held to declarations
  int64_t ann_id_ = 0;
  std::string ann_otp_;
  // With RecordsRequests() only.
  audit::SqlAuditLog* request_log_ = nullptr;
  audit::RequestRecorder* recorder_ = nullptr;
  http::RequestObserver* request_audit_ = nullptr;
};

}  // namespace pactum::testing_support
