// Restoring a whole data directory from the backups of a real one: the encrypted SQLite
// store, the audit trail with its signed checkpoints, the backup service's snapshots and
// change log on two local targets, a fake clock.

#include "backup/restore_directory.h"

#include "common/file_system.h"

#include <malloc.h>
#include <sys/types.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>

#include "audit/checkpoint.h"
#include "audit/event_codec.h"
#include "audit/sql_audit_log.h"
#include "audit/verifier.h"
#include "backup/backup_service.h"
#include "crypto/local_key_provider.h"
#include "crypto/random.h"
#include "crypto/wrapped_key_file.h"
#include "store/sqlite_database.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace pactum::backup {
namespace {

using namespace std::chrono_literals;
using testing_support::FakeClock;
using testing_support::TempDir;

crypto::KeyRef DatabaseKey() { return {"database", "main"}; }

// A data directory as the server keeps it, its audit trail and its backups.
class Source {
 public:
  explicit Source(const TempDir& dir) : data_(dir.File("data")), backups_(dir.File("backups")) {
    std::filesystem::create_directories(data_);
    auto kek = crypto::LocalKeyProvider::Create(data_ + "/master.key", "dev");
    EXPECT_TRUE(kek.ok()) << kek.status().ToString();
    kek_ = std::move(kek).value();
    auto db_key = crypto::CreateWrappedKeyFile(data_ + "/pactum.db-key", *kek_, DatabaseKey());
    EXPECT_TRUE(db_key.ok());
    store::SqliteOptions o;
    o.path = data_ + "/pactum.db";
    o.key = std::make_shared<const crypto::SecretBytes>(std::move(db_key).value());
    o.external_checkpoints = true;
    auto db = store::OpenSqliteDatabase(o);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto signer = audit::OpenAuditSigner(data_, *kek_, /*create=*/true);
    EXPECT_TRUE(signer.ok());
    signer_ = std::make_unique<audit::AuditSigner>(std::move(signer).value());
    auto redact = signer_->RedactKey();
    EXPECT_TRUE(redact.ok());
    log_ = std::make_unique<audit::SqlAuditLog>(*db_, clock, std::move(redact).value());
    file_ = std::make_unique<audit::CheckpointFile>(
        LocalFileSystem(), data_ + "/" + std::string(audit::kCheckpointFile));
    // Signs only when told to (Checkpoint()).
    checkpointer_ = std::make_unique<audit::Checkpointer>(
        *log_, *file_, *signer_, clock,
        audit::CheckpointPolicy{.every_events = 1'000'000, .every_seconds = 1'000'000});
    auto service = BackupService::Open(*db_, *kek_, clock, LocalFileSystem(),
                                       {.data_dir = data_,
                                        .backup_dir = backups_,
                                        .target_names = {"site-a", "site-b"},
                                        .environment = "dev"});
    EXPECT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(service).value();
  }

  // Events on the platform's chain, one per second.
  void Record(int n) {
    for (int i = 0; i < n; ++i) {
      clock.Advance(1s);
      audit::Event e{.action = "contract.view", .target = "contract:" + std::to_string(i)};
      e.actor = audit::Actor::System(0);
      ASSERT_TRUE(log_->Record(e).ok());
    }
  }

  // Signs a checkpoint of every chain that grew.
  void Checkpoint() {
    auto n = checkpointer_->Run(/*force=*/true);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
  }

  // A checkpoint this server's key signed of a position the chain never held.
  void ForgeCheckpoint(int64_t seq) {
    audit::Checkpoint c{.tenant_id = 0, .seq = seq, .time_ms = UnixMillis(clock.Now())};
    crypto::RandomBytes(c.hash);
    signer_->Sign(c);
    ASSERT_TRUE(file_->Append(c).ok());
  }

  void Snapshot() { ASSERT_TRUE(service_->RunOnce(/*force_snapshot=*/true).ok()); }
  void Ship() { ASSERT_TRUE(service_->RunOnce(/*force_snapshot=*/false).ok()); }

  // The backups alone are left: the keys and the database close.
  void Close() {
    service_.reset();
    checkpointer_.reset();
    log_.reset();
    db_.reset();
  }

  // Targets of their own on the backup directory.
  std::vector<BackupTarget*> Targets() {
    if (targets_.empty()) {
      auto opened = OpenTargets(LocalFileSystem(), backups_, {"site-a", "site-b"});
      EXPECT_TRUE(opened.ok());
      targets_ = std::move(opened).value();
    }
    std::vector<BackupTarget*> out;
    for (auto& t : targets_) out.push_back(t.get());
    return out;
  }

