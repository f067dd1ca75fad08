#include "backup/target_identity.h"

#include <nlohmann/json.hpp>

#include "backup/log_format.h"
#include "common/files.h"
#include "common/hex.h"
#include "crypto/random.h"

namespace pactum::backup {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxMarkerBytes = 4096;

bool IsMarkerId(std::string_view s) {
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

Result<TargetMarker> ReadMarker(BackupTarget& target) {
  ASSIGN_OR_RETURN(auto source, target.Get(kMarkerObject));
  auto bytes = ReadAll(*source, kMaxMarkerBytes);
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kDataLoss) {
      return DataLoss("the marker of backup target " + target.name() + " is damaged");
    }
    return bytes.status();
  }
  const json j = json::parse(bytes->begin(), bytes->end(), nullptr, /*allow_exceptions=*/false);
  TargetMarker m;
  if (!j.is_object() || !j.contains("format") || !j["format"].is_number_integer() ||
      j["format"].get<int64_t>() != 1 || !j.contains("id") || !j["id"].is_string() ||
      !IsMarkerId(j["id"].get<std::string>())) {
    return DataLoss("the marker of backup target " + target.name() + " is damaged");
  }
  m.id = j["id"].get<std::string>();
  if (j.contains("name") && j["name"].is_string()) m.name = j["name"].get<std::string>();
  if (j.contains("created_ms") && j["created_ms"].is_number_integer()) {
    m.created_ms = j["created_ms"].get<int64_t>();
  }
  return m;
}

Result<TargetMarker> EnsureMarker(BackupTarget& target, int64_t now_ms) {
  TargetMarker m{.id = crypto::RandomHex(16), .name = target.name(), .created_ms = now_ms};
  const std::string text =
      json{{"format", 1}, {"id", m.id}, {"name", m.name}, {"created_ms", m.created_ms}}.dump() +
      "\n";
  SpanSource source({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  Status put = target.PutIfAbsent(kMarkerObject, source);
  if (put.code() == StatusCode::kAlreadyExists) return ReadMarker(target);
  RETURN_IF_ERROR(put);
  return m;
}

Result<TargetLedger> TargetLedger::Load(std::string path) {
  TargetLedger ledger;
  ledger.path_ = std::move(path);
  auto text = ReadFile(ledger.path_);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return ledger;
    return text.status();
  }
  const json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  const auto damaged = [&] {
    return DataLoss("backup target ledger " + ledger.path_ + " is damaged");
  };
  if (!j.is_object() || !j.contains("targets") || !j["targets"].is_object()) return damaged();
  try {
    for (const auto& [name, r] : j["targets"].items()) {
      TargetRecord record;
      record.id = r.at("id").get<std::string>();
      record.since_ms = r.value("since_ms", int64_t{0});
      record.last_snapshot = r.value("last_snapshot", std::string());
      record.lost_ms = r.value("lost_ms", int64_t{0});
      record.lost_reason = r.value("lost_reason", std::string());
      record.losses = r.value("losses", int64_t{0});
      record.last_loss_ms = r.value("last_loss_ms", int64_t{0});
      if (!IsMarkerId(record.id)) return damaged();
      ledger.records_[name] = std::move(record);
    }
  } catch (const json::exception&) {
    return damaged();
  }
  return ledger;
}

Status TargetLedger::Save() const {
  json targets = json::object();
  for (const auto& [name, r] : records_) {
    targets[name] = {{"id", r.id},
                     {"since_ms", r.since_ms},
                     {"last_snapshot", r.last_snapshot},
                     {"lost_ms", r.lost_ms},
                     {"lost_reason", r.lost_reason},
                     {"losses", r.losses},
                     {"last_loss_ms", r.last_loss_ms}};
  }
  return WriteFileAtomic(path_, json{{"targets", targets}}.dump(2) + "\n", 0600);
}

const TargetRecord* TargetLedger::Find(std::string_view name) const {
  const auto it = records_.find(name);
  return it == records_.end() ? nullptr : &it->second;
}

TargetRecord* TargetLedger::Find(std::string_view name) {
  const auto it = records_.find(name);
  return it == records_.end() ? nullptr : &it->second;
}

TargetCheck CheckTarget(BackupTarget& target, const TargetRecord* record) {
  TargetCheck out;
  auto present = target.Probe();
  if (!present.ok()) {
    out.reason = present.status().message();
    return out;
  }
  if (!*present) {
    if (record == nullptr) {
      out.state = TargetState::kNew;
    } else {
      out.state = TargetState::kLost;
      out.reason = "its storage is gone (the directory or its content was deleted)";
    }
    return out;
  }
  auto marker = ReadMarker(target);
  if (!marker.ok()) {
    const StatusCode code = marker.status().code();
    if (code == StatusCode::kDataLoss) {
      out.state = TargetState::kLost;
      out.reason = "its marker " + std::string(kMarkerObject) + " is damaged";
      return out;
    }
    if (code != StatusCode::kNotFound) {
      out.reason = marker.status().message();
      return out;
    }
    if (record != nullptr) {
      out.state = TargetState::kLost;
      out.reason = "its marker " + std::string(kMarkerObject) +
                   " is gone (the target's content was deleted or replaced)";
      return out;
    }
    // Never seen by this data directory and unmarked: new when empty, else backups from
    // before markers existed, adopted as they are.
    for (std::string_view prefix : {kSnapshotPrefix, kChangeLogPrefix}) {
      auto objects = target.List(prefix);
      if (!objects.ok()) {
        out.reason = objects.status().message();
        return out;
      }
      if (!objects->empty()) {
        out.state = TargetState::kOk;
        return out;
      }
    }
    out.state = TargetState::kNew;
    return out;
  }
  out.marker = *marker;
  if (record == nullptr) {
    out.state = TargetState::kOk;  // adopted
    return out;
  }
  if (marker->id != record->id) {
    out.state = TargetState::kLost;
    out.reason = "it holds another target's marker (id " + marker->id + ", not " + record->id +
                 "): it was replaced or made anew elsewhere";
    return out;
  }
  if (!record->last_snapshot.empty()) {
    auto manifest = target.Get(SnapshotManifestName(record->last_snapshot));
    if (!manifest.ok()) {
      if (manifest.status().code() != StatusCode::kNotFound) {
        out.reason = manifest.status().message();
        return out;
      }
      out.state = TargetState::kLost;
      out.reason = "snapshot " + record->last_snapshot + ", verified there, is gone";
      return out;
    }
  }
  if (record->lost_ms != 0) {
    out.state = TargetState::kLost;
    out.reason = record->lost_reason + "; no verified snapshot on it since";
    return out;
  }
  out.state = TargetState::kOk;
  return out;
}

std::string_view TargetStateName(TargetState state) {
  switch (state) {
    case TargetState::kOk:
      return "ok";
    case TargetState::kNew:
      return "new";
    case TargetState::kLost:
      return "lost";
    case TargetState::kUnavailable:
      break;
  }
  return "unavailable";
}

}  // namespace pactum::backup
