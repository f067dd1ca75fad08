#include "config/config.h"

#include <strings.h>

#include <filesystem>

#include <charconv>
#include <variant>

#include <toml++/toml.h>

#include "common/files.h"
#include "common/host.h"
#include "common/ip_network.h"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace pactum::config {
namespace {

using FieldRef = std::variant<std::string*, int64_t*, std::vector<std::string>*>;

// The one list of keys. Adding a field to Config means adding it here.
template <typename Visit>
void ForEachField(Config& c, Visit&& visit) {
  visit("data_dir", FieldRef(&c.data_dir));
  visit("environment", FieldRef(&c.environment));
  visit("master_key_file", FieldRef(&c.master_key_file));
  visit("log_level", FieldRef(&c.log_level));
  visit("server.listen", FieldRef(&c.server.listen));
  visit("server.redirect_listen", FieldRef(&c.server.redirect_listen));
  visit("server.public_url", FieldRef(&c.server.public_url));
  visit("server.allowed_hosts", FieldRef(&c.server.allowed_hosts));
  visit("server.tls_cert_file", FieldRef(&c.server.tls_cert_file));
  visit("server.tls_key_file", FieldRef(&c.server.tls_key_file));
  visit("server.io_threads", FieldRef(&c.server.io_threads));
  visit("server.worker_threads", FieldRef(&c.server.worker_threads));
  visit("server.cpu_threads", FieldRef(&c.server.cpu_threads));
  visit("server.shutdown_deadline_ms", FieldRef(&c.server.shutdown_deadline_ms));
  visit("server.metrics_allowlist", FieldRef(&c.server.metrics_allowlist));
  visit("server.trusted_proxies", FieldRef(&c.server.trusted_proxies));
  visit("server.ready_file", FieldRef(&c.server.ready_file));
  visit("limits.max_header_bytes", FieldRef(&c.limits.max_header_bytes));
  visit("limits.max_body_bytes", FieldRef(&c.limits.max_body_bytes));
  visit("limits.max_upload_bytes", FieldRef(&c.limits.max_upload_bytes));
  visit("limits.header_timeout_ms", FieldRef(&c.limits.header_timeout_ms));
  visit("limits.body_timeout_ms", FieldRef(&c.limits.body_timeout_ms));
  visit("limits.min_body_bytes_per_second", FieldRef(&c.limits.min_body_bytes_per_second));
  visit("limits.idle_timeout_ms", FieldRef(&c.limits.idle_timeout_ms));
  visit("limits.write_timeout_ms", FieldRef(&c.limits.write_timeout_ms));
  visit("limits.max_connections", FieldRef(&c.limits.max_connections));
  visit("limits.max_connections_per_ip", FieldRef(&c.limits.max_connections_per_ip));
  visit("limits.max_cpu_queue", FieldRef(&c.limits.max_cpu_queue));
  visit("database.busy_timeout_ms", FieldRef(&c.database.busy_timeout_ms));
  visit("database.read_connections", FieldRef(&c.database.read_connections));
  visit("database.cache_mib", FieldRef(&c.database.cache_mib));
  visit("database.synchronous", FieldRef(&c.database.synchronous));
  visit("auth.argon2_memory_mib", FieldRef(&c.auth.argon2_memory_mib));
  visit("auth.argon2_passes", FieldRef(&c.auth.argon2_passes));
  visit("documents.allowed_types", FieldRef(&c.documents.allowed_types));
  visit("documents.orphan_grace_minutes", FieldRef(&c.documents.orphan_grace_minutes));
  visit("backup.mode", FieldRef(&c.backup.mode));
  visit("backup.dir", FieldRef(&c.backup.dir));
  visit("backup.targets", FieldRef(&c.backup.targets));
  visit("backup.interval_ms", FieldRef(&c.backup.interval_ms));
  visit("backup.daily_at", FieldRef(&c.backup.daily_at));
  visit("backup.snapshot_after_bytes", FieldRef(&c.backup.snapshot_after_bytes));
  visit("backup.snapshot_after_transactions", FieldRef(&c.backup.snapshot_after_transactions));
}

std::map<std::string, FieldRef> FieldMap(Config& c) {
  std::map<std::string, FieldRef> out;
  ForEachField(c, [&](const char* key, FieldRef ref) { out.emplace(key, ref); });
  return out;
}

std::string EnvName(std::string_view key) {
  std::string out = "PACTUM_";
  for (char ch : key) out += ch == '.' ? '_' : static_cast<char>(std::toupper(ch));
  return out;
}

Status KeyError(std::string_view key, std::string_view reason) {
  return InvalidArgument(std::string(key) + ": " + std::string(reason));
}

Status ParseInt(std::string_view key, std::string_view text, int64_t* out) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return KeyError(key, "expected an integer");
  }
  *out = v;
  return Status::Ok();
}