  DirectoryRestoreRequest Request(const std::string& to, std::optional<int64_t> at_ms) {
    DirectoryRestoreRequest r;
    r.at_ms = at_ms;
    r.at_text = at_ms ? audit::FormatTimeMs(*at_ms) : "latest";
    r.to = to;
    r.data_dir = data_;
    r.kek = kek_.get();
    r.kek_file = data_ + "/master.key";
    r.targets = Targets();
    r.environment = "dev";
    r.source_backups = {true, backups_, {"site-a", "site-b"}};
    r.restored_backups = r.source_backups;
    return r;
  }

  crypto::KeyProvider& kek() { return *kek_; }
  const std::string& data() const { return data_; }
  const std::string& backups() const { return backups_; }

  FakeClock clock;

 private:
  std::string data_;
  std::string backups_;
  std::unique_ptr<crypto::KeyProvider> kek_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<audit::AuditSigner> signer_;
  std::unique_ptr<audit::SqlAuditLog> log_;
  std::unique_ptr<audit::CheckpointFile> file_;
  std::unique_ptr<audit::Checkpointer> checkpointer_;
  std::unique_ptr<BackupService> service_;
  std::vector<std::unique_ptr<BackupTarget>> targets_;
};

// `pactum audit verify` of the platform's chain in a restored directory, opened with
// nothing but what the directory holds.
Result<audit::ChainReport> VerifyPlatformChain(const std::string& dir) {
  FakeClock clock;
  ASSIGN_OR_RETURN(auto kek, crypto::LocalKeyProvider::Load(dir + "/master.key", "dev"));
  ASSIGN_OR_RETURN(crypto::SecretBytes key,
                   crypto::LoadWrappedKeyFile(dir + "/pactum.db-key", *kek, DatabaseKey()));
  store::SqliteOptions o;
  o.path = dir + "/pactum.db";
  o.key = std::make_shared<const crypto::SecretBytes>(std::move(key));
  ASSIGN_OR_RETURN(auto db, store::OpenSqliteDatabase(o));
  ASSIGN_OR_RETURN(const audit::AuditSigner signer,
                   audit::OpenAuditSigner(dir, *kek, /*create=*/false));
  ASSIGN_OR_RETURN(crypto::SecretBytes redact, signer.RedactKey());
  audit::SqlAuditLog log(*db, clock, std::move(redact));
  ASSIGN_OR_RETURN(
      const auto checkpoints,
      audit::CheckpointFile(LocalFileSystem(), dir + "/" + std::string(audit::kCheckpointFile))
          .ReadAll());
  return audit::VerifyChain(log, checkpoints, signer.public_key(), 0);
}

TEST(RestoreDataDirectory, BringsBackTheCheckpointsThatCoverTheRestoredChains) {
  TempDir dir;
  Source source(dir);
  source.Snapshot();
  source.Record(3);
  source.Checkpoint();  // seq 3
  source.Ship();
  source.clock.Advance(10s);
  const int64_t between = UnixMillis(source.clock.Now());
  source.clock.Advance(10s);
  source.Record(3);
  source.ForgeCheckpoint(2);  // signed, but not of this chain's event 2
  source.Checkpoint();        // seq 6
  source.Ship();
  source.Close();

  // Between the two checkpoints: the earlier holds, the later names events not restored.
  auto mid = RestoreDataDirectory(source.Request(dir.File("mid"), between), source.clock);
  ASSERT_TRUE(mid.ok()) << mid.status().ToString();
  EXPECT_EQ(mid->audit_checkpoints, 1);
  EXPECT_EQ(mid->audit_checkpoints_left_out, 2);
  EXPECT_TRUE(mid->recorded);
  auto report = VerifyPlatformChain(dir.File("mid"));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->problem) << report->problem->message;
  EXPECT_EQ(report->checkpoints, 1);
  EXPECT_EQ(report->checkpointed_seq, 3);
  EXPECT_EQ(report->last_seq, 4) << "three events and the restore's own";

  // The latest: both hold; the forged one never.
  auto latest =
      RestoreDataDirectory(source.Request(dir.File("latest"), std::nullopt), source.clock);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->audit_checkpoints, 2);
  EXPECT_EQ(latest->audit_checkpoints_left_out, 1);
  report = VerifyPlatformChain(dir.File("latest"));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->problem) << report->problem->message;
  EXPECT_EQ(report->checkpointed_seq, 6);
  EXPECT_EQ(report->last_seq, 7);
}

