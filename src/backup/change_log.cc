#include "backup/change_log.h"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "backup/artefact.h"
#include "backup/checkpoint_lines.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/hex.h"
#include "common/log.h"

namespace pactum::backup {
namespace {

using json = nlohmann::json;

Result<crypto::Sha256Digest> DigestFromHex(const std::string& hex) {
  crypto::Sha256Digest d{};
  if (!HexDecode(hex, d)) return DataLoss("bad hash in backup state");
  return d;
}

}  // namespace

struct ChangeLog::State {
  LogPosition position;            // lineage empty: none yet
  store::LogCursor cursor;         // where the engine's log was read up to
  uint64_t checkpoint_offset = 0;  // bytes of the checkpoint file carried so far
  bool continuity_lost = false;
  LogGrowth growth;  // since the last snapshot's position
};

ChangeLog::ChangeLog(store::ChangeCapture& capture, BackupKey key, BackupTarget& spool,
                     std::string state_file, std::vector<BackupTarget*> targets, const Clock& clock,
                     const ChangeLogOptions& options)
    : capture_(capture),
      key_(std::move(key)),
      spool_(spool),
      state_file_(std::move(state_file)),
      targets_(std::move(targets)),
      clock_(clock),
      options_(options),
      state_(std::make_unique<State>()) {
  for (BackupTarget* t : targets_) health_.push_back(TargetHealth{.name = t->name()});
  confirmed_.resize(targets_.size());
}

ChangeLog::~ChangeLog() { capture_.SetCommitObserver(nullptr); }

Result<std::unique_ptr<ChangeLog>> ChangeLog::Open(store::ChangeCapture& capture, BackupKey key,
                                                   BackupTarget& spool, std::string state_file,
                                                   std::vector<BackupTarget*> targets,
                                                   const Clock& clock,
                                                   const ChangeLogOptions& options) {
  if (!capture.retains_log()) {
    return FailedPrecondition(
        "the database folds its log by itself; a change log needs it kept (external "
        "checkpoints)");
  }
  std::unique_ptr<ChangeLog> log(new ChangeLog(
      capture, std::move(key), spool, std::move(state_file), std::move(targets), clock, options));
  RETURN_IF_ERROR(log->LoadState());
  ChangeLog* self = log.get();
  capture.SetCommitObserver([self](uint64_t mark) { self->OnCommit(mark); });
  return log;
}

void ChangeLog::OnCommit(uint64_t mark) {
  const int64_t now = UnixMillis(clock_.Now());
  std::lock_guard lock(times_mu_);
  commit_times_.emplace_back(mark, now);
}

Status ChangeLog::LoadState() {
  auto text = ReadFile(state_file_);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return Status::Ok();  // a new log
    return text.status();
  }
  const json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return DataLoss("backup state file " + state_file_ + " is damaged");
  try {
    State s;
    s.position.lineage = j.at("lineage").get<std::string>();
    s.position.seq = j.at("seq").get<uint64_t>();
    ASSIGN_OR_RETURN(s.position.hash, DigestFromHex(j.at("hash").get<std::string>()));
    s.position.time_ms = j.at("time_ms").get<int64_t>();
    s.checkpoint_offset = j.value("checkpoint_offset", uint64_t{0});
    s.position.transactions = j.value("transactions", uint64_t{0});  // absent before totals
    s.position.page_bytes = j.value("page_bytes", uint64_t{0});
    // Absent in the state of an older release: counted from here on.
    if (j.contains("since_snapshot")) {
      const json& g = j.at("since_snapshot");
      s.growth.segments = g.at("segments").get<uint64_t>();
      s.growth.transactions = g.at("transactions").get<uint64_t>();
      s.growth.page_bytes = g.at("page_bytes").get<uint64_t>();
    }
    if (j.contains("log_cursor")) {
      s.cursor = j.at("log_cursor").get<std::string>();
    } else if (!s.position.lineage.empty()) {
      // Written by an earlier version, whose position in the WAL this one does not read:
      // the lineage ends here and the next snapshot starts a new one.
      s.continuity_lost = true;
      log::Info("backup",
                "the backup state file is of an earlier version; a new snapshot starts a "
                "new lineage",
                {{"lineage", s.position.lineage}});
    }
    if (!s.position.lineage.empty() && !IsLineage(s.position.lineage)) {
      return DataLoss("backup state file " + state_file_ + " names no valid lineage");
    }
    std::lock_guard lock(mu_);
    *state_ = s;
  } catch (const json::exception&) {
    return DataLoss("backup state file " + state_file_ + " is damaged");
  }
  return Status::Ok();
}

