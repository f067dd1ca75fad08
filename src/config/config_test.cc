#include "config/config.h"

#include <functional>

#include <gtest/gtest.h>

namespace pactum::config {
namespace {

TEST(Config, DefaultsAreValidAndEmbedded) {
  Config c;
  EXPECT_TRUE(Validate(c).ok());
  EXPECT_EQ(c.data_dir, "./pactum-data");
  EXPECT_EQ(c.server.listen, "127.0.0.1:8443");
  EXPECT_EQ(c.limits.max_header_bytes, 16 * 1024);
  EXPECT_EQ(c.environment, "dev");
}

TEST(Config, TomlOverridesDefaults) {
  Config c;
  ASSERT_TRUE(ApplyToml(R"(
data_dir = "/srv/pactum"
[server]
listen = "[::1]:9443"
metrics_allowlist = ["10.0.0.0/8"]
[limits]
max_header_bytes = 8192
)",
                        "test.toml", c)
                  .ok());
  EXPECT_EQ(c.data_dir, "/srv/pactum");
  EXPECT_EQ(c.server.listen, "[::1]:9443");
  EXPECT_EQ(c.server.metrics_allowlist, std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_EQ(c.limits.max_header_bytes, 8192);
  EXPECT_TRUE(Validate(c).ok());
}

TEST(Config, UnknownKeyIsNamed) {
  Config c;
  Status s = ApplyToml("[server]\nlisten_port = 1\n", "f.toml", c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("server.listen_port"), std::string::npos) << s.message();
}

TEST(Config, WrongTypeIsNamed) {
  Config c;
  Status s = ApplyToml("[limits]\nmax_header_bytes = \"big\"\n", "f.toml", c);
  EXPECT_NE(s.message().find("limits.max_header_bytes"), std::string::npos) << s.message();
}

TEST(Config, SyntaxErrorNamesFileAndLine) {
  Config c;
  Status s = ApplyToml("a = 1\n[server\n", "f.toml", c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("f.toml:2"), std::string::npos) << s.message();
}

TEST(Config, EnvironmentOverridesFileAndAliasesWork) {
  Config c;
  ASSERT_TRUE(ApplyToml("[server]\nlisten = \"127.0.0.1:1\"\n", "f", c).ok());
  ASSERT_TRUE(ApplyEnvironment({{"PACTUM_LISTEN", "127.0.0.1:2"},
                                {"PACTUM_DATA_DIR", "/d"},
                                {"PACTUM_LIMITS_IDLE_TIMEOUT_MS", "1234"},
                                {"PACTUM_SERVER_METRICS_ALLOWLIST", "10.0.0.0/8,::1"}},
                               c)
                  .ok());
  EXPECT_EQ(c.server.listen, "127.0.0.1:2");
  EXPECT_EQ(c.data_dir, "/d");
  EXPECT_EQ(c.limits.idle_timeout_ms, 1234);
  EXPECT_EQ(c.server.metrics_allowlist, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
}

TEST(Config, TrustedProxiesDefaultToNoneAndComeFromFileOrEnvironment) {
  Config c;
  EXPECT_TRUE(c.server.trusted_proxies.empty());
  ASSERT_TRUE(
      ApplyToml("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"fd00::/8\"]\n", "f", c).ok());
  EXPECT_EQ(c.server.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "fd00::/8"}));
  EXPECT_TRUE(Validate(c).ok());
  ASSERT_TRUE(ApplyEnvironment({{"PACTUM_SERVER_TRUSTED_PROXIES", "127.0.0.1/32"}}, c).ok());
  EXPECT_EQ(c.server.trusted_proxies, std::vector<std::string>{"127.0.0.1/32"});
}

TEST(Config, BadEnvironmentIntegerIsNamed) {
  Config c;
  Status s = ApplyEnvironment({{"PACTUM_LIMITS_MAX_CONNECTIONS", "12abc"}}, c);
  EXPECT_NE(s.message().find("PACTUM_LIMITS_MAX_CONNECTIONS"), std::string::npos) << s.message();
}

TEST(Config, ValidateNamesTheBadKey) {
  struct Case {
    void (*mutate)(Config&);
    const char* key;
  };
  const Case cases[] = {
      {[](Config& c) { c.server.listen = "nonsense"; }, "server.listen"},
      {[](Config& c) { c.server.listen = "127.0.0.1:70000"; }, "server.listen"},
      {[](Config& c) { c.server.listen = "::1:8443"; }, "server.listen"},
      {[](Config& c) { c.environment = "production"; }, "environment"},
      {[](Config& c) { c.limits.max_header_bytes = 10; }, "limits.max_header_bytes"},
      {[](Config& c) { c.limits.max_connections = 0; }, "limits.max_connections"},
      {[](Config& c) { c.server.cpu_threads = -1; }, "server.cpu_threads"},
      {[](Config& c) { c.server.cpu_threads = 257; }, "server.cpu_threads"},
      {[](Config& c) { c.server.metrics_allowlist = {"10.0.0.0/99"}; }, "server.metrics_allowlist"},
      {[](Config& c) {
         c.server.trusted_proxies = {"10.0.0.0/8", "proxy.local"};
       },
       "server.trusted_proxies"},
      {[](Config& c) { c.server.trusted_proxies = {"10.0.0.0/33"}; }, "server.trusted_proxies"},
      {[](Config& c) { c.server.tls_cert_file = "/c.pem"; }, "server.tls_key_file"},
      {[](Config& c) { c.database.synchronous = "off"; }, "database.synchronous"},
      {[](Config& c) { c.database.cache_mib = 0; }, "database.cache_mib"},
      {[](Config& c) { c.auth.argon2_memory_mib = 18; }, "auth.argon2_memory_mib"},
      {[](Config& c) { c.auth.argon2_passes = 1; }, "auth.argon2_passes"},
      {[](Config& c) { c.log_level = "trace"; }, "log_level"},
      {[](Config& c) { c.server.public_url = "http://contracts.example.com"; },
       "server.public_url"},
      {[](Config& c) { c.server.public_url = "https://contracts.example.com/app"; },
       "server.public_url"},
      {[](Config& c) { c.server.allowed_hosts = {"alt.example.com:443"}; }, "server.allowed_hosts"},
      {[](Config& c) { c.server.allowed_hosts = {"*.example.com"}; }, "server.allowed_hosts"},
  };
  for (const auto& tc : cases) {
    Config c;
    tc.mutate(c);
    Status s = Validate(c);
    ASSERT_FALSE(s.ok()) << tc.key;
    EXPECT_TRUE(s.message().starts_with(std::string(tc.key) + ":")) << s.message();
  }
}

TEST(Config, PublicUrlAndAllowedHostsComeFromFileOrEnvironment) {
  Config c;
  EXPECT_TRUE(c.server.public_url.empty());
  EXPECT_TRUE(c.server.allowed_hosts.empty());
  ASSERT_TRUE(ApplyToml("[server]\npublic_url = \"https://contracts.example.com\"\n"
                        "allowed_hosts = [\"10.0.0.5\", \"[::1]\"]\n",
                        "f", c)
                  .ok());
  EXPECT_TRUE(Validate(c).ok());
  EXPECT_EQ(c.server.allowed_hosts, (std::vector<std::string>{"10.0.0.5", "[::1]"}));
  ASSERT_TRUE(
      ApplyEnvironment({{"PACTUM_SERVER_PUBLIC_URL", "https://other.example:8443"}}, c).ok());
  EXPECT_EQ(c.server.public_url, "https://other.example:8443");
  EXPECT_TRUE(Validate(c).ok());
}

TEST(Config, PublicUrlIsAnHttpsOriginAndNothingMore) {
  auto url = ParsePublicUrl("HTTPS://Contracts.Example.com:8443/");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->origin, "https://contracts.example.com:8443");
  EXPECT_EQ(url->host, "contracts.example.com");
  url = ParsePublicUrl("https://[::1]");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->origin, "https://[::1]");
  EXPECT_EQ(url->host, "[::1]");
  for (const char* bad :
       {"", "contracts.example.com", "http://contracts.example.com", "https://",
        "https://contracts.example.com/path", "https://contracts.example.com?x=1",
        "https://contracts.example.com#top", "https://user:pw@contracts.example.com",
        "https://contracts.example.com:0", "https://contracts.example.com:70000",
        "https://contracts example.com", "https://contracts.example.com//"}) {
    EXPECT_FALSE(ParsePublicUrl(bad).ok()) << bad;
  }
}