TEST(RestoreDataDirectory, SaysWhereTheRestoredServerBacksUpAndThatItIsANewLineage) {
  TempDir dir;
  Source source(dir);
  source.Snapshot();
  source.Record(2);
  source.Checkpoint();
  source.Ship();
  source.Close();
  DirectoryRestoreRequest request = source.Request(dir.File("restored"), std::nullopt);
  auto same = RestoreDataDirectory(request, source.clock);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  ASSERT_EQ(same->backups.targets.size(), 2U);
  EXPECT_EQ(same->backups.targets[0].path,
            std::filesystem::absolute(source.backups() + "/site-a").lexically_normal().string());
  EXPECT_TRUE(same->backups.same_targets);
  EXPECT_FALSE(same->database.reached.lineage.empty());
  // Nothing of the lineage restored from: the restored server starts its own.
  EXPECT_FALSE(std::filesystem::exists(dir.File("restored/backup-spool")));
  for (const char* name : {"master.key", "pactum.db-key", "pactum.db", "audit-signing.key",
                           "backup.key", "audit-checkpoints.jsonl"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.File("restored/") + name)) << name;
  }

  request.to = dir.File("elsewhere");
  request.restored_backups.dir = dir.File("other-backups");
  auto elsewhere = RestoreDataDirectory(request, source.clock);
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().ToString();
  EXPECT_FALSE(elsewhere->backups.same_targets);
  EXPECT_EQ(
      elsewhere->backups.targets[1].path,
      std::filesystem::absolute(dir.File("other-backups/site-b")).lexically_normal().string());

  // Never over a directory that holds something, nor over the data directory.
  EXPECT_EQ(CheckRestoreDestination(dir.File("restored"), source.data()).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(CheckRestoreDestination(source.data() + "/", source.data()).code(),
            StatusCode::kInvalidArgument);
  request.to = dir.File("restored");
  EXPECT_EQ(RestoreDataDirectory(request, source.clock).status().code(),
            StatusCode::kAlreadyExists);
}

// --- key material left in memory --------------------------------------------------------

constexpr uint8_t kMask = 0xa5;

// The keys watched for, as masked 8-byte pieces (a fixed array: it is read from inside
// operator delete, which must not allocate).
constexpr int kMaxPieces = 64;
uint64_t g_pieces[kMaxPieces];
std::atomic<int> g_piece_count{0};
std::atomic<int> g_freed_holding_key{0};

uint64_t MaskWord() {
  uint64_t mask = 0;
  std::memset(&mask, kMask, sizeof mask);
  return mask;
}

void Watch(const std::vector<uint8_t>& masked) {
  for (size_t at = 0; at + 8 <= masked.size(); at += 8) {
    const int i = g_piece_count.load();
    if (i == kMaxPieces) return;
    std::memcpy(&g_pieces[i], masked.data() + at, 8);
    g_piece_count.store(i + 1);
  }
}

// Whether the `n` bytes at `p` hold a piece of a watched key. (Unused under ASan, whose
// operator delete is not replaced below.)
[[maybe_unused]] __attribute__((no_sanitize("address"))) bool HoldsWatchedKey(const void* p,
                                                                              size_t n) {
  const int count = g_piece_count.load();
  if (count == 0 || p == nullptr) return false;
  const uint64_t mask = MaskWord();
  const auto* bytes = static_cast<const uint8_t*>(p);
  for (size_t at = 0; at + 8 <= n; ++at) {
    uint64_t v = 0;
    std::memcpy(&v, bytes + at, 8);
    v ^= mask;
    for (int i = 0; i < count; ++i) {
      if (v == g_pieces[i]) return true;
    }
  }
  return false;
}

// A master key that remembers, masked, every data key it wraps or unwraps: the test can
// then look for them in memory without holding a copy in clear itself.
class RecordingKeyProvider final : public crypto::KeyProvider {
 public:
  explicit RecordingKeyProvider(crypto::KeyProvider& inner) : inner_(inner) {}
  const std::string& environment() const override { return inner_.environment(); }
  uint32_t current_version() const override { return inner_.current_version(); }
  Result<crypto::WrappedKey> Wrap(const crypto::KeyRef& ref,
                                  std::span<const uint8_t> key) override {
    Remember(ref, key);
    return inner_.Wrap(ref, key);
  }
  Result<crypto::SecretBytes> Unwrap(const crypto::KeyRef& ref,
                                     const crypto::WrappedKey& wrapped) override {
    auto key = inner_.Unwrap(ref, wrapped);
    if (key.ok()) Remember(ref, key->span());
    return key;
  }
  Status AddVersion() override { return inner_.AddVersion(); }
  Status RemoveVersionsBelow(uint32_t version) override {
    return inner_.RemoveVersionsBelow(version);
  }

  // purpose -> the keys of that purpose seen, each XOR kMask.
  std::map<std::string, std::vector<std::vector<uint8_t>>> masked;

 private:
  void Remember(const crypto::KeyRef& ref, std::span<const uint8_t> key) {
    std::vector<uint8_t> m(key.size());
    for (size_t i = 0; i < key.size(); ++i) m[i] = key[i] ^ kMask;
    Watch(m);
    masked[ref.purpose].push_back(std::move(m));
  }

