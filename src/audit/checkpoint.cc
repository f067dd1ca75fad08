#include "audit/checkpoint.h"

#include <algorithm>
#include <vector>

#include <sodium.h>
#include <nlohmann/json.hpp>

#include "common/big_endian.h"
#include "common/files.h"
#include "common/hex.h"
#include "crypto/hkdf.h"
#include "crypto/wrapped_key_file.h"

namespace pactum::audit {
namespace {}  // namespace

std::string SignedBytes(const Checkpoint& c) {
  std::string out = "pactum-audit-checkpoint-v1";
  AppendU64Be(out, static_cast<uint64_t>(c.tenant_id));
  AppendU64Be(out, static_cast<uint64_t>(c.seq));
  out.append(reinterpret_cast<const char*>(c.hash.data()), c.hash.size());
  AppendU64Be(out, static_cast<uint64_t>(c.time_ms));
  return out;
}

bool SignatureValid(const PublicKey& key, const Checkpoint& c) {
  const std::string m = SignedBytes(c);
  return crypto_sign_verify_detached(c.signature.data(),
                                     reinterpret_cast<const unsigned char*>(m.data()), m.size(),
                                     key.data()) == 0;
}

Result<AuditSigner> AuditSigner::FromSeed(std::span<const uint8_t> seed) {
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return Status(StatusCode::kInvalidArgument, "an audit signing seed has 32 bytes");
  }
  crypto::SecretBytes secret(crypto_sign_SECRETKEYBYTES);
  PublicKey pub{};
  if (crypto_sign_seed_keypair(pub.data(), secret.data(), seed.data()) != 0) {
    return Status(StatusCode::kInternal, "the audit signing key could not be derived");
  }
  return AuditSigner(std::move(secret), pub, crypto::SecretBytes::CopyOf(seed));
}

void AuditSigner::Sign(Checkpoint& c) const {
  const std::string m = SignedBytes(c);
  crypto_sign_detached(c.signature.data(), nullptr,
                       reinterpret_cast<const unsigned char*>(m.data()), m.size(), secret_.data());
}

Result<crypto::SecretBytes> AuditSigner::RedactKey() const {
  return crypto::HkdfSha256(seed_.span(), {}, "pactum-audit-redact-v1");
}

Result<AuditSigner> OpenAuditSigner(const std::string& data_dir, crypto::KeyProvider& keys,
                                    bool create) {
  const std::string path = data_dir + "/" + std::string(kSigningKeyFile);
  const crypto::KeyRef ref{"audit-signing", "server"};
  auto seed = crypto::LoadWrappedKeyFile(path, keys, ref);
  if (!seed.ok() && seed.status().code() == StatusCode::kNotFound && create) {
    seed = crypto::CreateWrappedKeyFile(path, keys, ref);
    // Another process may have created it at the same moment: use theirs.
    if (!seed.ok() && seed.status().code() == StatusCode::kAlreadyExists) {
      seed = crypto::LoadWrappedKeyFile(path, keys, ref);
    }
  }
  if (!seed.ok()) return seed.status();
  return AuditSigner::FromSeed(seed->span());
}

namespace {

Status CannotWrite(const Status& s) {
  return Unavailable("cannot write the audit checkpoint file: " + s.message(), s.detail());
}

// The length of the whole lines of `name` (`size` bytes): `size` when it ends in a newline,
// else where its last line starts (a line cut short by a crash or a failed append).
Result<uint64_t> WholeLines(Directory& dir, const std::string& name, uint64_t size) {
  constexpr uint64_t kBlock = 4096;
  std::vector<uint8_t> block(kBlock);
  for (uint64_t end = size; end > 0;) {
    const uint64_t start = end - std::min(end, kBlock);
    ASSIGN_OR_RETURN(auto source, dir.OpenFile(name, start));
    const std::span<uint8_t> want(block.data(), end - start);
    ASSIGN_OR_RETURN(const size_t got, ReadFull(*source, want));
    if (got != want.size()) return Unavailable("the audit checkpoint file shrank");
    for (size_t i = want.size(); i > 0; --i) {
      if (want[i - 1] == '\n') return start + i;
    }
    end = start;
  }
  return uint64_t{0};
}

}  // namespace

std::string CheckpointLine(const Checkpoint& c) {
  const nlohmann::json j{{"tenant", c.tenant_id},
                         {"seq", c.seq},
                         {"hash", HexEncode(c.hash)},
                         {"time_ms", c.time_ms},
                         {"sig", HexEncode(c.signature)}};
  return j.dump() + "\n";
}

