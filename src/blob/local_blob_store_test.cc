#include "blob/local_blob_store.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/files.h"
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
  void SetUp() override { store_ = std::move(LocalBlobStore::Open(dir_.File("blobs"))).value(); }
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

}  // namespace
}  // namespace pactum::blob
