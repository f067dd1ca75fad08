#include "blob/local_blob_store.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/files.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/temp_dir.h"

namespace pactum::blob {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::string ReadAll(ByteSource& s) {
  std::string out;
  std::vector<uint8_t> buf(3);
  for (;;) {
    auto n = s.Read(buf);
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    out.append(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  return out;
}

// Yields `good` bytes, then fails.
class FailingSource final : public ByteSource {
 public:
  explicit FailingSource(size_t good) : good_(good) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    if (good_ == 0) return Status(StatusCode::kRequestTimeout, "the client went away");
    const size_t n = std::min(good_, out.size());
    std::fill_n(out.begin(), n, uint8_t{'a'});
    good_ -= n;
    return n;
  }

 private:
  size_t good_;
};

size_t FilesUnder(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

class LocalBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(LocalBlobStore::Open(LocalFileSystem(), dir_.File("blobs"))).value();
  }
  testing_support::TempDir dir_;
  std::unique_ptr<LocalBlobStore> store_;
};

TEST_F(LocalBlobStoreTest, PutThenGetReturnsTheBytesFromAPrivateFile) {
  const BlobId id = BlobId::Random();
  const auto data = Bytes("sealed bytes");
  SpanSource src(data);
  ASSERT_TRUE(store_->Put(id, src).ok());
  auto got = store_->Get(id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(ReadAll(**got), "sealed bytes");
  struct stat st {};
  ASSERT_EQ(::stat(store_->PathOf(id).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_EQ(FilesUnder(dir_.File("blobs/tmp")), 0U) << "no temporary file stays";
  // Empty objects are objects too.
  const BlobId empty = BlobId::Random();
  SpanSource nothing({});
  ASSERT_TRUE(store_->Put(empty, nothing).ok());
  EXPECT_EQ(ReadAll(**store_->Get(empty)), "");
}

TEST_F(LocalBlobStoreTest, ObjectsAreNeverReplaced) {
  const BlobId id = BlobId::Random();
  const auto first = Bytes("first");
  const auto second = Bytes("second");
  SpanSource a(first);
  SpanSource b(second);
  ASSERT_TRUE(store_->Put(id, a).ok());
  EXPECT_EQ(store_->Put(id, b).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadAll(**store_->Get(id)), "first");
  EXPECT_EQ(FilesUnder(dir_.File("blobs/tmp")), 0U);
}

TEST_F(LocalBlobStoreTest, AFailedPutLeavesNothing) {
  const BlobId id = BlobId::Random();
  FailingSource src(3 << 20);  // fails after several buffers were written
  EXPECT_EQ(store_->Put(id, src).code(), StatusCode::kRequestTimeout);
  EXPECT_EQ(store_->Get(id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(FilesUnder(dir_.File("blobs")), 0U);
}

TEST_F(LocalBlobStoreTest, DeleteAndMissingObjects) {
  const BlobId id = BlobId::Random();
  EXPECT_EQ(store_->Get(id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete(id).code(), StatusCode::kNotFound);
  const auto data = Bytes("x");
  SpanSource src(data);
  ASSERT_TRUE(store_->Put(id, src).ok());
  ASSERT_TRUE(store_->Delete(id).ok());
  EXPECT_EQ(store_->Get(id).status().code(), StatusCode::kNotFound);
}

TEST_F(LocalBlobStoreTest, IdsAreRandomHexAndNothingElseParses) {
  const BlobId a = BlobId::Random();
  EXPECT_EQ(a.str().size(), 32U);
  EXPECT_FALSE(a == BlobId::Random());
  EXPECT_TRUE(BlobId::Parse(a.str()).ok());
  for (const char* bad : {"", "../../etc/passwd", "0123456789abcdef0123456789ABCDEF",
                          "0123456789abcdef0123456789abcde", "0123456789abcdef/123456789abcdef"}) {
    EXPECT_EQ(BlobId::Parse(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(LocalBlobStoreTest, StaleTemporariesFromACrashAreRemoved) {
  const std::string stale = dir_.File("blobs/tmp/leftover");
  ASSERT_TRUE(WriteFileAtomic(stale, "half an upload", 0600).ok());
  EXPECT_EQ(store_->RemoveStaleTemporaries(std::chrono::hours(1)).value(), 0) << "too young";
  EXPECT_EQ(store_->RemoveStaleTemporaries(std::chrono::seconds(0)).value(), 1);
  EXPECT_FALSE(std::filesystem::exists(stale));
}

TEST_F(LocalBlobStoreTest, ConcurrentPutsOfOneIdLeaveOneWholeObject) {
  const BlobId id = BlobId::Random();
  std::vector<std::vector<uint8_t>> contents;
  contents.reserve(8);
  for (int i = 0; i < 8; ++i) contents.emplace_back(200'000, static_cast<uint8_t>('a' + i));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      SpanSource src(contents[static_cast<size_t>(i)]);
      if (store_->Put(id, src).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  const std::string got = ReadAll(**store_->Get(id));
  ASSERT_EQ(got.size(), 200'000U);
  EXPECT_EQ(got.find_first_not_of(got[0]), std::string::npos) << "one writer's bytes only";
}

// Every way the disk can fail a Put: an error (disk_full for a full disk, internal for the
// rest), never OK; nothing under the object's name and no temporary left; the objects
// stored before untouched; and the same Put succeeds once the disk works again.
using testing_support::FaultFileSystem;
using testing_support::FsOp;

struct PutFault {
  const char* name;
  testing_support::Fault fault;
  bool full = false;  // the disk is full: kUnavailable "disk_full", not kInternal
};

void PrintTo(const PutFault& f, std::ostream* os) { *os << f.name; }

class BlobStoreUnderFaults : public ::testing::TestWithParam<PutFault> {
 protected:
  void SetUp() override {
    store_ = std::move(LocalBlobStore::Open(faults_, dir_.File("blobs"))).value();
  }
  std::vector<uint8_t> Content(size_t size, uint8_t seed) {
    std::vector<uint8_t> out(size);
    for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
    return out;
  }
  std::string AsString(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

  testing_support::TempDir dir_;
  FaultFileSystem faults_{LocalFileSystem()};
  std::unique_ptr<LocalBlobStore> store_;
};

TEST_P(BlobStoreUnderFaults, APutFailsWholeAndSucceedsOnceTheDiskWorks) {
  const BlobId before = BlobId::Random();
  const auto old_bytes = Content((5 << 20) / 2, 1);  // several buffers
  SpanSource old_source(old_bytes);
  ASSERT_TRUE(store_->Put(before, old_source).ok());

  const int id = faults_.Inject(GetParam().fault);
  const BlobId next = BlobId::Random();
  const auto bytes = Content(3 << 20, 2);
  SpanSource source(bytes);
  const Status s = store_->Put(next, source);
  ASSERT_FALSE(s.ok()) << "no OK for bytes that are not durable";
  EXPECT_GT(faults_.Fired(id), 0) << "the fault was never reached";
  if (GetParam().full) {
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_EQ(s.reason(), "disk_full");
  } else {
    EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  }
  faults_.Heal();
  EXPECT_EQ(store_->Get(next).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(FilesUnder(dir_.File("blobs/tmp")), 0U) << "no temporary stays";
  EXPECT_EQ(FilesUnder(dir_.File("blobs/objects")), 1U);
  EXPECT_EQ(ReadAll(**store_->Get(before)), AsString(old_bytes));

  SpanSource again(bytes);
  ASSERT_TRUE(store_->Put(next, again).ok());
  EXPECT_EQ(ReadAll(**store_->Get(next)), AsString(bytes));
}

INSTANTIATE_TEST_SUITE_P(
    Faults, BlobStoreUnderFaults,
    ::testing::Values(
        PutFault{"OpenTemporaryDirectory", {.op = FsOp::kOpenDirectory, .path = "*/tmp"}},
        PutFault{"CreateTemporary", {.op = FsOp::kCreateFile}},
        PutFault{"CreateTemporaryNoInodes", {.op = FsOp::kCreateFile, .error = ENOSPC}, true},
        PutFault{"WriteEio", {.op = FsOp::kAppend, .after = 1}},
        PutFault{"WriteNoSpace", {.op = FsOp::kAppend, .error = ENOSPC, .after = 1}, true},
        PutFault{"WriteOverQuota", {.op = FsOp::kAppend, .error = EDQUOT}, true},
        PutFault{"ShortWriteNoSpace",
                 {.op = FsOp::kAppend, .error = ENOSPC, .short_write = true, .after = 2},
                 true},
        PutFault{"ShortWriteEio", {.op = FsOp::kAppend, .short_write = true}},
        PutFault{"LastWriteOnce", {.op = FsOp::kAppend, .after = 2, .sticky = false}},
        PutFault{"Fsync", {.op = FsOp::kSync}},
        PutFault{"FsyncOnce", {.op = FsOp::kSync, .sticky = false}},
        PutFault{"OpenShard", {.op = FsOp::kOpenDirectory, .path = "*/objects/*"}},
        PutFault{"Link", {.op = FsOp::kLink}},
        PutFault{"LinkNoSpace", {.op = FsOp::kLink, .error = ENOSPC}, true},
        PutFault{"SyncShardDirectory", {.op = FsOp::kSyncDirectory, .path = "*/objects/*"}},
        PutFault{"SyncShardDirectoryOnce",
                 {.op = FsOp::kSyncDirectory, .path = "*/objects/*", .sticky = false}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(BlobStoreFullDisk, AnObjectBiggerThanTheRoomLeftIsDiskFullAndLeavesNothing) {
  testing_support::TempDir dir;
  FaultFileSystem faults{LocalFileSystem()};
  auto store = std::move(LocalBlobStore::Open(faults, dir.File("blobs"))).value();
  faults.FillUpAfter(size_t{3} << 20);
  const std::vector<uint8_t> small(1 << 20, 's');
  const std::vector<uint8_t> big(size_t{4} << 20, 'b');
  const BlobId a = BlobId::Random();
  SpanSource a_source(small);
  ASSERT_TRUE(store->Put(a, a_source).ok());
  const BlobId b = BlobId::Random();
  SpanSource b_source(big);
  const Status full = store->Put(b, b_source);
  EXPECT_EQ(full.reason(), "disk_full");
  EXPECT_EQ(store->Get(b).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(FilesUnder(dir.File("blobs/tmp")), 0U);
  EXPECT_EQ(ReadAll(**store->Get(a)).size(), small.size());
  faults.Heal();
  SpanSource retry(big);
  EXPECT_TRUE(store->Put(b, retry).ok());
}

TEST(BlobStoreReadFaults, AFailingDiskIsAnErrorNeverAShortObject) {
  testing_support::TempDir dir;
  FaultFileSystem faults{LocalFileSystem()};
  auto store = std::move(LocalBlobStore::Open(faults, dir.File("blobs"))).value();
  const BlobId id = BlobId::Random();
  const std::vector<uint8_t> bytes(100, 'x');
  SpanSource source(bytes);
  ASSERT_TRUE(store->Put(id, source).ok());

  const int open = faults.Inject({.op = FsOp::kOpenFile});
  EXPECT_EQ(store->Get(id).status().code(), StatusCode::kInternal);
  EXPECT_EQ(faults.Fired(open), 1);
  faults.Heal();
  faults.Inject({.op = FsOp::kRead, .after = 1});
  auto got = store->Get(id);
  ASSERT_TRUE(got.ok());
  std::vector<uint8_t> buf(10);
  EXPECT_TRUE((*got)->Read(buf).ok());
  EXPECT_EQ((*got)->Read(buf).status().code(), StatusCode::kInternal);
  faults.Heal();

  faults.Inject({.op = FsOp::kList});
  EXPECT_EQ(store->List([](const BlobId&, auto) {}).code(), StatusCode::kInternal);
  faults.Heal();
  faults.Inject({.op = FsOp::kRemove});
  EXPECT_EQ(store->Delete(id).code(), StatusCode::kInternal);
  EXPECT_EQ(ReadAll(**store->Get(id)), std::string(100, 'x'));
  faults.Heal();
  EXPECT_TRUE(store->Delete(id).ok());
}

TEST(BlobStoreOpenFaults, AStoreThatCannotBeMadeDurableDoesNotOpen) {
  testing_support::TempDir dir;
  FaultFileSystem faults{LocalFileSystem()};
  faults.Inject({.op = FsOp::kCreateDirectory, .path = "*/objects/7f", .error = ENOSPC});
  EXPECT_EQ(LocalBlobStore::Open(faults, dir.File("blobs")).status().reason(), "disk_full");
  faults.Heal();
  faults.Inject({.op = FsOp::kSyncDirectory});
  EXPECT_FALSE(LocalBlobStore::Open(faults, dir.File("blobs")).ok());
  faults.Heal();
  EXPECT_TRUE(LocalBlobStore::Open(faults, dir.File("blobs")).ok());
}

}  // namespace
}  // namespace pactum::blob