Status CheckpointFile::Append(const Checkpoint& c) {
  const std::string line = CheckpointLine(c);
  const std::lock_guard lock(mu_);
  const SplitPath split = SplitLast(path_);
  auto dir = fs_.OpenDirectory(split.directory);
  if (!dir.ok()) return CannotWrite(dir.status());
  auto before = (*dir)->Stat(split.name);
  const bool creating = !before.ok() && before.status().code() == StatusCode::kNotFound;
  if (!before.ok() && !creating) return CannotWrite(before.status());
  auto file = (*dir)->OpenForAppend(split.name, 0600);
  if (!file.ok()) return CannotWrite(file.status());
  uint64_t keep = 0;  // what the file holds when this append fails
  if (!creating) {
    auto whole = WholeLines(**dir, split.name, before->size);
    if (!whole.ok()) return CannotWrite(whole.status());
    keep = *whole;
    if (keep != before->size) {
      if (Status cut = (*file)->Truncate(keep); !cut.ok()) return CannotWrite(cut);
    }
  }
  Status s = (*file)->Append(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(line.data()), line.size()));
  if (s.ok()) s = (*file)->Sync();
  // The first line: the file's name may be as new as this append (created now, or by an
  // append that failed), so the directory is synced too.
  if (s.ok() && keep == 0) s = (*dir)->Sync();
  if (!s.ok()) {
    // Best effort: when the cut fails too, the next append removes the part line.
    (void)(*file)->Truncate(keep);
    return CannotWrite(s);
  }
  return Status::Ok();
}

Result<std::vector<Checkpoint>> CheckpointFile::ReadAll() const {
  auto text = ReadFile(fs_, path_);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return std::vector<Checkpoint>();
    return text.status();
  }
  return ParseCheckpointLines(*text);
}

Result<std::vector<Checkpoint>> ParseCheckpointLines(std::string_view text) {
  std::vector<Checkpoint> out;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    ++line_no;
    if (nl == std::string::npos) break;  // cut short by a crash mid-append
    const std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    Checkpoint c;
    const bool ok = j.is_object() && j.contains("tenant") && j["tenant"].is_number_integer() &&
                    j.contains("seq") && j["seq"].is_number_integer() && j.contains("time_ms") &&
                    j["time_ms"].is_number_integer() && j.contains("hash") &&
                    j["hash"].is_string() && j.contains("sig") && j["sig"].is_string() &&
                    HexDecode(j["hash"].get<std::string>(), c.hash) &&
                    HexDecode(j["sig"].get<std::string>(), c.signature);
    if (!ok) {
      return Status(StatusCode::kDataLoss,
                    "the audit checkpoint file is damaged at line " + std::to_string(line_no));
    }
    c.tenant_id = j["tenant"].get<int64_t>();
    c.seq = j["seq"].get<int64_t>();
    c.time_ms = j["time_ms"].get<int64_t>();
    out.push_back(c);
  }
  return out;
}

Checkpointer::Checkpointer(SqlAuditLog& log, CheckpointFile& file, const AuditSigner& signer,
                           const Clock& clock, CheckpointPolicy policy)
    : log_(log), file_(file), signer_(signer), clock_(clock), policy_(policy) {}

Status Checkpointer::LoadLast() {
  ASSIGN_OR_RETURN(auto all, file_.ReadAll());
  for (const auto& c : all) {
    auto& last = last_[c.tenant_id];
    if (c.seq >= last.seq) last = c;
  }
  loaded_ = true;
  return Status::Ok();
}

Result<int> Checkpointer::Run(bool force) {
  if (!loaded_) RETURN_IF_ERROR(LoadLast());
  ASSIGN_OR_RETURN(auto chains, log_.Chains());
  const int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
          .count();
  int written = 0;
  for (const int64_t tenant : chains) {
    ASSIGN_OR_RETURN(auto head, log_.Head(tenant));
    const Checkpoint& last = last_[tenant];
    if (head.seq <= last.seq) continue;
    const bool due = force || head.seq - last.seq >= policy_.every_events ||
                     now - last.time_ms >= policy_.every_seconds * 1000;
    if (!due) continue;
    Checkpoint c;
    c.tenant_id = tenant;
    c.seq = head.seq;
    c.hash = head.hash;
    c.time_ms = now;
    signer_.Sign(c);
    RETURN_IF_ERROR(file_.Append(c));
    last_[tenant] = c;
    ++written;
  }
  return written;
}

}  // namespace pactum::audit