Status ChangeLog::SaveState() {
  State s;
  {
    std::lock_guard lock(mu_);
    s = *state_;
  }
  const json j = {{"lineage", s.position.lineage},
                  {"seq", s.position.seq},
                  {"hash", crypto::HexDigest(s.position.hash)},
                  {"time_ms", s.position.time_ms},
                  {"transactions", s.position.transactions},
                  {"page_bytes", s.position.page_bytes},
                  {"log_cursor", s.cursor},
                  {"checkpoint_offset", s.checkpoint_offset},
                  {"since_snapshot",
                   {{"segments", s.growth.segments},
                    {"transactions", s.growth.transactions},
                    {"page_bytes", s.growth.page_bytes}}}};
  return WriteFileAtomic(state_file_, j.dump() + "\n", 0600);
}

bool ChangeLog::NeedsSnapshot() const {
  std::lock_guard lock(mu_);
  return state_->position.lineage.empty() || state_->continuity_lost;
}

LogPosition ChangeLog::position() const {
  std::lock_guard lock(mu_);
  return state_->position;
}

LogGrowth ChangeLog::growth() const {
  std::lock_guard lock(mu_);
  return state_->growth;
}

std::vector<TargetHealth> ChangeLog::health() const {
  std::lock_guard lock(mu_);
  return health_;
}

Result<std::string> ChangeLog::NewCheckpointLines(uint64_t offset) {
  if (options_.checkpoint_file.empty()) return std::string();
  auto lines = ReadCheckpointLines(options_.checkpoint_file, offset, options_.max_checkpoint_bytes);
  if (lines.status().code() != StatusCode::kFailedPrecondition) return lines;
  // Replaced or cut: carried again from its start (a restore keeps each line once).
  log::Warn("backup",
            "the audit checkpoint file is shorter than what the backups carry of it; it is "
            "carried again from its start",
            {{"file", options_.checkpoint_file}, {"carried_bytes", offset}});
  {
    std::lock_guard lock(mu_);
    state_->checkpoint_offset = 0;
  }
  return ReadCheckpointLines(options_.checkpoint_file, 0, options_.max_checkpoint_bytes);
}

Status ChangeLog::Spool(const Segment& segment) {
  const std::vector<uint8_t> plain = EncodeSegment(segment);
  const std::string name = SegmentName(segment.lineage, segment.seq);
  SpanSource source(plain);
  ASSIGN_OR_RETURN(auto sealed,
                   SealingSource(key_.key.span(), key_.version, name, source, options_.zstd_level));
  Status put = spool_.PutIfAbsent(name, *sealed);
  if (put.code() == StatusCode::kAlreadyExists) {
    // Left by a capture that stopped before it recorded its position: never uploaded
    // (uploads follow the recorded position), so it is replaced.
    RETURN_IF_ERROR(spool_.Delete(name));
    SpanSource again(plain);
    ASSIGN_OR_RETURN(
        sealed, SealingSource(key_.key.span(), key_.version, name, again, options_.zstd_level));
    put = spool_.PutIfAbsent(name, *sealed);
  }
  RETURN_IF_ERROR(put);
  std::lock_guard lock(mu_);
  state_->position.seq = segment.seq;
  state_->position.hash = HashBytes(plain);
  if (!segment.commits.empty()) state_->position.time_ms = segment.commits.back().time_ms;
  state_->checkpoint_offset += segment.checkpoints.size();
  uint64_t page_bytes = 0;
  for (const Commit& c : segment.commits) page_bytes += c.pages.size() * kPageBytes;
  LogGrowth& g = state_->growth;
  ++g.segments;
  g.transactions += segment.commits.size();
  g.page_bytes += page_bytes;
  state_->position.transactions += segment.commits.size();
  state_->position.page_bytes += page_bytes;
  return Status::Ok();
}

