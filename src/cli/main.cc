// pactum: the one binary. Subcommands register in cli/*_command.cc.

#include <sys/stat.h>
#include <iostream>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "common/log.h"
#include "common/version.h"

int main(int argc, char** argv) {
  ::umask(077);  // everything Pactum creates is private unless it says otherwise
  // The operator log belongs to the server (serve sets its level from the config); other
  // commands answer with their own output and one-line errors.
  pactum::log::SetLevel(pactum::log::Level::kOff);
  CLI::App app{"Pactum: a self-hosted, security-first contract management server"};
  app.name("pactum");
  app.set_version_flag("--version", pactum::kVersion);
  app.require_subcommand(1);
  std::function<int()> run;
  pactum::cli::AddServeCommand(app, run);
  pactum::cli::AddTenantCommand(app, run);
  pactum::cli::AddKeysCommand(app, run);
  pactum::cli::AddAuditCommand(app, run);
  pactum::cli::AddBackupCommand(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    pactum::cli::PrintError(e.what());
    return pactum::cli::kExitUsage;
  }
  if (!run) return pactum::cli::kExitUsage;
  return run();
}
