#pragma once

// Full snapshots of the embedded database and their manifests, and rebuilding a database
// file from them (restore and the verification of every backup).
//
// A snapshot is taken online: the change log captures everything committed and
// checkpoints it into the database file, with writes paused for that moment only; then,
// while checkpoints are held off and writes go on into the WAL, the database file's pages
// are read (decrypted by the store), hashed, compressed and sealed into the spool, and
// copied from there to every target. Each copy is then proven by a restore: read back
// from the target, opened, rebuilt into a scratch database file (encrypted under a
// throw-away key), SQLite's integrity check run, its row counts and page hash compared
// with the live database's at the snapshot's position. The outcome and the restore time
// go into that target's manifest, written last: a snapshot without a manifest is
// incomplete and never used.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backup/artefact.h"
#include "backup/backup_target.h"
#include "backup/change_log.h"
#include "backup/log_format.h"
#include "common/clock.h"
#include "store/change_capture.h"

namespace pactum::backup {

struct Verification {
  bool ok = false;
  std::string error;       // empty when ok
  int64_t restore_ms = 0;  // time to read back, rebuild and check the copy
  int64_t checked_ms = 0;  // when (Unix ms)
};

struct Manifest {
  int format = 1;
  std::string id;
  std::string kind = "full";
  std::string environment;
  int64_t taken_ms = 0;    // when the snapshot was taken
  LogPosition position;    // the change-log position it holds (its time: position.time_ms)
  bool log_totals = true;  // position's transactions/page_bytes recorded (not before them)
  uint32_t pages = 0;
  uint64_t plain_bytes = 0;    // pages * 4096
  uint64_t stored_bytes = 0;   // the sealed artefact
  std::string content_sha256;  // of the pages, in order
  int schema_version = 0;
  uint32_t backup_key_version = 0;
  std::map<std::string, int64_t> row_counts;  // of the live database at the position
  std::string target;                         // the target this manifest describes
  Verification verification;

  nlohmann::json ToJson() const;
  static Result<Manifest> FromJson(const nlohmann::json& j);  // kDataLoss when malformed
};

struct SnapshotOptions {
  std::string scratch_dir;  // restores for verification go here (created, emptied)
  // The audit checkpoint file whose complete lines the snapshot carries; empty: none.
  std::string checkpoint_file;
  std::string environment;
  int schema_version = 0;
  int zstd_level = 1;
  std::function<void(uint64_t done_pages, uint64_t total_pages)> progress;
};

struct TargetOutcome {
  std::string target;
  Status status;  // of the copy and its manifest
  Verification verification;
};

struct SnapshotResult {
  Manifest manifest;  // target and verification left empty: see outcomes
  std::vector<TargetOutcome> outcomes;
  int64_t snapshot_ms = 0;  // reading, sealing and spooling
  int64_t copy_ms = 0;      // copies to the targets
  int64_t verify_ms = 0;    // restores of every copy, and the manifests

  // [{"target", "ok" (a verified copy), "error", "restore_ms"}], one per target: what
  // `pactum backup run` prints, whether it took the snapshot or the server did.
  nlohmann::json OutcomesJson() const;
};

// Takes a snapshot and stores it, verified, on every target it can reach. An error when
// the snapshot itself could not be taken; per-target failures are in the outcomes.
Result<SnapshotResult> TakeSnapshot(ChangeLog& log, store::ChangeCapture& capture,
                                    const BackupKey& key, BackupTarget& spool,
                                    const std::vector<BackupTarget*>& targets, const Clock& clock,
                                    const SnapshotOptions& options);

// Reads the sealed snapshot `id` from `target` and writes its pages into a new encrypted
// database file at `path` under `db_key`. Returns its header and the SHA-256 of its pages;
// `checkpoints`, when given, gets the audit checkpoint lines it carries.
struct WrittenSnapshot {
  SnapshotHeader header;
  crypto::Sha256Digest content{};
};
Result<WrittenSnapshot> WriteSnapshotFile(BackupTarget& target, const BackupKeyLookup& keys,
                                          std::string_view id, store::EncryptedPageWriter& out,
                                          std::string* checkpoints = nullptr);

// Verifies the copy of snapshot `manifest` on `target` (restore into `scratch_dir`).
Verification VerifySnapshot(BackupTarget& target, const BackupKeyLookup& keys,
                            const Manifest& manifest, const std::string& scratch_dir,
                            const Clock& clock);

// The manifests on `target`, oldest first; unreadable ones are reported in `damaged`.
Result<std::vector<Manifest>> ListManifests(BackupTarget& target, const BackupKeyLookup& keys,
                                            std::vector<std::string>* damaged = nullptr);

// Seals `manifest` and stores it on `target` as the snapshot's manifest.
Status PutManifest(BackupTarget& target, const BackupKey& key, const Manifest& manifest);

}  // namespace pactum::backup