Status ChangeLog::CaptureLocked(store::ChangeReader& r, bool for_snapshot) {
  State s;
  {
    std::lock_guard lock(mu_);
    s = *state_;
  }
  if (s.position.lineage.empty() || s.continuity_lost) {
    return FailedPrecondition("the change log needs a snapshot to start a lineage");
  }
  std::vector<std::pair<uint64_t, int64_t>> times;
  {
    std::lock_guard lock(times_mu_);
    times.swap(commit_times_);
  }
  size_t next_time = 0;
  int64_t last_time = s.position.time_ms;
  const int64_t now = UnixMillis(clock_.Now());
  store::LogCursor from = s.cursor;
  // Read before the transactions: every line then covers chain heads the log holds.
  ASSIGN_OR_RETURN(std::string checkpoints, NewCheckpointLines(s.checkpoint_offset));
  for (;;) {
    auto read = r.ReadSince(from, options_.max_segment_frames);
    if (read.status().code() == StatusCode::kFailedPrecondition) {
      {
        std::lock_guard lock(mu_);
        state_->continuity_lost = true;
      }
      log::Error("backup",
                 "the change log lost continuity with the database's log (it was folded "
                 "elsewhere); a new snapshot starts a new lineage",
                 {{"lineage", s.position.lineage},
                  {"seq", static_cast<int64_t>(s.position.seq)},
                  {"reason", read.status().message()}});
      return FailedPrecondition("the change log lost continuity; a snapshot is needed");
    }
    RETURN_IF_ERROR(read.status());
    if (read->commits.empty() && checkpoints.empty()) break;
    Segment segment;
    segment.lineage = s.position.lineage;
    segment.checkpoints = std::move(checkpoints);
    checkpoints.clear();
    {
      std::lock_guard lock(mu_);
      segment.seq = state_->position.seq + 1;
      segment.prev = state_->position.hash;
    }
    for (store::CapturedCommit& c : read->commits) {
      // The observer's time for this commit: entries come in commit order.
      int64_t t = now;
      for (size_t i = next_time; i < times.size(); ++i) {
        if (times[i].first == c.mark) {
          t = times[i].second;
          next_time = i + 1;
          break;
        }
      }
      last_time = std::max(last_time, t);
      segment.commits.push_back(Commit{last_time, c.db_pages, std::move(c.pages)});
    }
    RETURN_IF_ERROR(Spool(segment));
    {
      std::lock_guard lock(mu_);
      state_->cursor = read->end;
    }
    RETURN_IF_ERROR(SaveState());
    from = read->end;
    if (read->commits.empty()) break;  // checkpoint lines alone
  }
  if (!for_snapshot && !hold_checkpoints_) {
    ASSIGN_OR_RETURN(store::LogCursor released, r.Release(from, options_.checkpoint_frames));
    if (released != from) {
      {
        std::lock_guard lock(mu_);
        state_->cursor = std::move(released);
      }
      RETURN_IF_ERROR(SaveState());
    }
  }
  return Status::Ok();
}

Status ChangeLog::Capture() {
  return capture_.WithWritesPaused(
      [&](store::ChangeReader& r) { return CaptureLocked(r, /*for_snapshot=*/false); });
}

