#pragma once

// Each subcommand registers itself on the CLI11 app and, when chosen, sets `run` to the
// function main() calls; that function returns the process exit code.

#include <functional>

#include <CLI/CLI.hpp>

namespace pactum::cli {

void AddServeCommand(CLI::App& app, std::function<int()>& run);
void AddTenantCommand(CLI::App& app, std::function<int()>& run);
void AddKeysCommand(CLI::App& app, std::function<int()>& run);
void AddAuditCommand(CLI::App& app, std::function<int()>& run);
void AddBackupCommand(CLI::App& app, std::function<int()>& run);

}  // namespace pactum::cli
