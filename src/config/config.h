#pragma once

// Pactum's one typed configuration. Every field has its default next to it; a TOML file
// (--config), PACTUM_* environment variables and command-line flags override it, in that
// order. Validate() refuses bad values with a message naming the key.
//
// Keys in the file are "<section>.<field>" (top-level fields have no section); the
// environment variable of a key is PACTUM_ + the key upper-cased with '.' -> '_', e.g.
// server.listen -> PACTUM_SERVER_LISTEN. Two short aliases exist as DESIGN §6 promises:
// PACTUM_DATA_DIR (data_dir) and PACTUM_LISTEN (server.listen).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace pactum::config {

struct LimitsConfig {
  int64_t max_header_bytes = 16 * 1024LL;    // request line + headers
  int64_t max_body_bytes = 1024 * 1024LL;    // default for routes with buffered bodies
  int64_t max_upload_bytes = 1LL << 30;      // default for routes that stream bodies
  int64_t header_timeout_ms = 10'000;        // whole request head must arrive within this
  int64_t body_timeout_ms = 30'000;          // max pause between body bytes
  int64_t min_body_bytes_per_second = 1024;  // streamed bodies slower than this (averaged
                                             // after body_timeout_ms) are dropped
  int64_t idle_timeout_ms = 75'000;          // keep-alive wait for the next request
  int64_t write_timeout_ms = 30'000;         // max pause while sending a response
  int64_t max_connections = 10'000;          // open connections, all clients together
  int64_t max_connections_per_ip = 256;      // open connections from one address
  int64_t max_cpu_queue = 256;  // CPU-heavy requests (logins) queued or running; more: 503
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8443";  // HTTPS listener, HOST:PORT (port 0: any)
  std::string redirect_listen;            // optional plain-HTTP listener that only redirects
  // The origin clients use, "https://contracts.example.com[:port]": absolute links (download
  // links) and redirects are built from it, never from a request's Host. Empty: the listen
  // address, "https://<listen host>:<bound port>".
  std::string public_url;
  // Host names (or IP addresses) requests may address besides public_url's host. When
  // public_url is set or this is not empty, a request for any other host gets 421; when
  // neither is set, any well-formed Host is served.
  std::vector<std::string> allowed_hosts;
  std::string tls_cert_file;              // PEM chain; empty: self-signed in <data>/tls
  std::string tls_key_file;               // PEM private key; with tls_cert_file
  int64_t io_threads = 0;                 // 0: one per core
  int64_t worker_threads = 0;             // blocking work (database, disk); 0: 2 per core
  int64_t cpu_threads = 0;                // CPU-heavy handlers (password hashing), apart from the
                                          // workers; 0: half the cores, at least 1
  int64_t shutdown_deadline_ms = 30'000;  // in-flight requests get this long on SIGTERM
  std::vector<std::string> metrics_allowlist = {"127.0.0.1/32", "::1/128"};  // who may GET /metrics
  // Reverse proxies (CIDR networks) whose X-Forwarded-For names the client; empty: none,
  // the TCP peer is always the client.
  std::vector<std::string> trusted_proxies;
  std::string ready_file;  // written with the base URL once listening
};

struct DatabaseConfig {
  int64_t busy_timeout_ms = 5'000;   // wait for a lock held by another process
  int64_t read_connections = 4;      // pooled read-only connections
  int64_t cache_mib = 32;            // decrypted page cache per connection (upper bound)
  std::string synchronous = "full";  // SQLite synchronous: "full" or "normal"
};

struct AuthConfig {
  int64_t argon2_memory_mib = 19;  // argon2id memory per password hash (at least 19)
  int64_t argon2_passes = 2;       // argon2id passes (at least 2); raising either rehashes
                                   // each password at its next login
};

struct DocumentsConfig {
  // MIME types accepted for upload, as decided from the content (libmagic names).
  std::vector<std::string> allowed_types = {
      "application/pdf",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "application/vnd.oasis.opendocument.text",
      "image/png",
      "image/jpeg",
      "text/plain"};
  int64_t orphan_grace_minutes = 60;  // stored objects without a document row: removed after
};

struct BackupConfig {
  std::string mode = "on";  // on | off: snapshots and the change log (DESIGN §8)
  // Where the local targets live: one directory per target name under it. Beside the
  // data directory, never inside it; empty: "pactum-backups" next to the data directory
  // (./pactum-backups for the default ./pactum-data). Env PACTUM_BACKUP_DIR.
  std::string dir;
  std::vector<std::string> targets = {"site-a", "site-b"};  // every artefact goes to each
  int64_t interval_ms = 1000;                               // change-log shipping interval
  std::string daily_at = "02:00";  // UTC time of the daily full snapshot (HH:MM)
  // A snapshot also once the change log since the last one holds this many bytes of pages
  // or this many transactions, so a restore replays at most that much (0: off; the
  // defaults and the restore time they bound are in docs/operations.md).
  int64_t snapshot_after_bytes = 1LL << 30;
  int64_t snapshot_after_transactions = 100'000;
};

struct Config {
  std::string data_dir = "./pactum-data";  // database, keys, TLS material
  std::string environment = "dev";         // prod | staging | dev
  std::string master_key_file;             // empty: <data_dir>/master.key (PACTUM_MASTER_KEY
                                           // with a base64 key replaces the file)
  std::string log_level = "info";          // debug | info | warn | error
  ServerConfig server;
  LimitsConfig limits;
  DatabaseConfig database;
  AuthConfig auth;
  DocumentsConfig documents;
  BackupConfig backup;
};

// Applies a TOML document (text) onto `config`. Unknown keys and wrong types are errors
// naming the key. `origin` names the file in messages.
Status ApplyToml(std::string_view toml_text, std::string_view origin, Config& config);

// Applies PACTUM_* variables from `env` (name -> value) onto `config`.
Status ApplyEnvironment(const std::map<std::string, std::string>& env, Config& config);

// The process environment's PACTUM_* variables.
std::map<std::string, std::string> ProcessEnvironment();

// Checks every value; the first bad one is reported as "<key>: <reason>".
Status Validate(const Config& config);

// backup.dir, or its default next to the data directory.
std::string BackupDirectory(const Config& config);

// The backup section's checks (part of Validate).
Status ValidateBackup(const Config& config);
// "HH:MM" -> minutes after midnight UTC.
Result<int> ParseDailyAt(std::string_view text);

// Loads defaults, then the file at `path` (if not empty), then the environment.
Result<Config> Load(const std::string& path, const std::map<std::string, std::string>& env);

// Splits "host:port" or "[v6]:port". Port 0 is allowed (any free port).
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
Result<HostPort> ParseHostPort(std::string_view text);

// server.public_url taken apart: the origin ("https://" + host, lower-cased, + ":port" when
// given) and its host.
struct PublicUrl {
  std::string origin;
  std::string host;
};
// kInvalidArgument unless `text` is "https://host[:port]" (an optional trailing '/'): no
// path, query, fragment or userinfo, a port 1-65535.
Result<PublicUrl> ParsePublicUrl(std::string_view text);

// Every key with its environment variable and default, for --help and the docs.
std::vector<std::pair<std::string, std::string>> DescribeKeys();

}  // namespace pactum::config
