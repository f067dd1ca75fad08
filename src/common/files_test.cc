#include "common/files.h"

#include <sys/stat.h>
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace pactum {
namespace {

using testing_support::TempDir;  // removed with its contents at the end of each test

TEST(Files, AtomicWriteSetsModeAndReplaces) {
  const TempDir tmp;
  const std::string& dir = tmp.path();
  const std::string path = dir + "/secret";
  ASSERT_TRUE(WriteFileAtomic(path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "two", 0600).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(*ReadFile(path), "two");
  // No temporary files are left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(Files, AtomicWriteIntoMissingDirectoryFailsWithoutCreatingIt) {
  const TempDir tmp;
  const std::string dir = tmp.File("missing");
  EXPECT_FALSE(WriteFileAtomic(dir + "/f", "x", 0600).ok());
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(Files, ReadMissingIsNotFound) {
  const TempDir tmp;
  EXPECT_EQ(ReadFile(tmp.File("nope")).status().code(), StatusCode::kNotFound);
}

TEST(Files, MakeDirectoriesCreatesParentsWithMode) {
  const TempDir tmp;
  const std::string dir = tmp.File("a/b/c");
  ASSERT_TRUE(MakeDirectories(dir, 0700).ok());
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  EXPECT_TRUE(MakeDirectories(dir, 0700).ok());  // idempotent
}

TEST(FileLock, SharedLocksCoexistAndAnExclusiveOneExcludesThem) {
  const TempDir tmp;
  const std::string path = tmp.File("lock");
  {
    auto a = FileLock::Acquire(path, false);
    auto b = FileLock::Acquire(path, false);
    ASSERT_TRUE(a.ok() && b.ok());
    auto x = FileLock::Acquire(path, true);
    EXPECT_EQ(x.status().code(), StatusCode::kUnavailable);
  }
  auto x = FileLock::Acquire(path, true);
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(FileLock::Acquire(path, false).status().code(), StatusCode::kUnavailable);
}

TEST(Files, WriteFileExclusiveNeverReplacesAndExactlyOneRacerWins) {
  const TempDir tmp;
  const std::string& dir = tmp.path();
  const std::string path = dir + "/key";
  ASSERT_TRUE(WriteFileExclusive(path, "first", 0600).ok());
  EXPECT_EQ(WriteFileExclusive(path, "second", 0600).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*ReadFile(path), "first");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  for (int round = 0; round < 20; ++round) {
    const std::string racy = dir + "/racy" + std::to_string(round);
    std::atomic<int> wins{0};
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        if (WriteFileExclusive(racy, std::to_string(t), 0600).ok()) wins++;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wins.load(), 1);
  }
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace pactum
