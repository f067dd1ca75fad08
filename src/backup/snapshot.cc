#include "backup/snapshot.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "backup/artefact.h"
#include "backup/checkpoint_lines.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/log.h"
#include "crypto/random.h"

namespace pactum::backup {
namespace {

using json = nlohmann::json;

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

constexpr size_t kManifestLimit = 1 << 20;

// The snapshot's plaintext: its header, then every page of the database file, hashed as
// they go by, then the audit checkpoint lines from `checkpoints`. A thread of its own
// reads, decrypts and hashes the pages a few MiB ahead, so that work overlaps the
// compression and sealing of the consumer.
class SnapshotSource final : public ByteSource {
 public:
  SnapshotSource(store::PageReader& reader, const SnapshotHeader& header, ByteSource& checkpoints,
                 std::function<void(uint64_t, uint64_t)> progress)
      : reader_(reader),
        buffer_(EncodeSnapshotHeader(header)),
        pages_(header.pages),
        checkpoints_(checkpoints),
        checkpoint_bytes_(header.checkpoint_bytes),
        progress_(std::move(progress)) {}
  ~SnapshotSource() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (reader_thread_.joinable()) reader_thread_.join();
  }
  SnapshotSource(const SnapshotSource&) = delete;
  SnapshotSource& operator=(const SnapshotSource&) = delete;

  Result<size_t> Read(std::span<uint8_t> out) override {
    if (!reader_thread_.joinable() && pages_ > 0) {
      reader_thread_ = std::thread([this] { ReadPages(); });
    }
    size_t n = 0;
    while (n < out.size()) {
      if (at_ == buffer_.size()) {
        ASSIGN_OR_RETURN(const bool more, NextChunk());
        if (!more) {
          ASSIGN_OR_RETURN(const size_t got, ReadCheckpoints(out.subspan(n)));
          n += got;
          break;
        }
      }
      const size_t take = std::min(out.size() - n, buffer_.size() - at_);
      std::memcpy(out.data() + n, buffer_.data() + at_, take);
      n += take;
      at_ += take;
    }
    return n;
  }

  // Valid once the stream has been read to its end.
  crypto::Sha256Digest content() {
    std::lock_guard lock(mu_);
    return digest_;
  }

 private:
  static constexpr uint32_t kChunkPages = 256;  // 1 MiB
  static constexpr size_t kAhead = 8;           // chunks read ahead at most

  struct Chunk {
    std::vector<uint8_t> bytes;
    Status status;
  };

