#include "backup/restore.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

#include "backup/artefact.h"

namespace pactum::backup {
namespace {

// A segment holds at most max_segment_frames pages (16 MiB by default); the limit only
// bounds what a damaged or hostile artefact can make a restore allocate.
constexpr size_t kSegmentLimit = size_t{1} << 30;

struct Candidate {
  Manifest manifest;
  std::vector<BackupTarget*> targets;  // with a verified copy, in order of preference
};

// The segment `seq` of `at.lineage` from the first target with an intact copy that links
// to `at`. nullopt with `missing` when no target has it.
Result<std::optional<Segment>> FetchSegment(const RestoreRequest& request, const LogPosition& at,
                                            uint64_t seq, std::vector<std::string>& notes,
                                            crypto::Sha256Digest* hash) {
  const std::string name = SegmentName(at.lineage, seq);
  std::vector<std::string> problems;
  for (BackupTarget* target : request.targets) {
    auto read = [&]() -> Result<std::optional<Segment>> {
      auto sealed = target->Get(name);
      if (!sealed.ok()) {
        if (sealed.status().code() == StatusCode::kNotFound) return std::optional<Segment>();
        return sealed.status();
      }
      ASSIGN_OR_RETURN(auto plain, OpeningSource(request.keys, name, **sealed));
      ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, ReadAll(*plain, kSegmentLimit));
      ASSIGN_OR_RETURN(Segment segment, DecodeSegment(bytes));
      if (segment.lineage != at.lineage || segment.seq != seq) {
        return DataLoss("it belongs to another place in the log (lineage or number differ)");
      }
      if (segment.prev != at.hash) {
        return DataLoss("it does not link to the segment before it (hash chain broken)");
      }
      *hash = HashBytes(bytes);
      return std::optional<Segment>(std::move(segment));
    };
    auto got = read();
    if (got.ok() && got->has_value()) return got;
    if (!got.ok()) {
      problems.push_back(target->name() + ": " + got.status().message());
      notes.push_back("segment " + std::to_string(seq) + " on " + target->name() +
                      " skipped: " + got.status().message());
    }
  }
  if (!problems.empty()) {
    std::string all;
    for (const std::string& p : problems) all += (all.empty() ? "" : "; ") + p;
    return DataLoss("change-log segment " + std::to_string(seq) + " of lineage " + at.lineage +
                    " is damaged on every target that has it (" + all + ")");
  }
  return std::optional<Segment>();
}

// Whether any target holds a segment of `lineage` numbered above `seq`.
bool LaterSegmentExists(const RestoreRequest& request, const std::string& lineage, uint64_t seq) {
  const std::string prefix = std::string(kChangeLogPrefix) + lineage + "/";
  for (BackupTarget* target : request.targets) {
    auto list = target->List(prefix);
    if (!list.ok()) continue;
    for (const ObjectInfo& o : *list) {
      if (o.name > SegmentName(lineage, seq)) return true;
    }
  }
  return false;
}

Status Link(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) != 0) {
    return FailedPrecondition("cannot create " + to + ": " +
                              std::error_code(errno, std::generic_category()).message());
  }
  ::unlink(from.c_str());
  return Status::Ok();
}

}  // namespace

