#include "cli/runtime.h"

#include <iostream>

#include "common/files.h"
#include "store/sqlite_database.h"

namespace pactum::cli {

void AddCommonOptions(CLI::App& cmd, CommonOptions& options) {
  cmd.add_option("--config", options.config_file, "TOML configuration file");
  cmd.add_option("--data", options.data_dir, "Data directory (env PACTUM_DATA_DIR)");
  cmd.add_flag("--json", options.json, "Machine-readable JSON output");
}

void PrintError(std::string_view message) {
  std::string line(message);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::cerr << "pactum: " << line << std::endl;
}

std::optional<config::Config> LoadConfig(const CommonOptions& options,
                                         const std::function<void(config::Config&)>& flags) {
  config::Config cfg;
  if (!options.config_file.empty()) {
    auto text = ReadFile(options.config_file);
    if (!text.ok()) {
      PrintError("config: cannot read " + options.config_file);
      return std::nullopt;
    }
    if (Status s = config::ApplyToml(*text, options.config_file, cfg); !s.ok()) {
      PrintError("config: " + s.message());
      return std::nullopt;
    }
  }
  if (Status s = config::ApplyEnvironment(config::ProcessEnvironment(), cfg); !s.ok()) {
    PrintError("config: " + s.message());
    return std::nullopt;
  }
  if (!options.data_dir.empty()) cfg.data_dir = options.data_dir;
  if (flags) flags(cfg);
  if (Status s = config::Validate(cfg); !s.ok()) {
    PrintError("config: " + s.message());
    return std::nullopt;
  }
  return cfg;
}

Result<std::unique_ptr<store::Database>> OpenDataDirectory(const config::Config& config,
                                                           MetricsRegistry* metrics) {
  RETURN_IF_ERROR(MakeDirectories(config.data_dir, 0700));
  store::SqliteOptions o;
  o.path = config.data_dir + "/pactum.db";
  o.busy_timeout_ms = static_cast<int>(config.database.busy_timeout_ms);
  o.read_connections = static_cast<int>(config.database.read_connections);
  o.synchronous_full = config.database.synchronous == "full";
  o.metrics = metrics;
  return store::OpenSqliteDatabase(o);
}

}  // namespace pactum::cli