  // The reader thread: every page in order, in chunks.
  void ReadPages() {
    crypto::Sha256Stream hash;
    for (uint32_t first = 1; first <= pages_; first += kChunkPages) {
      const uint32_t count = std::min(kChunkPages, pages_ - first + 1);
      Chunk chunk;
      chunk.bytes.resize(size_t{count} * kPageBytes);
      for (uint32_t k = 0; k < count && chunk.status.ok(); ++k) {
        chunk.status =
            reader_.Read(first + k, std::span<uint8_t, kPageBytes>(
                                        chunk.bytes.data() + size_t{k} * kPageBytes, kPageBytes));
      }
      if (chunk.status.ok()) hash.Update(chunk.bytes);
      const bool failed = !chunk.status.ok();
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || queue_.size() < kAhead; });
      if (stop_) return;
      queue_.push_back(std::move(chunk));
      if (!failed && first + count > pages_) digest_ = hash.Finish();
      cv_.notify_all();
      if (failed) return;
    }
  }

  // After the pages: exactly checkpoint_bytes_ of checkpoint lines.
  Result<size_t> ReadCheckpoints(std::span<uint8_t> out) {
    const auto want = static_cast<size_t>(std::min<uint64_t>(out.size(), checkpoint_bytes_));
    ASSIGN_OR_RETURN(const size_t got, ReadFull(checkpoints_, out.first(want)));
    if (got != want) return DataLoss("the audit checkpoint lines ended early");
    checkpoint_bytes_ -= got;
    return got;
  }

  // The next chunk into buffer_; false at the end.
  Result<bool> NextChunk() {
    if (!failed_.ok()) return failed_;  // the reader thread has stopped: nothing more comes
    if (taken_pages_ >= pages_) return false;
    Chunk chunk;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty(); });
      chunk = std::move(queue_.front());
      queue_.pop_front();
    }
    cv_.notify_all();
    if (!chunk.status.ok()) {
      failed_ = chunk.status;
      return failed_;
    }
    buffer_ = std::move(chunk.bytes);
    at_ = 0;
    const uint64_t before = taken_pages_;
    taken_pages_ += buffer_.size() / kPageBytes;
    if (progress_ && (before / 4096 != taken_pages_ / 4096 || taken_pages_ == pages_)) {
      progress_(taken_pages_, pages_);
    }
    return true;
  }

  store::PageReader& reader_;
  std::vector<uint8_t> buffer_;  // the header first, then one chunk at a time
  size_t at_ = 0;
  const uint32_t pages_;
  ByteSource& checkpoints_;
  uint64_t checkpoint_bytes_;  // still to come
  uint64_t taken_pages_ = 0;
  Status failed_;  // the reader's error, once taken: every later Read answers it
  std::function<void(uint64_t, uint64_t)> progress_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> queue_;        // GUARDED_BY(mu_)
  bool stop_ = false;              // GUARDED_BY(mu_)
  crypto::Sha256Digest digest_{};  // GUARDED_BY(mu_), set with the last chunk
  std::thread reader_thread_;
};

// Counts the bytes that pass through.
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(ByteSource& inner) : inner_(inner) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    ASSIGN_OR_RETURN(const size_t n, inner_.Read(out));
    bytes_ += n;
    return n;
  }
  uint64_t bytes() const { return bytes_; }

 private:
  ByteSource& inner_;
  uint64_t bytes_ = 0;
};

// A scratch database path that does not exist yet.
std::string ScratchPath(const std::string& dir) {
  return dir + "/verify-" + crypto::RandomHex(8) + ".db";
}

}  // namespace

json Manifest::ToJson() const {
  return {{"format", format},
          {"id", id},
          {"kind", kind},
          {"environment", environment},
          {"taken_ms", taken_ms},
          {"position",
           {{"lineage", position.lineage},
            {"seq", position.seq},
            {"hash", crypto::HexDigest(position.hash)},
            {"time_ms", position.time_ms},
            {"transactions", position.transactions},
            {"page_bytes", position.page_bytes}}},
          {"pages", pages},
          {"plain_bytes", plain_bytes},
          {"stored_bytes", stored_bytes},
          {"content_sha256", content_sha256},
          {"schema_version", schema_version},
          {"backup_key_version", backup_key_version},
          {"row_counts", row_counts},
          {"target", target},
          {"verification",
           {{"ok", verification.ok},
            {"error", verification.error},
            {"restore_ms", verification.restore_ms},
            {"checked_ms", verification.checked_ms}}}};
}

json SnapshotResult::OutcomesJson() const {
  json out = json::array();
  for (const TargetOutcome& o : outcomes) {
    out.push_back({{"target", o.target},
                   {"ok", o.status.ok() && o.verification.ok},
                   {"error", !o.status.ok() ? o.status.message() : o.verification.error},
                   {"restore_ms", o.verification.restore_ms}});
  }
  return out;
}