TEST(Config, ParseHostPortHandlesV6AndPortZero) {
  auto hp = ParseHostPort("[::1]:0");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 0);
  EXPECT_FALSE(ParseHostPort("127.0.0.1").ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:").ok());
  EXPECT_FALSE(ParseHostPort("example.com:443").ok());
}

TEST(Config, EveryKeyIsDescribedWithItsEnvironmentVariable) {
  const auto keys = DescribeKeys();
  EXPECT_GE(keys.size(), 20U);
  bool found = false;
  for (const auto& [k, v] : keys) {
    if (k == "limits.max_header_bytes (PACTUM_LIMITS_MAX_HEADER_BYTES)") {
      found = true;
      EXPECT_EQ(v, "16384");
    }
  }
  EXPECT_TRUE(found);
}

TEST(Config, BackupsAreOnByDefaultWithTwoTargetsBesideTheDataDirectory) {
  const Config c;
  EXPECT_EQ(c.backup.mode, "on");
  EXPECT_EQ(c.backup.targets, (std::vector<std::string>{"site-a", "site-b"}));
  EXPECT_TRUE(Validate(c).ok());
  EXPECT_EQ(BackupDirectory(c), "./pactum-backups");
  Config elsewhere;
  elsewhere.data_dir = "/srv/pactum/data/";
  EXPECT_EQ(BackupDirectory(elsewhere), "/srv/pactum/pactum-backups");
  auto env = Load("", {{"PACTUM_BACKUP_DIR", "/srv/pactum-backups"}});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->backup.dir, "/srv/pactum-backups");
}

