// pactum: the one binary. Subcommands register in cli/*_command.cc.

#include <sys/stat.h>
#include <iostream>

#include "cli/commands.h"
#include "cli/runtime.h"
#include "common/version.h"

int main(int argc, char** argv) {
  ::umask(077);  // everything Pactum creates is private unless it says otherwise
  CLI::App app{"Pactum: a self-hosted, security-first contract management server"};
  app.name("pactum");
  app.set_version_flag("--version", pactum::kVersion);
  app.require_subcommand(1);
  std::function<int()> run;
  pactum::cli::AddServeCommand(app, run);
  pactum::cli::AddTenantCommand(app, run);
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