Result<Manifest> Manifest::FromJson(const json& j) {
  try {
    Manifest m;
    m.format = j.at("format").get<int>();
    if (m.format != 1) return DataLoss("manifest format " + std::to_string(m.format) + " unknown");
    m.id = j.at("id").get<std::string>();
    m.kind = j.at("kind").get<std::string>();
    m.environment = j.at("environment").get<std::string>();
    m.taken_ms = j.at("taken_ms").get<int64_t>();
    const json& p = j.at("position");
    m.position.lineage = p.at("lineage").get<std::string>();
    m.position.seq = p.at("seq").get<uint64_t>();
    const std::string hash = p.at("hash").get<std::string>();
    m.position.time_ms = p.at("time_ms").get<int64_t>();
    m.log_totals = p.contains("transactions") && p.contains("page_bytes");
    if (m.log_totals) {
      m.position.transactions = p.at("transactions").get<uint64_t>();
      m.position.page_bytes = p.at("page_bytes").get<uint64_t>();
    }
    if (!IsLineage(m.position.lineage) || !HexDecode(hash, m.position.hash)) {
      return DataLoss("manifest position is malformed");
    }
    m.pages = j.at("pages").get<uint32_t>();
    m.plain_bytes = j.at("plain_bytes").get<uint64_t>();
    m.stored_bytes = j.at("stored_bytes").get<uint64_t>();
    m.content_sha256 = j.at("content_sha256").get<std::string>();
    m.schema_version = j.at("schema_version").get<int>();
    m.backup_key_version = j.at("backup_key_version").get<uint32_t>();
    m.row_counts = j.at("row_counts").get<std::map<std::string, int64_t>>();
    m.target = j.at("target").get<std::string>();
    const json& v = j.at("verification");
    m.verification.ok = v.at("ok").get<bool>();
    m.verification.error = v.at("error").get<std::string>();
    m.verification.restore_ms = v.at("restore_ms").get<int64_t>();
    m.verification.checked_ms = v.at("checked_ms").get<int64_t>();
    return m;
  } catch (const std::exception&) {
    return DataLoss("manifest is malformed");
  }
}

