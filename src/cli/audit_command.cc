// pactum audit verify: recomputes every audit chain and checks it against the signed
// checkpoints (DESIGN §7). Runs beside a running server (shared access to the data
// directory); events appended meanwhile are checked as far as the read reaches.

#include <unistd.h>

#include <cctype>
#include <iostream>

#include <nlohmann/json.hpp>

#include "audit/checkpoint.h"
#include "audit/verifier.h"
#include "cli/commands.h"
#include "cli/runtime.h"
#include "common/file_system.h"
#include "tenant/tenant_service.h"

namespace pactum::cli {
namespace {

// The name a chain goes by in the output.
constexpr std::string_view kPlatform = "platform";

struct Chain {
  int64_t tenant_id = 0;
  std::string slug;
};

// The chains to verify: the platform's and every tenant's, or only `only`'s.
Result<std::vector<Chain>> ChainsToVerify(tenant::TenantService& tenants, const std::string& only) {
  if (!only.empty()) {
    auto t = tenants.FindBySlug(only);
    if (t.status().code() == StatusCode::kNotFound) return NotFound("no tenant " + only);
    if (!t.ok()) return t.status();
    return std::vector<Chain>{{t->id, t->slug}};
  }
  ASSIGN_OR_RETURN(auto all, tenants.List());
  std::vector<Chain> out{{0, std::string(kPlatform)}};
  for (const auto& t : all) out.push_back({t.id, t.slug});
  return out;
}

// "acme: ok, 1234 events, signed up to seq 1200" or
// "acme: CHANGED at seq 7: the event at seq 7 was changed".
std::string ReportLine(const std::string& slug, const audit::ChainReport& r) {
  if (r.problem) {
    std::string kind = r.problem->kind;
    for (char& c : kind) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return slug + ": " + kind + " at seq " + std::to_string(r.problem->seq) + ": " +
           r.problem->message;
  }
  std::string line =
      slug + ": ok, " + std::to_string(r.events) + (r.events == 1 ? " event" : " events");
  if (r.checkpointed_seq > 0) {
    line += ", signed up to seq " + std::to_string(r.checkpointed_seq);
  } else if (r.events > 0) {
    line += ", none signed yet";
  }
  return line;
}

// Progress on a terminal: one line rewritten in place, erased when the chain is done.
class Progress {
 public:
  Progress() : enabled_(::isatty(STDERR_FILENO) == 1) {}
  audit::VerifyProgress For(const std::string& slug, int64_t total) {
    if (!enabled_) return {};
    return [slug, total](int64_t events) {
      std::cerr << "\r\033[K" << slug << ": " << events << " of " << total << " events checked"
                << std::flush;
    };
  }
  void Clear() const {
    if (enabled_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  const bool enabled_;
};

int Verify(const CommonOptions& options, const std::string& only_tenant) {
  int code = kExitOk;
  auto opened = LoadAndOpen(options, DirectoryAccess::kShared, &code);
  if (!opened) return code;
  const config::Config& cfg = opened->config;
  DataDirectory& data = opened->data;
  SystemClock clock;
  tenant::TenantKeys keys(*data.keys, clock);
  tenant::TenantService tenants(*data.db, clock, keys);
  auto chains = ChainsToVerify(tenants, only_tenant);
  if (!chains.ok()) {
    PrintError(chains.status().message());
    return kExitFailure;
  }

  const std::string checkpoint_path = cfg.data_dir + "/" + std::string(audit::kCheckpointFile);
  auto checkpoints = audit::CheckpointFile(LocalFileSystem(), checkpoint_path).ReadAll();
  if (!checkpoints.ok()) {
    PrintError(checkpoints.status().code() == StatusCode::kDataLoss
                   ? checkpoints.status().message() + " (" + checkpoint_path + ")"
                   : "cannot read " + checkpoint_path + ": " + checkpoints.status().message());
    return kExitFailure;
  }

  std::vector<audit::ChainReport> reports;
  auto signer = audit::OpenAuditSigner(cfg.data_dir, *data.keys, /*create=*/false);
  if (signer.status().code() == StatusCode::kNotFound) {
    // No key yet: fine while nothing was ever recorded, which then verifies trivially.
    auto any = AuditTrailHasEvents(*data.db);
    if (!any.ok()) {
      PrintError(any.status().message());
      return kExitFailure;
    }
    if (*any || !checkpoints->empty()) {
      PrintError(MissingAuditKey(cfg).message());
      return kExitFailure;
    }
    for (const Chain& c : *chains) reports.push_back({.tenant_id = c.tenant_id});
  } else {
    auto redact_key = signer.ok() ? signer->RedactKey() : signer.status();
    if (!redact_key.ok()) {
      PrintError("cannot open the audit signing key: " + redact_key.status().message());
      return kExitFailure;
    }
    audit::SqlAuditLog log(*data.db, clock, std::move(redact_key).value());
    Progress progress;
    for (const Chain& c : *chains) {
      auto head = log.Head(c.tenant_id);
      auto report = head.ok() ? audit::VerifyChain(log, *checkpoints, signer->public_key(),
                                                   c.tenant_id, progress.For(c.slug, head->seq))
                              : Result<audit::ChainReport>(head.status());
      progress.Clear();
      if (!report.ok()) {
        PrintError("reading the audit trail of " + c.slug + ": " + report.status().message());
        return kExitFailure;
      }
      reports.push_back(*report);
    }
  }

  std::string first_problem;
  auto json_chains = nlohmann::json::array();
  for (size_t i = 0; i < reports.size(); ++i) {
    const Chain& c = (*chains)[i];
    const audit::ChainReport& r = reports[i];
    const std::string line = ReportLine(c.slug, r);
    if (r.problem && first_problem.empty()) first_problem = line;
    if (options.json) {
      nlohmann::json j = audit::ReportJson(r);
      j["slug"] = c.slug;
      json_chains.push_back(std::move(j));
    } else {
      std::cout << line << "\n";
    }
  }
  if (options.json) {
    std::cout << nlohmann::json{{"ok", first_problem.empty()}, {"chains", json_chains}} << "\n";
  }
  std::cout << std::flush;
  if (!first_problem.empty()) {
    PrintError("the audit trail is damaged: " + first_problem);
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

void AddAuditCommand(CLI::App& app, std::function<int()>& run) {
  auto* audit = app.add_subcommand("audit", "Check the audit trail");
  audit->require_subcommand(1);

  auto verify_opts = std::make_shared<CommonOptions>();
  auto tenant = std::make_shared<std::string>();
  auto* verify = audit->add_subcommand(
      "verify",
      "Recompute the audit hash chains of the platform and every tenant and check them "
      "against the signed checkpoints (exit 1 when an event was changed, removed or moved); "
      "safe while the server runs");
  verify->add_option("--tenant", *tenant, "Verify only this tenant's chain (its slug)");
  AddCommonOptions(*verify, *verify_opts);
  verify->callback([&run, verify_opts, tenant] {
    run = [verify_opts, tenant] { return Verify(*verify_opts, *tenant); };
  });
}

}  // namespace pactum::cli
