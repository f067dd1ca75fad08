// pactum backup: the database backups of promises P4/P5 (DESIGN §8): run, list, status,
// restore, verify, prune, and retention-plan (the policy as a calculator). Each
// subcommand has its own Add*Command below, registered by AddBackupCommand.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/event_codec.h"
#include "backup/backup_keys.h"
#include "backup/backup_service.h"
#include "backup/prune.h"
#include "backup/restore.h"
#include "backup/restore_directory.h"
#include "backup/retention.h"
#include "backup/target_identity.h"
#include "cli/commands.h"
#include "cli/control_verbs.h"
#include "cli/runtime.h"
#include "common/file_system.h"
#include "common/files.h"
#include "control/control_client.h"
#include "control/control_protocol.h"
#include "crypto/random.h"
#include "store/change_capture.h"

namespace pactum::cli {
namespace {

// --- shared by the backup subcommands --------------------------------------------------

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

// `text` in double quotes for a one-line error: quotes, backslashes, control and non-ASCII
// bytes escaped; cut after 64 bytes ("..." after the closing quote).
std::string Quote(std::string_view text) {
  constexpr size_t kMaxBytes = 64;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxBytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (text.size() > kMaxBytes) out += "...";
  return out;
}

// An RFC 3339 time ("Z" or a numeric offset, optional fraction; milliseconds kept).
std::optional<backup::BackupTime> ParseBackupTime(std::string_view text) {
  const auto ms = audit::ParseTimeMs(text);
  if (!ms) return std::nullopt;
  return backup::BackupTime{std::chrono::milliseconds{*ms}};
}

// --- retention-plan ------------------------------------------------------------------

struct TimeLine {
  std::string text;  // as given, trimmed
  backup::BackupTime time;
};

// Backup times, one per line; blank lines are skipped but counted, so errors name the
// line the user sees.
Result<std::vector<TimeLine>> ReadTimes(std::istream& in, backup::BackupTime now) {
  std::vector<TimeLine> out;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    const std::string_view text = Trim(line);
    if (text.empty()) continue;
    const std::string where = "line " + std::to_string(number) + ": ";
    const auto t = ParseBackupTime(text);
    if (!t) return InvalidArgument(where + "not an RFC 3339 time: " + Quote(text));
    if (*t > now) return InvalidArgument(where + Quote(text) + " is after --now");
    out.push_back({std::string(text), *t});
  }
  if (in.bad()) return Unavailable("cannot read the backup times from stdin");
  return out;
}

std::string Reasons(const backup::RetentionDecision& d) {
  std::string out;
  for (backup::KeepReason r : d.reasons) {
    if (!out.empty()) out += ' ';
    out += backup::KeepReasonName(r);
  }
  return out;
}

int RetentionPlan(const CommonOptions& options, const std::string& now_text) {
  const auto now = ParseBackupTime(now_text);
  if (!now) {
    PrintError("--now: not an RFC 3339 time: " + Quote(now_text));
    return kExitUsage;
  }
  auto lines = ReadTimes(std::cin, *now);
  if (!lines.ok()) {
    PrintError(lines.status().message());
    return kExitFailure;
  }
  std::vector<backup::RetentionInput> inputs;
  inputs.reserve(lines->size());
  for (const TimeLine& l : *lines) inputs.push_back({.time = l.time});
  auto plan = backup::PlanRetention(inputs, *now);
  if (!plan.ok()) {
    PrintError(plan.status().message());
    return kExitFailure;
  }

  if (options.json) {
    // ordered_json: the fields in the documented order, time first.
    auto out = nlohmann::ordered_json::array();
    for (size_t i = 0; i < lines->size(); ++i) {
      auto reasons = nlohmann::ordered_json::array();
      for (backup::KeepReason r : (*plan)[i].reasons) reasons.push_back(backup::KeepReasonName(r));
      out.push_back(nlohmann::ordered_json{
          {"time", (*lines)[i].text}, {"keep", (*plan)[i].keep}, {"reasons", reasons}});
    }
    std::cout << out << "\n" << std::flush;
    return kExitOk;
  }
  size_t width = 0;
  for (const TimeLine& l : *lines) width = std::max(width, l.text.size());
  size_t kept = 0;
  for (size_t i = 0; i < lines->size(); ++i) {
    const backup::RetentionDecision& d = (*plan)[i];
    std::string row = (d.keep ? "keep  " : "drop  ") + (*lines)[i].text;
    if (d.keep) {
      ++kept;
      row.append(width - (*lines)[i].text.size() + 2, ' ');
      row += Reasons(d);
    }
    std::cout << row << "\n";
  }
  std::cout << kept << " kept of " << lines->size() << "\n" << std::flush;
  return kExitOk;
}

void AddRetentionPlanCommand(CLI::App& backup, std::function<int()>& run) {
  auto options = std::make_shared<CommonOptions>();
  auto now = std::make_shared<std::string>();
  auto* plan = backup.add_subcommand(
      "retention-plan",
      "Show which of the backup times on stdin (RFC 3339, one per line) the retention "
      "policy keeps, and why");
  plan->footer(
      "Policy: keep the newest backup of each UTC day for 14 days, ISO week for 8 weeks, month\n"
      "for 6 months and year for 1 year before --now, and the newest one 7+ days old (the PITR "
      "base).");
  plan->add_option("--now", *now, "The time to plan for (RFC 3339)")->required();
  AddCommonOptions(*plan, *options);
  plan->callback(
      [&run, options, now] { run = [options, now] { return RetentionPlan(*options, *now); }; });
}

// --- run, list, status, restore, verify, prune -------------------------------------------

std::string Rfc3339Ms(int64_t ms) { return audit::FormatTimeMs(ms); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Progress on a terminal: one line rewritten in place.
class Progress {
 public:
  Progress() : enabled_(::isatty(STDERR_FILENO) == 1) {}
  void Show(const std::string& line) const {
    if (enabled_) std::cerr << "\r\033[K" << line << std::flush;
  }
  void Clear() const {
    if (enabled_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  const bool enabled_;
};

// The configured targets (or only `only`), for commands that read backups.
struct Targets {
  std::vector<std::unique_ptr<backup::BackupTarget>> owned;
  std::vector<backup::BackupTarget*> all;
};

Result<Targets> OpenConfiguredTargets(const config::Config& cfg, const std::string& only) {
  std::vector<std::string> names = cfg.backup.targets;
  if (!only.empty()) {
    if (std::find(names.begin(), names.end(), only) == names.end()) {
      return InvalidArgument("no backup target named " + Quote(only) + " (configured: " + [&] {
        std::string all;
        for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
        return all;
      }() + ")");
    }
    names = {only};
  }
  Targets t;
  // Never created here: a target that lost its directory is reported, not made anew.
  ASSIGN_OR_RETURN(t.owned, backup::OpenTargets(LocalFileSystem(), config::BackupDirectory(cfg),
                                                names, backup::LocalTargetOpen::kExisting));
  for (auto& target : t.owned) t.all.push_back(target.get());
  return t;
}

// The start of the commands that read backups: the config, the master key, the
// configured targets (or only `only`) and the backup-key lookup over them. On failure
// prints the one-line error, sets `*exit_code` and returns nullopt.
struct BackupReader {
  config::Config cfg;
  std::unique_ptr<crypto::KeyProvider> kek;
  Targets targets;
  backup::BackupKeyLookup keys;
};

std::optional<BackupReader> OpenBackupReader(const CommonOptions& options, const std::string& only,
                                             int* exit_code) {
  auto cfg = LoadConfig(options);
  if (!cfg) {
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  BackupReader r;
  r.cfg = std::move(cfg).value();
  auto kek = OpenMasterKey(r.cfg);
  if (!kek.ok()) {
    PrintError(kek.status().message());
    *exit_code = kExitFailure;
    return std::nullopt;
  }
  r.kek = std::move(kek).value();
  auto targets = OpenConfiguredTargets(r.cfg, only);
  if (!targets.ok()) {
    PrintError(targets.status().message());
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  r.targets = std::move(targets).value();
  r.keys = backup::TargetKeyLookup(*r.kek, r.targets.all);
  return r;
}

// Prints a snapshot's result; exit 0 only when every target holds a verified copy.
int ReportRun(const CommonOptions& options, const nlohmann::json& manifest,
              const nlohmann::json& outcomes, int64_t snapshot_ms, int64_t copy_ms,
              int64_t verify_ms) {
  bool all = true;
  for (const auto& o : outcomes) all = all && o.value("ok", false);
  if (options.json) {
    std::cout << nlohmann::json{{"ok", all},           {"snapshot", manifest},
                                {"targets", outcomes}, {"snapshot_ms", snapshot_ms},
                                {"copy_ms", copy_ms},  {"verify_ms", verify_ms}}
              << std::endl;
  } else {
    std::cout << "snapshot " << manifest.value("id", "") << ": " << manifest.value("pages", 0)
              << " pages, " << manifest.value("stored_bytes", 0) << " bytes stored, taken in "
              << snapshot_ms << " ms, copied to the targets in " << copy_ms << " ms" << std::endl;
    for (const auto& o : outcomes) {
      std::cout << "  " << o.value("target", "") << ": "
                << (o.value("ok", false)
                        ? "verified by a restore in " +
                              std::to_string(o.value("restore_ms", int64_t{0})) + " ms"
                        : "FAILED: " + o.value("error", std::string()))
                << std::endl;
    }
  }
  if (!all) {
    PrintError("the snapshot did not reach every target verified");
    return kExitFailure;
  }
  return kExitOk;
}

// The server's answer to backup.run, checked before anything reads it.
bool ReadableRunAnswer(const nlohmann::json& answer) {
  return answer.is_object() && answer.contains("snapshot") && answer["snapshot"].is_object() &&
         answer.contains("outcomes") && answer["outcomes"].is_array() &&
         std::all_of(answer["outcomes"].begin(), answer["outcomes"].end(),
                     [](const nlohmann::json& o) { return o.is_object(); });
}

int64_t IntField(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : 0;
}

int Run(const CommonOptions& options, int wait_seconds) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  if (cfg->backup.mode != "on") {
    PrintError("backups are off (backup.mode); nothing to run");
    return kExitFailure;
  }
  Progress progress;
  // A running server owns the backups: it takes the snapshot, asked through its control
  // socket, and this command waits for the answer.
  progress.Show("asking the server for a snapshot...");
  auto answer = control::CallServer(cfg->data_dir, "backup.run", nlohmann::json::object(),
                                    std::chrono::seconds(wait_seconds));
  progress.Clear();
  if (answer.ok()) {
    if (!ReadableRunAnswer(*answer)) {
      PrintError("the server's answer is unreadable");
      return kExitFailure;
    }
    return ReportRun(options, (*answer)["snapshot"], (*answer)["outcomes"],
                     IntField(*answer, "snapshot_ms"), IntField(*answer, "copy_ms"),
                     IntField(*answer, "verify_ms"));
  }
  if (answer.status().reason() != control::kNoServer) {
    PrintError("snapshot failed: " + answer.status().message());
    return kExitFailure;
  }
  // No server: this command owns the backups for the moment and takes it itself.
  auto data = OpenDataDirectory(*cfg, nullptr, DirectoryAccess::kShared);
  if (!data.ok()) {
    PrintError(data.status().message());
    return kExitFailure;
  }
  SystemClock clock;
  auto service = backup::BackupService::Open(
      *data->db, *data->keys, clock, LocalFileSystem(),
      {.data_dir = cfg->data_dir,
       .backup_dir = config::BackupDirectory(*cfg),
       .target_names = cfg->backup.targets,
       .interval_ms = cfg->backup.interval_ms,
       .daily_at_minutes = config::ParseDailyAt(cfg->backup.daily_at).value(),
       .snapshot_after_bytes = cfg->backup.snapshot_after_bytes,
       .snapshot_after_transactions = cfg->backup.snapshot_after_transactions,
       .environment = cfg->environment});
  if (!service.ok()) {
    PrintError(service.status().message());
    return kExitFailure;
  }
  progress.Show("taking a snapshot...");
  backup::SnapshotResult result;
  const Status s = (*service)->RunOnce(/*force_snapshot=*/true, &result);
  progress.Clear();
  if (!s.ok() && result.manifest.id.empty()) {
    PrintError("snapshot failed: " + s.message());
    return kExitFailure;
  }
  const nlohmann::json report = SnapshotAnswer(result);
  return ReportRun(options, report["snapshot"], report["outcomes"], result.snapshot_ms,
                   result.copy_ms, result.verify_ms);
}

int List(const CommonOptions& options, const std::string& only) {
  int code = kExitOk;
  auto reader = OpenBackupReader(options, only, &code);
  if (!reader) return code;
  const Targets& targets = reader->targets;
  const backup::BackupKeyLookup& keys = reader->keys;
  nlohmann::json out = nlohmann::json::array();
  bool failed = false;
  for (backup::BackupTarget* t : targets.all) {
    std::vector<std::string> damaged;
    auto manifests = backup::ListManifests(*t, keys, &damaged);
    if (!manifests.ok()) {
      failed = true;
      if (!options.json)
        std::cout << t->name() << ": unreadable: " << manifests.status().message() << "\n";
      out.push_back({{"target", t->name()}, {"error", manifests.status().message()}});
      continue;
    }
    for (const std::string& d : damaged) {
      if (!options.json) std::cout << t->name() << ": DAMAGED " << d << "\n";
      out.push_back({{"target", t->name()}, {"damaged", d}});
    }
    for (const backup::Manifest& m : *manifests) {
      if (options.json) {
        out.push_back(m.ToJson());
      } else {
        std::cout << t->name() << "  " << m.id << "  taken " << Rfc3339Ms(m.taken_ms)
                  << "  holds up to " << Rfc3339Ms(m.position.time_ms) << "  " << m.pages
                  << " pages  " << m.stored_bytes << " bytes  "
                  << (m.verification.ok ? "verified"
                                        : "VERIFICATION FAILED: " + m.verification.error)
                  << "\n";
      }
    }
  }
  if (options.json) std::cout << out.dump() << std::endl;
  std::cout << std::flush;
  return failed ? kExitFailure : kExitOk;
}

// What each configured target's identity says (backup/target_identity.h), checked
// against the data directory's ledger: name -> check. Reads only.
std::map<std::string, backup::TargetCheck> CheckTargets(const config::Config& cfg,
                                                        const Targets& targets) {
  auto ledger = backup::TargetLedger::Load(backup::TargetLedgerPath(cfg.data_dir));
  std::map<std::string, backup::TargetCheck> out;
  for (backup::BackupTarget* t : targets.all) {
    const backup::TargetRecord* record = ledger.ok() ? ledger->Find(t->name()) : nullptr;
    out[t->name()] = backup::CheckTarget(*t, record);
  }
  return out;
}

std::string TimeOrNever(int64_t ms) { return ms == 0 ? std::string("never") : Rfc3339Ms(ms); }

int ShowStatus(const CommonOptions& options) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  const std::string path = backup::SpoolDirectory(cfg->data_dir) + "/status.json";
  auto text = ReadFile(path);
  if (!text.ok()) {
    PrintError(text.status().code() == StatusCode::kNotFound
                   ? "no backup has run for " + cfg->data_dir + " yet (" + path + " is missing)"
                   : "cannot read " + path + ": " + text.status().message());
    return kExitFailure;
  }
  auto status = nlohmann::json::parse(*text, nullptr, false);
  if (!status.is_object()) {
    PrintError(path + " is damaged");
    return kExitFailure;
  }
  const int64_t age_ms = NowMs() - status.value("updated_ms", int64_t{0});
  status["age_ms"] = age_ms;
  status["mode"] = cfg->backup.mode;
  status["backup_dir"] = config::BackupDirectory(*cfg);
  // The server's file says how the targets were when it was written; whether one lost
  // its backups since (the server may be stopped) is checked here, now.
  auto targets = OpenConfiguredTargets(*cfg, "");
  std::map<std::string, backup::TargetCheck> checks;
  if (targets.ok()) checks = CheckTargets(*cfg, *targets);
  bool healthy = true;
  std::vector<std::string> lost;
  nlohmann::json listed = status.value("targets", nlohmann::json::array());
  if (!listed.is_array()) listed = nlohmann::json::array();
  for (auto& t : listed) {
    if (!t.is_object()) continue;
    const std::string name = t.value("name", std::string());
    if (const auto c = checks.find(name);
        c != checks.end() && c->second.state == backup::TargetState::kLost) {
      t["ok"] = false;
      t["lost"] = true;
      t["identity"] = "lost";
      t["error"] = "lost its backups: " + c->second.reason;
    }
    if (t.value("lost", false)) lost.push_back(name);
    healthy = healthy && t.value("ok", false);
  }
  status["targets"] = listed;
  status["healthy"] = healthy;
  // The backup jobs of the server's scheduler, from <data>/status.json.
  nlohmann::json jobs = nlohmann::json::array();
  if (auto server = ReadFile(cfg->data_dir + "/status.json"); server.ok()) {
    const auto j = nlohmann::json::parse(*server, nullptr, false);
    if (j.is_object() && j.contains("jobs") && j["jobs"].is_array()) {
      for (const auto& job : j["jobs"]) {
        if (job.is_object() && job.value("name", std::string()).starts_with("backup-")) {
          jobs.push_back(job);
        }
      }
    }
  }
  status["jobs"] = jobs;
  const int code = lost.empty() ? kExitOk : kExitFailure;
  if (options.json) {
    std::cout << status.dump() << std::endl;
  } else {
    const nlohmann::json log = status.value("change_log", nlohmann::json::object());
    const nlohmann::json last = status.value("last_snapshot", nlohmann::json::object());
    std::cout << "backups " << cfg->backup.mode << ", in " << config::BackupDirectory(*cfg)
              << " (status written " << age_ms / 1000 << " s ago)\n";
    std::cout << "change log: lineage " << log.value("lineage", std::string()) << ", segment "
              << log.value("segment", 0) << ", last commit "
              << Rfc3339Ms(log.value("last_commit_ms", int64_t{0})) << "\n";
    std::cout << "last snapshot: " << last.value("id", std::string("none"))
              << (last.value("error", std::string()).empty()
                      ? ""
                      : " (" + last.value("error", std::string()) + ")")
              << "; next daily at " << Rfc3339Ms(status.value("next_daily_ms", int64_t{0})) << "\n";
    for (const auto& t : listed) {
      if (!t.is_object()) continue;
      std::cout << "  " << t.value("name", std::string()) << ": "
                << (t.value("ok", false) ? "ok" : "FAILING: " + t.value("error", std::string()))
                << ", " << t.value("pending_segments", 0) << " segment(s) pending, lag "
                << t.value("lag_ms", int64_t{0}) / 1000 << " s, last success "
                << Rfc3339Ms(t.value("last_success_ms", int64_t{0})) << "\n";
    }
    for (const auto& job : jobs) {
      std::cout << "  job " << job.value("name", std::string()) << ": last run "
                << TimeOrNever(job.value("last_start_ms", int64_t{0})) << " ("
                << job.value("last_outcome", std::string()) << ", "
                << job.value("last_duration_ms", int64_t{0}) << " ms), next "
                << TimeOrNever(job.value("next_run_ms", int64_t{0}))
                << (job.value("last_error", std::string()).empty()
                        ? ""
                        : ", error: " + job.value("last_error", std::string()))
                << "\n";
    }
    std::cout << std::flush;
  }
  if (!lost.empty()) {
    std::string names;
    for (const std::string& n : lost) names += (names.empty() ? "" : ", ") + n;
    PrintError("backup target(s) " + names + " lost their backups");
  }
  return code;
}

// Where the data directory of `config` backs up.
backup::BackupPlan BackupPlanOf(const config::Config& config) {
  return {config.backup.mode == "on", config::BackupDirectory(config), config.backup.targets};
}

void PrintRestoreReport(const CommonOptions& options, const backup::DirectoryRestoreReport& r) {
  const backup::RestoreReport& db = r.database;
  const auto& next = r.backups;
  if (options.json) {
    nlohmann::json targets = nlohmann::json::array();
    for (const auto& t : next.targets) targets.push_back({{"name", t.name}, {"path", t.path}});
    std::cout << nlohmann::json{{"to", r.dir},
                                {"snapshot", db.snapshot_id},
                                {"snapshot_target", db.snapshot_target},
                                {"snapshot_time", Rfc3339Ms(db.snapshot_time_ms)},
                                {"restored_to", Rfc3339Ms(db.restored_to_ms)},
                                {"segments", db.segments},
                                {"transactions", db.commits},
                                {"pages", db.check.pages},
                                {"integrity", db.check.integrity},
                                {"audit_checkpoints", r.audit_checkpoints},
                                {"audit_checkpoints_left_out", r.audit_checkpoints_left_out},
                                {"recorded", r.recorded},
                                {"backups",
                                 {{"mode", next.on ? "on" : "off"},
                                  {"new_lineage", true},
                                  {"restored_from_lineage", db.reached.lineage},
                                  {"dir", next.dir},
                                  {"targets", targets},
                                  {"same_targets_as_restored_from", next.same_targets}}},
                                {"notes", r.notes}}
              << std::endl;
    return;
  }
  std::cout << "restored into " << r.dir << ": snapshot " << db.snapshot_id << " from "
            << db.snapshot_target << " and " << db.commits << " transaction(s) in " << db.segments
            << " change-log segment(s), as of " << Rfc3339Ms(db.restored_to_ms) << "; integrity "
            << db.check.integrity << "\n";
  std::cout << "audit trail: " << r.audit_checkpoints << " signed checkpoint(s) brought back";
  if (r.audit_checkpoints_left_out > 0) {
    std::cout << ", " << r.audit_checkpoints_left_out
              << " left out (past the restored events, or not matching them)";
  }
  std::cout << "\n";
  for (const std::string& n : r.notes) std::cout << "  note: " << n << "\n";
  std::cout << "backups: the restored directory starts a new backup lineage (lineage "
            << db.reached.lineage << ", restored from, stays as it is)";
  if (!next.on) {
    std::cout << "; backups are off in this configuration (backup.mode)\n";
  } else {
    std::cout << "; its server will back up to:\n";
    for (const auto& t : next.targets) std::cout << "  " << t.name << ": " << t.path << "\n";
    std::cout << "  (" << (next.same_targets ? "the same targets" : "not the targets")
              << " it was restored from)\n";
  }
  std::cout << "start it with: pactum serve --data " << r.dir
            << " (documents' files are not part of database backups)" << std::endl;
}

int RestoreCommand(const CommonOptions& options, const std::string& at_text, const std::string& to,
                   const std::string& only) {
  auto cfg = LoadConfig(options);
  if (!cfg) return kExitUsage;
  std::optional<int64_t> at_ms;
  if (at_text != "latest") {
    at_ms = audit::ParseTimeMs(at_text);
    if (!at_ms) {
      PrintError("--at: not an RFC 3339 time or \"latest\": " + Quote(at_text));
      return kExitUsage;
    }
  }
  if (Status s = backup::CheckRestoreDestination(to, cfg->data_dir); !s.ok()) {
    PrintError("--to: " + s.message());
    return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  std::string kek_file;
  auto kek = OpenMasterKey(*cfg, &kek_file);
  if (!kek.ok()) {
    PrintError(kek.status().message());
    return kExitFailure;
  }
  auto targets = OpenConfiguredTargets(*cfg, only);
  if (!targets.ok()) {
    PrintError(targets.status().message());
    return kExitUsage;
  }
  backup::DirectoryRestoreRequest request;
  request.at_ms = at_ms;
  request.at_text = at_text;
  request.to = to;
  request.data_dir = cfg->data_dir;
  request.kek = kek->get();
  // The master key goes beside the restored data when it lived in the old data directory.
  if (cfg->master_key_file.empty()) request.kek_file = kek_file;
  request.targets = targets->all;
  request.environment = cfg->environment;
  request.source_backups = BackupPlanOf(*cfg);
  config::Config restored = *cfg;
  restored.data_dir = to;
  request.restored_backups = BackupPlanOf(restored);
  Progress progress;
  request.progress = [&progress](std::string_view stage, uint64_t done, uint64_t total) {
    progress.Show("restoring: " + std::string(stage) +
                  (done > 0 || total > 0 ? " " + std::to_string(done) : "") +
                  (total > 0 ? " of " + std::to_string(total) : ""));
  };
  SystemClock clock;
  auto report = backup::RestoreDataDirectory(request, clock);
  progress.Clear();
  if (!report.ok()) {
    PrintError("restore failed: " + report.status().message());
    return kExitFailure;
  }
  PrintRestoreReport(options, *report);
  return kExitOk;
}

int VerifyCommand(const CommonOptions& options, bool all) {
  int code = kExitOk;
  auto reader = OpenBackupReader(options, "", &code);
  if (!reader) return code;
  const config::Config& cfg = reader->cfg;
  const Targets& targets = reader->targets;
  const backup::BackupKeyLookup& keys = reader->keys;
  char scratch_template[] = "/tmp/pactum-verify-XXXXXX";
  const char* scratch = ::mkdtemp(scratch_template);
  if (scratch == nullptr) {
    PrintError("cannot create scratch space in /tmp");
    return kExitFailure;
  }
  SystemClock clock;
  Progress progress;
  nlohmann::json out = nlohmann::json::array();
  bool failed = false;
  const std::map<std::string, backup::TargetCheck> checks = CheckTargets(cfg, targets);
  for (backup::BackupTarget* t : targets.all) {
    // A target that lost its backups, or never had any, is named: there is nothing on it
    // to verify, and silence would read as "verified".
    const backup::TargetCheck& check = checks.at(t->name());
    if (check.state == backup::TargetState::kLost || check.state == backup::TargetState::kNew) {
      failed = true;
      out.push_back({{"target", t->name()},
                     {"ok", false},
                     {"lost", check.state == backup::TargetState::kLost},
                     {"error", check.state == backup::TargetState::kLost
                                   ? "lost its backups: " + check.reason
                                   : std::string("holds no backups (never initialised, or its "
                                                 "directory is gone)")}});
      continue;
    }
    std::vector<std::string> damaged;
    auto manifests = backup::ListManifests(*t, keys, &damaged);
    if (!manifests.ok()) {
      failed = true;
      out.push_back(
          {{"target", t->name()}, {"ok", false}, {"error", manifests.status().message()}});
      continue;
    }
    for (const std::string& d : damaged) {
      failed = true;
      out.push_back({{"target", t->name()}, {"ok", false}, {"error", "damaged manifest " + d}});
    }
    if (manifests->empty() && damaged.empty()) {
      failed = true;
      out.push_back({{"target", t->name()}, {"ok", false}, {"error", "holds no snapshot"}});
      continue;
    }
    std::vector<const backup::Manifest*> chosen;
    for (const backup::Manifest& m : *manifests) {
      if (all || &m == &manifests->back()) chosen.push_back(&m);
    }
    for (const backup::Manifest* m : chosen) {
      progress.Show(t->name() + ": restoring " + m->id);
      const backup::Verification v = backup::VerifySnapshot(*t, keys, *m, scratch, clock);
      failed = failed || !v.ok;
      out.push_back({{"target", t->name()},
                     {"snapshot", m->id},
                     {"ok", v.ok},
                     {"error", v.error},
                     {"restore_ms", v.restore_ms}});
    }
    // The change log from the newest snapshot on, restored from this target alone.
    if (!manifests->empty()) {
      progress.Show(t->name() + ": restoring the change log");
      backup::RestoreRequest r;
      r.db_path = std::string(scratch) + "/latest.db";
      r.db_key = crypto::SecretBytes(32);
      crypto::RandomBytes(r.db_key.span());
      r.targets = {t};
      r.keys = keys;
      r.environment = cfg.environment;
      auto restored = backup::Restore(r);
      store::RemoveDatabaseFiles(r.db_path);
      failed = failed || !restored.ok();
      out.push_back({{"target", t->name()},
                     {"change_log", restored.ok() ? restored->segments : 0},
                     {"ok", restored.ok()},
                     {"error", restored.ok() ? "" : restored.status().message()}});
    }
  }
  progress.Clear();
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  if (options.json) {
    std::cout << out.dump() << std::endl;
  } else {
    for (const auto& line : out) {
      std::cout << line.value("target", std::string()) << ": "
                << (line.contains("snapshot") ? "snapshot " + line.value("snapshot", std::string())
                    : line.contains("change_log")
                        ? "change log (" + std::to_string(line.value("change_log", int64_t{0})) +
                              " segments)"
                        : std::string("target"))
                << ": "
                << (line.value("ok", false) ? "ok"
                                            : "FAILED: " + line.value("error", std::string()))
                << "\n";
    }
    std::cout << std::flush;
  }
  if (failed) {
    PrintError("verification failed on at least one target");
    return kExitFailure;
  }
  return kExitOk;
}

int PruneCommand(const CommonOptions& options, bool dry_run) {
  int code = kExitOk;
  auto reader = OpenBackupReader(options, "", &code);
  if (!reader) return code;
  const Targets& targets = reader->targets;
  const backup::BackupKeyLookup& keys = reader->keys;
  nlohmann::json out = nlohmann::json::array();
  bool failed = false;
  for (backup::BackupTarget* t : targets.all) {
    // The server's replay bound, so a manual prune keeps what the server's would.
    auto plan = backup::PlanPrune(
        *t, keys, NowMs(), backup::RetentionPolicy{},
        backup::ReplayBound{
            .page_bytes = static_cast<uint64_t>(reader->cfg.backup.snapshot_after_bytes),
            .transactions = static_cast<uint64_t>(reader->cfg.backup.snapshot_after_transactions)});
    Status applied = plan.status();
    if (plan.ok() && !dry_run) applied = backup::ApplyPrune(*t, *plan);
    if (!applied.ok()) {
      failed = true;
      out.push_back({{"target", t->name()}, {"ok", false}, {"error", applied.message()}});
      if (!options.json) std::cout << t->name() << ": FAILED: " << applied.message() << "\n";
      continue;
    }
    nlohmann::json snapshots = nlohmann::json::array();
    for (const auto& d : plan->snapshots) {
      nlohmann::json reasons = nlohmann::json::array();
      for (backup::KeepReason r : d.reasons) reasons.push_back(backup::KeepReasonName(r));
      snapshots.push_back({{"id", d.id},
                           {"taken", Rfc3339Ms(d.taken_ms)},
                           {"verified", d.verified},
                           {"keep", d.keep},
                           {"reasons", reasons}});
      if (!options.json) {
        std::string why;
        for (backup::KeepReason r : d.reasons) {
          why += (why.empty() ? "" : " ") + std::string(backup::KeepReasonName(r));
        }
        std::cout << t->name() << "  " << (d.keep ? "keep" : (dry_run ? "would delete" : "deleted"))
                  << "  " << d.id << (d.verified ? "" : " (unverified)") << "  " << why << "\n";
      }
    }
    out.push_back({{"target", t->name()},
                   {"ok", true},
                   {"dry_run", dry_run},
                   {"snapshots", snapshots},
                   {"delete_objects", plan->delete_objects.size()},
                   {"delete_bytes", plan->delete_bytes},
                   {"kept_segments", plan->kept_segments},
                   {"damaged", plan->damaged},
                   {"held", plan->held},
                   {"held_back", plan->held_back}});
    if (!options.json) {
      std::cout << t->name() << ": " << plan->delete_objects.size() << " object(s), "
                << plan->delete_bytes << " bytes " << (dry_run ? "would be deleted" : "deleted")
                << "; " << plan->kept_segments << " change-log segment(s) kept"
                << (plan->held_back.empty() ? "" : "; held back: " + plan->held_back) << "\n";
    }
  }
  if (options.json) std::cout << out.dump() << std::endl;
  std::cout << std::flush;
  if (failed) {
    PrintError("pruning failed on at least one target");
    return kExitFailure;
  }
  return kExitOk;
}

void AddRunCommand(CLI::App& backup, std::function<int()>& run) {
  auto options = std::make_shared<CommonOptions>();
  auto wait = std::make_shared<int>(3600);
  auto* cmd = backup.add_subcommand(
      "run", "Take a full snapshot now, copy it to every target and verify each copy by a restore");
  cmd->add_option("--wait", *wait, "Seconds to wait for a running server to take it (3600)")
      ->check(CLI::Range(1, 86400));
  AddCommonOptions(*cmd, *options);
  cmd->callback([&run, options, wait] { run = [options, wait] { return Run(*options, *wait); }; });
}

void AddListCommand(CLI::App& backup, std::function<int()>& run) {
  auto options = std::make_shared<CommonOptions>();
  auto only = std::make_shared<std::string>();
  auto* cmd = backup.add_subcommand("list", "List the snapshots on every target");
  cmd->add_option("--target", *only, "Only this target");
  AddCommonOptions(*cmd, *options);
  cmd->callback([&run, options, only] { run = [options, only] { return List(*options, *only); }; });
}

void AddStatusCommand(CLI::App& backup, std::function<int()>& run) {
  auto options = std::make_shared<CommonOptions>();
  auto* cmd = backup.add_subcommand(
      "status", "Show the change log, the last snapshot and each target's health");
  AddCommonOptions(*cmd, *options);
  cmd->callback([&run, options] { run = [options] { return ShowStatus(*options); }; });
}

void AddRestoreCommand(CLI::App& backup, std::function<int()>& run) {
  auto options = std::make_shared<CommonOptions>();
  auto at = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto only = std::make_shared<std::string>();
  auto* cmd = backup.add_subcommand(
      "restore", "Rebuild the database as it was at a point in time into a new data directory");
  cmd->add_option("--at", *at, "RFC 3339 time, or \"latest\"")->required();
  cmd->add_option("--to", *to, "A new (empty) directory for the restored data")->required();
  cmd->add_option("--target", *only, "Restore from this target only");
  cmd->footer(
      "Needs the master key (PACTUM_MASTER_KEY or master_key_file) and the backup targets;\n"
      "the data directory itself may be gone. Then: pactum serve --data <dir>.");
  AddCommonOptions(*cmd, *options);
  cmd->callback([&run, options, at, to, only] {
    run = [options, at, to, only] { return RestoreCommand(*options, *at, *to, *only); };
  });
}

void AddVerifyCommand(CLI::App& backup, std::function<int()>& run) {
  auto options = std::make_shared<CommonOptions>();
  auto all = std::make_shared<bool>(false);
  auto* cmd = backup.add_subcommand(
      "verify", "Re-check stored backups on each target by restoring them (the newest, or --all)");
  cmd->add_flag("--all", *all, "Every snapshot, not only the newest");
  AddCommonOptions(*cmd, *options);
  cmd->callback(
      [&run, options, all] { run = [options, all] { return VerifyCommand(*options, *all); }; });
}

void AddPruneCommand(CLI::App& backup, std::function<int()>& run) {
  auto options = std::make_shared<CommonOptions>();
  auto dry_run = std::make_shared<bool>(false);
  auto* cmd = backup.add_subcommand(
      "prune", "Delete the backups the retention policy no longer keeps, on every target");
  cmd->add_flag("--dry-run", *dry_run, "Only show what would be deleted");
  AddCommonOptions(*cmd, *options);
  cmd->callback([&run, options, dry_run] {
    run = [options, dry_run] { return PruneCommand(*options, *dry_run); };
  });
}

}  // namespace

void AddBackupCommand(CLI::App& app, std::function<int()>& run) {
  auto* backup = app.add_subcommand("backup", "Database backups");
  backup->require_subcommand(1);
  AddRunCommand(*backup, run);
  AddListCommand(*backup, run);
  AddStatusCommand(*backup, run);
  AddRestoreCommand(*backup, run);
  AddVerifyCommand(*backup, run);
  AddPruneCommand(*backup, run);
  AddRetentionPlanCommand(*backup, run);
}

}  // namespace pactum::cli