Status PutManifest(BackupTarget& target, const BackupKey& key, const Manifest& manifest) {
  const std::string text = manifest.ToJson().dump();
  SpanSource plain({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  const std::string name = SnapshotManifestName(manifest.id);
  ASSIGN_OR_RETURN(auto sealed, SealingSource(key.key.span(), key.version, name, plain, 3));
  return target.PutIfAbsent(name, *sealed);
}

Result<std::vector<Manifest>> ListManifests(BackupTarget& target, const BackupKeyLookup& keys,
                                            std::vector<std::string>* damaged) {
  ASSIGN_OR_RETURN(const std::vector<ObjectInfo> objects, target.List(kSnapshotPrefix));
  std::vector<Manifest> out;
  for (const ObjectInfo& o : objects) {
    const std::string id = SnapshotIdOfManifest(o.name);
    if (id.empty()) continue;
    auto read = [&]() -> Result<Manifest> {
      ASSIGN_OR_RETURN(auto sealed, target.Get(o.name));
      ASSIGN_OR_RETURN(auto plain, OpeningSource(keys, o.name, *sealed));
      ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, ReadAll(*plain, kManifestLimit));
      const json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
      if (j.is_discarded()) return DataLoss("manifest is not JSON");
      ASSIGN_OR_RETURN(Manifest m, Manifest::FromJson(j));
      if (m.id != id) return DataLoss("manifest names another snapshot");
      return m;
    };
    auto m = read();
    if (!m.ok()) {
      if (m.status().code() == StatusCode::kUnavailable) return m.status();
      if (damaged != nullptr) damaged->push_back(o.name + ": " + m.status().message());
      continue;
    }
    out.push_back(std::move(m).value());
  }
  std::sort(out.begin(), out.end(),
            [](const Manifest& a, const Manifest& b) { return a.taken_ms < b.taken_ms; });
  return out;
}

Result<WrittenSnapshot> WriteSnapshotFile(BackupTarget& target, const BackupKeyLookup& keys,
                                          std::string_view id, store::EncryptedPageWriter& out,
                                          std::string* checkpoints) {
  const std::string name = SnapshotDataName(id);
  ASSIGN_OR_RETURN(auto sealed, target.Get(name));
  ASSIGN_OR_RETURN(auto plain, OpeningSource(keys, name, *sealed));
  std::vector<uint8_t> header(kSnapshotHeaderBytesV1);
  ASSIGN_OR_RETURN(size_t got, ReadFull(*plain, header));
  if (got == header.size() && SnapshotHeaderSize(header) > header.size()) {
    header.resize(SnapshotHeaderSize(header));
    ASSIGN_OR_RETURN(got, ReadFull(*plain, std::span(header).subspan(kSnapshotHeaderBytesV1)));
    got += kSnapshotHeaderBytesV1;
  }
  if (got != header.size()) return DataLoss("snapshot " + std::string(id) + " is truncated");
  WrittenSnapshot written;
  ASSIGN_OR_RETURN(written.header, DecodeSnapshotHeader(header));
  crypto::Sha256Stream hash;
  std::array<uint8_t, kPageBytes> page{};
  for (uint32_t p = 1; p <= written.header.pages; ++p) {
    ASSIGN_OR_RETURN(got, ReadFull(*plain, page));
    if (got != page.size()) return DataLoss("snapshot " + std::string(id) + " is truncated");
    hash.Update(page);
    RETURN_IF_ERROR(out.Write(p, page));
  }
  std::string lines(written.header.checkpoint_bytes, '\0');
  ASSIGN_OR_RETURN(got, ReadFull(*plain, {reinterpret_cast<uint8_t*>(lines.data()), lines.size()}));
  if (got != lines.size()) return DataLoss("snapshot " + std::string(id) + " is truncated");
  if (checkpoints != nullptr) *checkpoints = std::move(lines);
  std::array<uint8_t, 1> extra{};
  ASSIGN_OR_RETURN(got, ReadFull(*plain, extra));
  if (got != 0) return DataLoss("snapshot " + std::string(id) + " has bytes past its pages");
  written.content = hash.Finish();
  return written;
}

Verification VerifySnapshot(BackupTarget& target, const BackupKeyLookup& keys,
                            const Manifest& manifest, const std::string& scratch_dir,
                            const Clock& clock) {
  const auto start = std::chrono::steady_clock::now();
  Verification v;
  const std::string path = ScratchPath(scratch_dir);
  auto check = [&]() -> Status {
    std::error_code ec;
    std::filesystem::create_directories(scratch_dir, ec);
    crypto::SecretBytes scratch_key(32);
    crypto::RandomBytes(scratch_key.span());
    ASSIGN_OR_RETURN(auto writer, store::EncryptedPageWriter::Create(path, scratch_key.span()));
    ASSIGN_OR_RETURN(const WrittenSnapshot written,
                     WriteSnapshotFile(target, keys, manifest.id, *writer));
    RETURN_IF_ERROR(writer->Finish());
    if (crypto::HexDigest(written.content) != manifest.content_sha256) {
      return DataLoss("the copy's pages do not hash to the snapshot's content hash");
    }
    if (written.header.position.lineage != manifest.position.lineage ||
        written.header.position.seq != manifest.position.seq ||
        written.header.position.hash != manifest.position.hash) {
      return DataLoss("the copy holds another change-log position than its manifest");
    }
    ASSIGN_OR_RETURN(const store::DatabaseFileCheck c,
                     store::CheckDatabaseFile(path, scratch_key.span()));
    if (!c.integrity_ok) return DataLoss("integrity check of the restored copy: " + c.integrity);
    if (c.row_counts != manifest.row_counts) {
      return DataLoss("the restored database's row counts differ from the live database's");
    }
    return Status::Ok();
  };
  const Status s = check();
  store::RemoveDatabaseFiles(path);
  v.ok = s.ok();
  if (!s.ok()) v.error = s.message();
  v.restore_ms = ElapsedMs(start);
  v.checked_ms = UnixMillis(clock.Now());
  return v;
}

Result<SnapshotResult> TakeSnapshot(ChangeLog& log, store::ChangeCapture& capture,
                                    const BackupKey& key, BackupTarget& spool,
                                    const std::vector<BackupTarget*>& targets, const Clock& clock,
                                    const SnapshotOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  SnapshotResult result;
  Manifest& m = result.manifest;
  m.taken_ms = UnixMillis(clock.Now());
  m.id = NewSnapshotId(m.taken_ms);
  m.environment = options.environment;
  m.schema_version = options.schema_version;
  m.backup_key_version = key.version;

  std::unique_ptr<store::PageReader> reader;
  std::unique_ptr<ByteSource> checkpoints;
  uint64_t checkpoint_bytes = 0;
  ASSIGN_OR_RETURN(m.position, log.BeginSnapshot([&]() -> Status {
    ASSIGN_OR_RETURN(reader, capture.OpenPageReader());
    if (options.checkpoint_file.empty()) {
      checkpoints = std::make_unique<SpanSource>(std::span<const uint8_t>());
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(checkpoints, OpenCheckpointLines(options.checkpoint_file, &checkpoint_bytes));
    return Status::Ok();
  }));
  struct Release {
    ChangeLog& log;
    ~Release() { log.EndSnapshot(); }
  } release{log};
  RETURN_IF_ERROR(log.SnapshotCarriedCheckpoints(m.position, checkpoint_bytes));

  ASSIGN_OR_RETURN(m.row_counts, reader->CountRows());
  ASSIGN_OR_RETURN(m.pages, reader->PageCount());
  m.plain_bytes = uint64_t{m.pages} * kPageBytes;
  SnapshotSource source(*reader, SnapshotHeader{m.position, m.pages, checkpoint_bytes},
                        *checkpoints, options.progress);
  const std::string data_name = SnapshotDataName(m.id);
  {
    ASSIGN_OR_RETURN(auto sealed, SealingSource(key.key.span(), key.version, data_name, source,
                                                options.zstd_level));
    CountingSource counted(*sealed);
    RETURN_IF_ERROR(spool.PutIfAbsent(data_name, counted));
    m.stored_bytes = counted.bytes();
  }
  m.content_sha256 = crypto::HexDigest(source.content());
  reader.reset();  // ends the pinned read before checkpoints resume
  log.EndSnapshot();
  result.snapshot_ms = ElapsedMs(start);

  // Copies first (the snapshot is on every target as early as it can be), then each copy
  // proven by a restore, then each target's manifest.
  const auto copy_start = std::chrono::steady_clock::now();
  for (BackupTarget* target : targets) {
    TargetOutcome outcome{.target = target->name()};
    auto from_spool = spool.Get(data_name);
    outcome.status =
        from_spool.ok() ? target->PutIfAbsent(data_name, **from_spool) : from_spool.status();
    result.outcomes.push_back(std::move(outcome));
  }
  result.copy_ms = ElapsedMs(copy_start);
  const auto verify_start = std::chrono::steady_clock::now();
  const BackupKeyLookup keys = [&key](uint32_t version) -> Result<crypto::SecretBytes> {
    if (version != key.version) return NotFound("backup key version " + std::to_string(version));
    return crypto::SecretBytes::CopyOf(key.key.span());
  };
  bool all = true;
  for (size_t i = 0; i < targets.size(); ++i) {
    BackupTarget& target = *targets[i];
    TargetOutcome& outcome = result.outcomes[i];
    if (outcome.status.ok()) {
      outcome.verification = VerifySnapshot(target, keys, m, options.scratch_dir, clock);
      if (!outcome.verification.ok) {
        log::Error(
            "backup", "a backup failed its verification by restore",
            {{"snapshot", m.id}, {"target", target.name()}, {"error", outcome.verification.error}});
      }
      Manifest per_target = m;
      per_target.target = target.name();
      per_target.verification = outcome.verification;
      outcome.status = PutManifest(target, key, per_target);
    }
    if (!outcome.status.ok() || !outcome.verification.ok) all = false;
  }
  result.verify_ms = ElapsedMs(verify_start);
  if (all) RETURN_IF_ERROR(spool.Delete(data_name));
  return result;
}

}  // namespace pactum::backup