Result<LogPosition> ChangeLog::BeginSnapshot(const std::function<Status()>& opened_at_position) {
  LogPosition at;
  RETURN_IF_ERROR(capture_.WithWritesPaused([&](store::ChangeReader& r) -> Status {
    Status captured = CaptureLocked(r, /*for_snapshot=*/true);
    const bool new_lineage = captured.code() == StatusCode::kFailedPrecondition;
    if (!captured.ok() && !new_lineage) return captured;
    store::LogCursor from;
    if (!new_lineage) {
      std::lock_guard lock(mu_);
      from = state_->cursor;
    }
    // A new lineage starts after everything the engine's log holds now.
    ASSIGN_OR_RETURN(const store::LogCursor end, r.FoldAll(from));
    {
      std::lock_guard lock(mu_);
      if (new_lineage) {
        // Strictly after everything the previous lineage holds, so "latest" prefers it.
        const int64_t time_ms = std::max(UnixMillis(clock_.Now()), state_->position.time_ms + 1);
        state_->position = LogPosition{};
        state_->position.lineage = NewLineage();
        state_->position.hash = GenesisHash(state_->position.lineage);
        state_->position.time_ms = time_ms;
        state_->continuity_lost = false;
        std::lock_guard times_lock(times_mu_);
        commit_times_.clear();
      }
      state_->cursor = end;
      state_->growth = LogGrowth{};  // a restore from this snapshot replays from here
      at = state_->position;
    }
    RETURN_IF_ERROR(SaveState());
    hold_checkpoints_ = true;
    if (opened_at_position) {
      Status opened = opened_at_position();
      if (!opened.ok()) {
        hold_checkpoints_ = false;
        return opened;
      }
    }
    return Status::Ok();
  }));
  return at;
}

void ChangeLog::EndSnapshot() { hold_checkpoints_ = false; }

Status ChangeLog::SnapshotCarriedCheckpoints(const LogPosition& at, uint64_t bytes) {
  {
    std::lock_guard lock(mu_);
    if (at.seq != 0 || state_->position.lineage != at.lineage || state_->position.seq != 0 ||
        state_->checkpoint_offset >= bytes) {
      return Status::Ok();
    }
    state_->checkpoint_offset = bytes;
  }
  return SaveState();
}

Status ChangeLog::Upload() {
  ASSIGN_OR_RETURN(std::vector<ObjectInfo> spooled, spool_.List(kChangeLogPrefix));
  Status first;
  std::vector<size_t> done(spooled.size(), 0);
  const int64_t now = UnixMillis(clock_.Now());
  for (size_t t = 0; t < targets_.size(); ++t) {
    BackupTarget& target = *targets_[t];
    Status status;
    size_t put = 0;
    for (size_t i = 0; i < spooled.size() && status.ok(); ++i) {
      if (confirmed_[t].contains(spooled[i].name)) {
        ++done[i];
        ++put;
        continue;
      }
      auto source = spool_.Get(spooled[i].name);
      if (!source.ok()) {
        status = source.status();
        break;
      }
      status = target.PutIfAbsent(spooled[i].name, **source);
      if (status.code() == StatusCode::kAlreadyExists) status = Status::Ok();
      if (status.ok()) {
        confirmed_[t].insert(spooled[i].name);
        ++done[i];
        ++put;
      }
    }
    std::lock_guard lock(mu_);
    TargetHealth& h = health_[t];
    h.pending = static_cast<int64_t>(spooled.size() - put);
    if (status.ok()) {
      h.last_success_ms = now;
      h.last_error.clear();
      h.oldest_pending_ms = 0;
    } else {
      h.last_error = status.message();
      if (h.oldest_pending_ms == 0) h.oldest_pending_ms = now;
      if (first.ok()) first = status;
    }
  }
  for (size_t i = 0; i < spooled.size(); ++i) {
    if (done[i] != targets_.size()) continue;
    RETURN_IF_ERROR(spool_.Delete(spooled[i].name));
    for (auto& names : confirmed_) names.erase(spooled[i].name);
  }
  return first;
}

}  // namespace pactum::backup