TEST(Config, BackupSettingsThatCannotWorkAreRefusedByKey) {
  auto refused = [](const std::function<void(Config&)>& change) {
    Config c;
    c.data_dir = "/srv/pactum-data";
    c.backup.dir = "/srv/pactum-backups";
    change(c);
    const Status s = Validate(c);
    return s.ok() ? std::string() : s.message();
  };
  EXPECT_EQ(refused([](Config&) {}), "");
  EXPECT_NE(
      refused([](Config& c) { c.backup.dir = "/srv/pactum-data/backups"; }).find("backup.dir"),
      std::string::npos);
  EXPECT_NE(refused([](Config& c) { c.backup.dir = "/srv/pactum-data"; }).find("backup.dir"),
            std::string::npos);
  EXPECT_EQ(refused([](Config& c) { c.backup.dir = "/srv/pactum-data-backups"; }), "");
  EXPECT_NE(refused([](Config& c) {
              c.backup.targets = {"a", "a"};
            }).find("backup.targets"),
            std::string::npos);
  EXPECT_NE(refused([](Config& c) { c.backup.targets = {"../x"}; }).find("backup.targets"),
            std::string::npos);
  EXPECT_NE(refused([](Config& c) { c.backup.targets.clear(); }).find("backup.targets"),
            std::string::npos);
  EXPECT_NE(refused([](Config& c) { c.backup.daily_at = "24:00"; }).find("backup.daily_at"),
            std::string::npos);
  EXPECT_NE(refused([](Config& c) { c.backup.mode = "maybe"; }).find("backup.mode"),
            std::string::npos);
  EXPECT_EQ(ParseDailyAt("02:30").value(), 150);
  EXPECT_NE(refused([](Config& c) {
              c.backup.snapshot_after_bytes = 4096;
            }).find("backup.snapshot_after_bytes"),
            std::string::npos);
  EXPECT_NE(refused([](Config& c) {
              c.backup.snapshot_after_transactions = -1;
            }).find("backup.snapshot_after_transactions"),
            std::string::npos);
  EXPECT_EQ(refused([](Config& c) {
              c.backup.snapshot_after_bytes = 0;
              c.backup.snapshot_after_transactions = 0;
            }),
            "")
      << "0 turns them off";
}

}  // namespace
}  // namespace pactum::config