Result<RestoreReport> Restore(const RestoreRequest& request) {
  RestoreReport report;
  // Every verified snapshot, merged across targets.
  std::map<std::string, Candidate> candidates;
  // Per lineage, the positions verified snapshots hold (at any time): a segment a newer
  // snapshot covers may have been pruned, which is no gap.
  std::map<std::string, std::vector<uint64_t>> covered;
  Status last_error;
  for (BackupTarget* target : request.targets) {
    std::vector<std::string> damaged;
    auto manifests = ListManifests(*target, request.keys, &damaged);
    if (!manifests.ok()) {
      report.notes.push_back(target->name() + " unreadable: " + manifests.status().message());
      last_error = manifests.status();
      continue;
    }
    for (const std::string& d : damaged) report.notes.push_back(target->name() + ": " + d);
    for (Manifest& m : *manifests) {
      if (!m.verification.ok) continue;
      if (!request.environment.empty() && m.environment != request.environment) continue;
      covered[m.position.lineage].push_back(m.position.seq);
      if (request.at_ms && m.position.time_ms > *request.at_ms) continue;
      Candidate& c = candidates[m.id];
      if (c.targets.empty()) c.manifest = m;
      c.targets.push_back(target);
    }
  }
  std::vector<Candidate*> ordered;
  ordered.reserve(candidates.size());
  for (auto& [id, c] : candidates) ordered.push_back(&c);
  std::sort(ordered.begin(), ordered.end(), [](const Candidate* a, const Candidate* b) {
    if (a->manifest.position.time_ms != b->manifest.position.time_ms) {
      return a->manifest.position.time_ms > b->manifest.position.time_ms;
    }
    return a->manifest.taken_ms > b->manifest.taken_ms;
  });
  if (ordered.empty()) {
    if (!last_error.ok() && candidates.empty() && report.notes.size() == request.targets.size()) {
      return last_error;
    }
    return NotFound(request.at_ms ? "no verified backup at or before the requested time"
                                  : "no verified backup on any target");
  }

  const std::string partial = request.db_path + ".restoring";
  store::RemoveDatabaseFiles(partial);
  std::unique_ptr<store::EncryptedPageWriter> writer;
  const Candidate* chosen = nullptr;
  // The newest snapshot first; an older one when every copy of it is damaged.
  for (const Candidate* c : ordered) {
    for (BackupTarget* target : c->targets) {
      store::RemoveDatabaseFiles(partial);
      ASSIGN_OR_RETURN(writer, store::EncryptedPageWriter::Create(partial, request.db_key.span()));
      if (request.progress) request.progress("snapshot", 0, c->manifest.pages);
      report.checkpoints.clear();
      auto written =
          WriteSnapshotFile(*target, request.keys, c->manifest.id, *writer, &report.checkpoints);
      Status s = written.status();
      if (s.ok() && crypto::HexDigest(written->content) != c->manifest.content_sha256) {
        s = DataLoss("its pages do not match the manifest's content hash");
      }
      if (s.ok()) {
        chosen = c;
        report.snapshot_target = target->name();
        break;
      }
      writer.reset();
      report.notes.push_back("snapshot " + c->manifest.id + " on " + target->name() +
                             " skipped: " + s.message());
    }
    if (chosen != nullptr) break;
  }
  if (chosen == nullptr) {
    store::RemoveDatabaseFiles(partial);
    return DataLoss("every copy of every eligible snapshot is damaged");
  }
  report.snapshot_id = chosen->manifest.id;
  report.snapshot_time_ms = chosen->manifest.position.time_ms;
  LogPosition at = chosen->manifest.position;
  report.restored_to_ms = at.time_ms;

  auto apply = [&]() -> Status {
    for (uint64_t seq = at.seq + 1;; ++seq) {
      crypto::Sha256Digest hash{};
      ASSIGN_OR_RETURN(std::optional<Segment> segment,
                       FetchSegment(request, at, seq, report.notes, &hash));
      if (!segment) {
        const auto& seqs = covered[at.lineage];
        if (std::any_of(seqs.begin(), seqs.end(), [&](uint64_t s) { return s >= seq; })) {
          // Pruned: outside the point-in-time window only snapshots are kept, and a newer
          // snapshot (after the instant asked for) holds this segment's changes.
          report.notes.push_back("the change log after snapshot " + chosen->manifest.id +
                                 " was pruned (outside the point-in-time window): restored "
                                 "to the snapshot's own time");
          return Status::Ok();
        }
        if (LaterSegmentExists(request, at.lineage, seq)) {
          return DataLoss("change-log gap: segment " + std::to_string(seq) + " of lineage " +
                          at.lineage + " is missing on every target, later ones exist");
        }
        return Status::Ok();  // the end of the log
      }
      report.checkpoints += segment->checkpoints;
      for (const Commit& c : segment->commits) {
        if (request.at_ms && c.time_ms > *request.at_ms) return Status::Ok();
        for (const store::PageImage& p : c.pages) RETURN_IF_ERROR(writer->Write(p.pgno, p.bytes));
        RETURN_IF_ERROR(writer->Truncate(c.db_pages));
        ++report.commits;
        report.restored_to_ms = c.time_ms;
      }
      at.seq = seq;
      at.hash = hash;
      at.time_ms = report.restored_to_ms;
      ++report.segments;
      if (request.progress) request.progress("change log", report.segments, 0);
    }
  };
  Status applied = apply();
  if (applied.ok()) applied = writer->Finish();
  writer.reset();
  if (applied.ok()) {
    auto check = store::CheckDatabaseFile(partial, request.db_key.span());
    if (!check.ok()) {
      applied = check.status();
    } else if (!check->integrity_ok) {
      applied =
          DataLoss("the restored database fails SQLite's integrity check: " + check->integrity);
    } else {
      report.check = *check;
    }
  }
  if (applied.ok()) applied = Link(partial, request.db_path);
  if (!applied.ok()) {
    store::RemoveDatabaseFiles(partial);
    return applied;
  }
  store::RemoveDatabaseFiles(partial);
  report.reached = at;
  return report;
}

}  // namespace pactum::backup