  crypto::KeyProvider& inner_;
};

// Whether any 8-byte piece (at a multiple of 8) of the key that `masked` holds XOR kMask
// lies anywhere in the process's writable memory: heap, stacks, anonymous mappings. The
// pieces are compared masked, so the scan never puts the key in clear in memory itself.
// A freed block keeps most of what was in it (the allocator overwrites its first 16
// bytes), so a copy that was freed without being wiped is found.
__attribute__((no_sanitize("address"))) bool MemoryHolds(const std::vector<uint8_t>& masked) {
  const uint64_t mask = MaskWord();
  std::vector<uint64_t> pieces;
  for (size_t at = 0; at + 8 <= masked.size(); at += 8) {
    uint64_t p = 0;
    std::memcpy(&p, masked.data() + at, 8);
    pieces.push_back(p);
  }
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::vector<std::pair<uintptr_t, uintptr_t>> regions;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range;
    std::string perms;
    in >> range >> perms;
    if (perms.size() < 2 || perms[0] != 'r' || perms[1] != 'w') continue;
    const size_t dash = range.find('-');
    const uintptr_t start = std::stoull(range.substr(0, dash), nullptr, 16);
    const uintptr_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (end - start > (uintptr_t{1} << 30)) continue;  // reserved, never written
    regions.emplace_back(start, end);
  }
  for (const auto& [start, end] : regions) {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the addresses come from /proc/self/maps
    const auto* base = reinterpret_cast<const uint8_t*>(start);
    for (size_t at = 0; at + 8 <= end - start; ++at) {
      uint64_t v = 0;
      std::memcpy(&v, base + at, 8);
      v ^= mask;
      for (const uint64_t piece : pieces) {
        if (v == piece) return true;
      }
    }
  }
  return false;
}

// Two ways a key is left behind: a copy in ordinary memory freed without being wiped
// (operator delete, below, looks into every block freed while keys are watched), and a
// copy still somewhere when the restore is over (MemoryHolds).
TEST(RestoreDataDirectory, AFailedRestoreLeavesNothingOfItsKeysInMemoryNorOnDisk) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan owns operator delete, and its shadow is part of every mapping scanned";
#endif
  TempDir dir;
  Source source(dir);
  source.Snapshot();
  source.Record(2);
  source.Ship();
  source.Close();  // nothing holds the backup key any more
  // Every copy of the snapshot damaged: the restore fails after it made the database key
  // and opened artefacts with the backup key.
  for (const auto& e : std::filesystem::recursive_directory_iterator(source.backups())) {
    if (e.path().extension() != ".data") continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x5a');
  }
  RecordingKeyProvider kek(source.kek());
  DirectoryRestoreRequest request = source.Request(dir.File("restored"), std::nullopt);
  request.kek = &kek;
  g_freed_holding_key = 0;
  const auto restored = RestoreDataDirectory(request, source.clock);
  const int freed_holding_key = g_freed_holding_key.load();
  g_piece_count = 0;
  ASSERT_EQ(restored.status().code(), StatusCode::kDataLoss) << restored.status().ToString();
  EXPECT_EQ(freed_holding_key, 0) << "a copy of a key was freed without being wiped";
  EXPECT_FALSE(std::filesystem::exists(dir.File("restored"))) << "nothing is left on disk";
  ASSERT_EQ(kek.masked["database"].size(), 1U) << "the database key was made";
  ASSERT_FALSE(kek.masked["backup"].empty()) << "the backup key was opened";

  for (const auto& [purpose, keys] : kek.masked) {
    for (const auto& key : keys) EXPECT_FALSE(MemoryHolds(key)) << purpose << " key left in memory";
  }
  // The scan finds a key that is in memory in clear.
  const std::vector<uint8_t>& db_key = kek.masked["database"].front();
  std::vector<uint8_t> copy(db_key.size());
  for (size_t i = 0; i < copy.size(); ++i) copy[i] = db_key[i] ^ kMask;
  EXPECT_TRUE(MemoryHolds(db_key));
  // And a copy freed unwiped is caught as it goes.
  Watch(db_key);
  copy.clear();
  copy.shrink_to_fit();
  EXPECT_EQ(g_freed_holding_key.load(), 1);
  g_piece_count = 0;
}

}  // namespace
}  // namespace pactum::backup

#if !defined(__SANITIZE_ADDRESS__)
// Replaces the global operator delete of this test binary (the default new allocates with
// malloc): while keys are watched, a freed block holding one is counted.
void operator delete(void* p) noexcept {
  if (pactum::backup::HoldsWatchedKey(p, malloc_usable_size(p)))
    ++pactum::backup::g_freed_holding_key;
  std::free(p);
}
void operator delete(void* p, std::size_t /*size*/) noexcept { operator delete(p); }
#endif