Status SetFromToml(std::string_view key, const toml::node& node, FieldRef ref) {
  if (auto** s = std::get_if<std::string*>(&ref)) {
    const auto v = node.value<std::string>();
    if (!node.is_string() || !v) return KeyError(key, "expected a string");
    **s = *v;
  } else if (auto** i = std::get_if<int64_t*>(&ref)) {
    if (!node.is_integer()) return KeyError(key, "expected an integer");
    **i = *node.value<int64_t>();
  } else if (auto** list = std::get_if<std::vector<std::string>*>(&ref)) {
    const auto* arr = node.as_array();
    if (arr == nullptr) return KeyError(key, "expected an array of strings");
    std::vector<std::string> values;
    for (const auto& item : *arr) {
      if (!item.is_string()) return KeyError(key, "expected an array of strings");
      values.push_back(*item.value<std::string>());
    }
    **list = std::move(values);
  }
  return Status::Ok();
}

Status SetFromText(std::string_view key, std::string_view text, FieldRef ref) {
  if (auto** s = std::get_if<std::string*>(&ref)) {
    **s = std::string(text);
  } else if (auto** i = std::get_if<int64_t*>(&ref)) {
    RETURN_IF_ERROR(ParseInt(key, text, *i));
  } else if (auto** list = std::get_if<std::vector<std::string>*>(&ref)) {
    // Comma-separated in the environment.
    std::vector<std::string> values;
    size_t start = 0;
    while (start <= text.size()) {
      const size_t comma = text.find(',', start);
      const auto part =
          text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
      if (!part.empty()) values.emplace_back(part);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    **list = std::move(values);
  }
  return Status::Ok();
}

Status ApplyTable(const toml::table& table, const std::string& prefix,
                  std::map<std::string, FieldRef>& fields) {
  for (const auto& [k, node] : table) {
    const std::string key =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = node.as_table(); sub != nullptr && prefix.empty()) {
      RETURN_IF_ERROR(ApplyTable(*sub, key, fields));
      continue;
    }
    const auto it = fields.find(key);
    if (it == fields.end()) return KeyError(key, "unknown configuration key");
    RETURN_IF_ERROR(SetFromToml(key, node, it->second));
  }
  return Status::Ok();
}

Status CheckRange(std::string_view key, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    return KeyError(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                             ", got " + std::to_string(v));
  }
  return Status::Ok();
}

}  // namespace

Status ApplyToml(std::string_view toml_text, std::string_view origin, Config& config) {
  auto fields = FieldMap(config);
  try {
    const toml::table table = toml::parse(toml_text, origin);
    return ApplyTable(table, "", fields);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return InvalidArgument(std::string(origin) + ":" + std::to_string(where.line) + ": " +
                           std::string(e.description()));
  }
}

Status ApplyEnvironment(const std::map<std::string, std::string>& env, Config& config) {
  auto fields = FieldMap(config);
  for (auto& [key, ref] : fields) {
    const auto it = env.find(EnvName(key));
    if (it != env.end()) RETURN_IF_ERROR(SetFromText(it->first, it->second, ref));
  }
  if (const auto it = env.find("PACTUM_DATA_DIR"); it != env.end()) config.data_dir = it->second;
  if (const auto it = env.find("PACTUM_LISTEN"); it != env.end()) {
    config.server.listen = it->second;
  }
  return Status::Ok();
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (!entry.starts_with("PACTUM_")) continue;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return out;
}

