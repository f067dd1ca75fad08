#pragma once

// Signed checkpoints of the audit chains. Every so many events or seconds the server
// signs (Ed25519, libsodium) each chain's head — tenant, sequence number, hash, time —
// and appends it to a file of its own beside the database (<data>/audit-checkpoints.jsonl),
// apart from the events: an attacker who deletes the newest events and every trace of
// them in the database still leaves a signed statement that they existed.
//
// The signing key is a 32-byte Ed25519 seed kept wrapped by the master key in
// <data>/audit-signing.key; the key that redacts secret identifiers in events is derived
// from it (HKDF, "pactum-audit-redact-v1").

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "audit/event_codec.h"
#include "audit/sql_audit_log.h"
#include "common/clock.h"
#include "common/file_system.h"
#include "common/status.h"
#include "crypto/key_provider.h"
#include "crypto/secret.h"

namespace pactum::audit {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

struct Checkpoint {
  int64_t tenant_id = 0;
  int64_t seq = 0;
  Hash hash{};
  int64_t time_ms = 0;
  Signature signature{};
};

// The bytes a checkpoint's signature covers.
std::string SignedBytes(const Checkpoint& c);

bool SignatureValid(const PublicKey& key, const Checkpoint& c);

// Holds the Ed25519 secret key (locked memory). Thread-safe (const).
class AuditSigner {
 public:
  // From a 32-byte seed.
  static Result<AuditSigner> FromSeed(std::span<const uint8_t> seed);

  // Fills c.signature.
  void Sign(Checkpoint& c) const;
  const PublicKey& public_key() const { return public_key_; }
  // The key of SqlAuditLog::Redact.
  Result<crypto::SecretBytes> RedactKey() const;

 private:
  AuditSigner(crypto::SecretBytes secret, PublicKey pub, crypto::SecretBytes seed)
      : secret_(std::move(secret)), public_key_(pub), seed_(std::move(seed)) {}
  crypto::SecretBytes secret_;
  PublicKey public_key_{};
  crypto::SecretBytes seed_;
};

inline constexpr std::string_view kSigningKeyFile = "audit-signing.key";
inline constexpr std::string_view kCheckpointFile = "audit-checkpoints.jsonl";

// Loads <data_dir>/audit-signing.key, creating it when `create` and it does not exist.
// Errors as crypto::LoadWrappedKeyFile.
Result<AuditSigner> OpenAuditSigner(const std::string& data_dir, crypto::KeyProvider& keys,
                                    bool create);

// A checkpoint as one line of the checkpoint file (JSON, ending in '\n'), and the lines
// of such text back (a last line without its '\n' is ignored; any other unreadable line
// is kDataLoss naming it).
std::string CheckpointLine(const Checkpoint& c);
Result<std::vector<Checkpoint>> ParseCheckpointLines(std::string_view text);

// JSON lines, one checkpoint each, appended and fsynced, through `fs` (which must outlive
// it). One process appends (the server); others may read. Thread-safe.
class CheckpointFile {
 public:
  CheckpointFile(FileSystem& fs, std::string path) : fs_(fs), path_(std::move(path)) {}

  // OK once the line is durable (for the first line, with the file's directory entry).
  // On error (kUnavailable) the file is cut back to what it held, so a failed append never
  // leaves part of a line for the next one to run into; a last line cut short by a crash
  // (or by a cut that failed too) is removed before the next line is appended.
  Status Append(const Checkpoint& c);

  // Every checkpoint in file order; an empty list when the file does not exist. A last
  // line cut short by a crash is ignored; any other unreadable line is kDataLoss naming it.
  // kInternal when the file cannot be read.
  Result<std::vector<Checkpoint>> ReadAll() const;
  const std::string& path() const { return path_; }

 private:
  FileSystem& fs_;
  const std::string path_;
  std::mutex mu_;  // serializes appends
};

struct CheckpointPolicy {
  int64_t every_events = 1000;  // sign once a chain has grown by this many events
  int64_t every_seconds = 60;   // or once its newest checkpoint is this old
};

// Decides when to sign. Thread-compatible: one caller at a time (the server's timer).
class Checkpointer {
 public:
  Checkpointer(SqlAuditLog& log, CheckpointFile& file, const AuditSigner& signer,
               const Clock& clock, CheckpointPolicy policy);

  // Signs a checkpoint for each chain that grew by policy.every_events or, having grown,
  // whose last checkpoint is older than every_seconds; with `force`, for each chain that
  // grew at all (at shutdown). Returns how many were written.
  Result<int> Run(bool force);

 private:
  Status LoadLast();
  SqlAuditLog& log_;
  CheckpointFile& file_;
  const AuditSigner& signer_;
  const Clock& clock_;
  const CheckpointPolicy policy_;
  bool loaded_ = false;
  std::map<int64_t, Checkpoint> last_;  // per chain
};

}  // namespace pactum::audit