Result<HostPort> ParseHostPort(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgument("expected HOST:PORT or [IPv6]:PORT");
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return InvalidArgument("expected HOST:PORT or [IPv6]:PORT");
    }
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return InvalidArgument("IPv6 addresses need brackets: [::1]:8443");
    }
    port_text = text.substr(colon + 1);
  }
  int64_t port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return InvalidArgument("port must be 0-65535");
  }
  if (!IpAddress::Parse(out.host).ok() && out.host != "localhost") {
    return InvalidArgument("host must be an IP address or localhost");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

Result<PublicUrl> ParsePublicUrl(std::string_view text) {
  constexpr std::string_view kScheme = "https://";
  if (text.size() < kScheme.size() ||
      ::strncasecmp(text.data(), kScheme.data(), kScheme.size()) != 0) {
    return InvalidArgument("must start with https://");
  }
  std::string_view authority = text.substr(kScheme.size());
  if (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
  auto a = ParseAuthority(authority);
  if (!a.ok()) {
    return InvalidArgument("must be https://host[:port] (no path, query or user): " +
                           a.status().message());
  }
  if (a->port && *a->port == 0) return InvalidArgument("port must be 1-65535");
  PublicUrl out;
  out.host = std::string(a->host);
  for (char& ch : out.host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  out.origin = "https://" + out.host;
  if (a->port) {
    // Appended apart: GCC 12 warns (-Wrestrict, a false positive) on ":" + std::string&&.
    out.origin += ':';
    out.origin += std::to_string(*a->port);
  }
  return out;
}

Status Validate(const Config& c) {
  if (c.data_dir.empty()) return KeyError("data_dir", "must not be empty");
  if (c.environment != "prod" && c.environment != "staging" && c.environment != "dev") {
    return KeyError("environment", "must be prod, staging or dev");
  }
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error") {
    return KeyError("log_level", "must be debug, info, warn or error");
  }
  if (auto hp = ParseHostPort(c.server.listen); !hp.ok()) {
    return KeyError("server.listen", hp.status().message());
  }
  if (!c.server.redirect_listen.empty()) {
    if (auto hp = ParseHostPort(c.server.redirect_listen); !hp.ok()) {
      return KeyError("server.redirect_listen", hp.status().message());
    }
  }
  if (!c.server.public_url.empty()) {
    if (auto url = ParsePublicUrl(c.server.public_url); !url.ok()) {
      return KeyError("server.public_url", url.status().message());
    }
  }
  for (const auto& host : c.server.allowed_hosts) {
    auto a = ParseAuthority(host);
    if (!a.ok() || a->port) {
      return KeyError("server.allowed_hosts",
                      "not a host name or IP address (no port): \"" + host + "\"");
    }
  }
  if (c.server.tls_cert_file.empty() != c.server.tls_key_file.empty()) {
    return KeyError(c.server.tls_cert_file.empty() ? "server.tls_cert_file" : "server.tls_key_file",
                    "tls_cert_file and tls_key_file go together");
  }
  RETURN_IF_ERROR(CheckRange("server.io_threads", c.server.io_threads, 0, 256));
  RETURN_IF_ERROR(CheckRange("server.worker_threads", c.server.worker_threads, 0, 1024));
  RETURN_IF_ERROR(CheckRange("server.cpu_threads", c.server.cpu_threads, 0, 256));
  RETURN_IF_ERROR(
      CheckRange("server.shutdown_deadline_ms", c.server.shutdown_deadline_ms, 0, 3'600'000));
  for (const auto& net : c.server.metrics_allowlist) {
    if (!IpNetwork::Parse(net).ok()) {
      return KeyError("server.metrics_allowlist", "not a CIDR network: \"" + net + "\"");
    }
  }
  for (const auto& net : c.server.trusted_proxies) {
    if (!IpNetwork::Parse(net).ok()) {
      return KeyError("server.trusted_proxies", "not a CIDR network: \"" + net + "\"");
    }
  }
  const auto& l = c.limits;
  RETURN_IF_ERROR(CheckRange("limits.max_header_bytes", l.max_header_bytes, 1024, 1 << 20));
  RETURN_IF_ERROR(CheckRange("limits.max_body_bytes", l.max_body_bytes, 0, 1LL << 30));
  RETURN_IF_ERROR(CheckRange("limits.max_upload_bytes", l.max_upload_bytes, 0, 1LL << 40));
  RETURN_IF_ERROR(CheckRange("limits.header_timeout_ms", l.header_timeout_ms, 100, 600'000));
  RETURN_IF_ERROR(CheckRange("limits.body_timeout_ms", l.body_timeout_ms, 100, 600'000));
  RETURN_IF_ERROR(
      CheckRange("limits.min_body_bytes_per_second", l.min_body_bytes_per_second, 0, 1LL << 30));
  RETURN_IF_ERROR(CheckRange("limits.idle_timeout_ms", l.idle_timeout_ms, 100, 3'600'000));
  RETURN_IF_ERROR(CheckRange("limits.write_timeout_ms", l.write_timeout_ms, 100, 600'000));
  RETURN_IF_ERROR(CheckRange("limits.max_connections", l.max_connections, 1, 1'000'000));
  RETURN_IF_ERROR(
      CheckRange("limits.max_connections_per_ip", l.max_connections_per_ip, 1, 1'000'000));
  RETURN_IF_ERROR(CheckRange("limits.max_cpu_queue", l.max_cpu_queue, 1, 1'000'000));
  RETURN_IF_ERROR(CheckRange("database.busy_timeout_ms", c.database.busy_timeout_ms, 0, 600'000));
  RETURN_IF_ERROR(CheckRange("database.read_connections", c.database.read_connections, 1, 64));
  RETURN_IF_ERROR(CheckRange("database.cache_mib", c.database.cache_mib, 1, 4096));
  RETURN_IF_ERROR(CheckRange("auth.argon2_memory_mib", c.auth.argon2_memory_mib, 19, 4096));
  RETURN_IF_ERROR(CheckRange("auth.argon2_passes", c.auth.argon2_passes, 2, 20));
  for (const auto& type : c.documents.allowed_types) {
    if (type.empty() || type.find('/') == std::string::npos ||
        type.find_first_of(" \t\r\n;,") != std::string::npos) {
      return KeyError("documents.allowed_types", "not a MIME type: \"" + type + "\"");
    }
  }
  RETURN_IF_ERROR(CheckRange("documents.orphan_grace_minutes", c.documents.orphan_grace_minutes, 5,
                             int64_t{7} * 24 * 60));
  if (c.database.synchronous != "full" && c.database.synchronous != "normal") {
    return KeyError("database.synchronous", "must be full or normal");
  }
  RETURN_IF_ERROR(ValidateBackup(c));
  return Status::Ok();
}

std::string BackupDirectory(const Config& c) {
  if (!c.backup.dir.empty()) return c.backup.dir;
  std::filesystem::path data(c.data_dir);
  if (!data.has_filename()) data = data.parent_path();  // "dir/"
  return (data.parent_path() / "pactum-backups").string();
}

Status ValidateBackup(const Config& c) {
  const BackupConfig& b = c.backup;
  if (b.mode != "on" && b.mode != "off") return KeyError("backup.mode", "must be on or off");
  const auto dir = std::filesystem::absolute(BackupDirectory(c)).lexically_normal();
  const auto data = std::filesystem::absolute(c.data_dir).lexically_normal();
  const auto rel = dir.lexically_relative(data);
  if (!rel.empty() && (rel == "." || *rel.begin() != "..")) {
    return KeyError("backup.dir", "must not be the data directory or inside it");
  }
  if (b.targets.empty() || b.targets.size() > 8) {
    return KeyError("backup.targets", "between 1 and 8 target names");
  }
  for (size_t i = 0; i < b.targets.size(); ++i) {
    const std::string& t = b.targets[i];
    if (t.empty() || t.size() > 32 || t.front() == '-' ||
        t.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
      return KeyError("backup.targets", "a target name is 1-32 of a-z 0-9 -: \"" + t + "\"");
    }
    for (size_t j = 0; j < i; ++j) {
      if (b.targets[j] == t) return KeyError("backup.targets", "\"" + t + "\" named twice");
    }
  }
  RETURN_IF_ERROR(CheckRange("backup.interval_ms", b.interval_ms, 100, 60'000));
  if (!ParseDailyAt(b.daily_at).ok()) return KeyError("backup.daily_at", "must be HH:MM (UTC)");
  // 0 turns one off; anything else small enough to mean a snapshot every few writes is
  // a mistake (each snapshot reads the whole database).
  if (b.snapshot_after_bytes != 0) {
    RETURN_IF_ERROR(
        CheckRange("backup.snapshot_after_bytes", b.snapshot_after_bytes, 1LL << 20, 1LL << 40));
  }
  if (b.snapshot_after_transactions != 0) {
    RETURN_IF_ERROR(CheckRange("backup.snapshot_after_transactions", b.snapshot_after_transactions,
                               1000, 1'000'000'000));
  }
  return Status::Ok();
}

Result<int> ParseDailyAt(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return InvalidArgument("not HH:MM");
  for (const size_t i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return InvalidArgument("not HH:MM");
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) return InvalidArgument("not HH:MM");
  return h * 60 + m;
}

Result<Config> Load(const std::string& path, const std::map<std::string, std::string>& env) {
  Config config;
  if (!path.empty()) {
    auto text = ReadFile(path);
    if (!text.ok()) {
      return InvalidArgument(
          "cannot read config file " + path + ": " +
          (text.status().code() == StatusCode::kNotFound ? "no such file" : "read error"));
    }
    RETURN_IF_ERROR(ApplyToml(*text, path, config));
  }
  RETURN_IF_ERROR(ApplyEnvironment(env, config));
  RETURN_IF_ERROR(Validate(config));
  return config;
}

std::vector<std::pair<std::string, std::string>> DescribeKeys() {
  Config defaults;
  std::vector<std::pair<std::string, std::string>> out;
  ForEachField(defaults, [&](const char* key, FieldRef ref) {
    std::string value;
    if (auto** s = std::get_if<std::string*>(&ref))
      value = "\"" + **s + "\"";
    else if (auto** i = std::get_if<int64_t*>(&ref))
      value = std::to_string(**i);
    else if (auto** list = std::get_if<std::vector<std::string>*>(&ref)) {
      for (const auto& item : **list) value += (value.empty() ? "" : ",") + item;
      value = "[" + value + "]";
    }
    out.emplace_back(std::string(key) + " (" + EnvName(key) + ")", value);
  });
  return out;
}

}  // namespace pactum::config
