#include "common/file_system.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/files.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/temp_dir.h"

namespace pactum {
namespace {

using testing_support::FaultFileSystem;
using testing_support::FsOp;
using testing_support::TempDir;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string ReadAll(ByteSource& source) {
  std::string out;
  uint8_t buf[5];  // small, so reads are many
  for (;;) {
    auto n = source.Read(buf);
    if (!n.ok()) return "<" + n.status().message() + ">";
    if (*n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf), *n);
  }
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class LocalFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = std::move(fs_.OpenDirectory(tmp_.path())).value(); }
  TempDir tmp_;
  FileSystem& fs_ = LocalFileSystem();
  std::unique_ptr<Directory> dir_;
};

TEST_F(LocalFileSystemTest, ErrorsSayWhatKindWithThePathOnlyInTheDetail) {
  const Status missing = fs_.OpenDirectory(tmp_.File("nope")).status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message().find(tmp_.path()), std::string::npos) << missing.message();
  EXPECT_NE(missing.detail().find(tmp_.File("nope")), std::string::npos) << missing.detail();

  ASSERT_TRUE(dir_->CreateFile("f", 0600).ok());
  EXPECT_EQ(dir_->CreateFile("f", 0600).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(fs_.OpenDirectory(tmp_.File("f")).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir_->OpenDirectory("f").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir_->Remove("nope").code(), StatusCode::kNotFound);
  ASSERT_TRUE(dir_->CreateDirectory("d", 0700).ok());
  EXPECT_EQ(dir_->CreateDirectory("d", 0700).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dir_->Remove("d").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir_->OpenFile("d", 0).status().code(), StatusCode::kFailedPrecondition);

  EXPECT_EQ(FileSystemError(ENOSPC, "write", "/x").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(FileSystemError(EDQUOT, "write", "/x").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(FileSystemError(EIO, "fsync", "/x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(FileSystemError(EIO, "fsync", "/x").message(), "fsync: Input/output error");
}

TEST_F(LocalFileSystemTest, AppendTruncateAndReadFromAnOffset) {
  auto file = std::move(dir_->CreateFile("a", 0600)).value();
  ASSERT_TRUE(file->Append(Bytes("hello ")).ok());
  ASSERT_TRUE(file->Append(Bytes("world")).ok());
  ASSERT_TRUE(file->Sync().ok());
  EXPECT_EQ(ReadAll(*dir_->OpenFile("a", 6).value()), "world");
  ASSERT_TRUE(file->Truncate(5).ok());
  file.reset();
  auto more = std::move(dir_->OpenForAppend("a", 0600)).value();
  ASSERT_TRUE(more->Append(Bytes("!")).ok());
  EXPECT_EQ(Slurp(tmp_.File("a")), "hello!");
  EXPECT_EQ(dir_->Stat("a")->size, 6U);
  EXPECT_EQ(dir_->Stat("a")->type, FileType::kRegular);
  EXPECT_EQ(ReadAll(*fs_.OpenFile(tmp_.File("a"), 1).value()), "ello!");
}

TEST_F(LocalFileSystemTest, CreatedFilesGetExactlyTheirModeWhateverTheUmask) {
  const mode_t old = ::umask(077);
  auto file = dir_->CreateFile("cert.pem", 0644);
  ::umask(old);
  ASSERT_TRUE(file.ok());
  struct stat st {};
  ASSERT_EQ(::stat(tmp_.File("cert.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644U);
}

TEST_F(LocalFileSystemTest, NamesInADirectoryNeverFollowALink) {
  std::ofstream(tmp_.File("real")) << "secret";
  std::filesystem::create_directory(tmp_.File("real-dir"));
  std::filesystem::create_symlink(tmp_.File("real"), tmp_.File("link"));
  std::filesystem::create_symlink(tmp_.File("real-dir"), tmp_.File("dir-link"));

  EXPECT_EQ(dir_->OpenFile("link", 0).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir_->OpenForAppend("link", 0600).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir_->CreateFile("link", 0600).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dir_->OpenDirectory("dir-link").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir_->TryLock("link").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir_->Stat("link")->type, FileType::kOther);
  EXPECT_EQ(Slurp(tmp_.File("real")), "secret");
  // Paths are the operator's: they may be links.
  EXPECT_EQ(ReadAll(*fs_.OpenFile(tmp_.File("link"), 0).value()), "secret");
  EXPECT_TRUE(fs_.OpenDirectory(tmp_.File("dir-link")).ok());
}

TEST_F(LocalFileSystemTest, APipeUnderANameIsRefusedNotWaitedFor) {
  ASSERT_EQ(::mkfifo(tmp_.File("pipe").c_str(), 0600), 0);
  EXPECT_EQ(dir_->OpenFile("pipe", 0).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(dir_->OpenForAppend("pipe", 0600).ok());
}

TEST_F(LocalFileSystemTest, LinkNeverReplacesRenameDoesAcrossDirectories) {
  ASSERT_TRUE(dir_->CreateDirectory("sub", 0700).ok());
  auto sub = std::move(dir_->OpenDirectory("sub")).value();
  EXPECT_EQ(sub->path(), tmp_.File("sub"));
  std::ofstream(tmp_.File("one")) << "1";
  std::ofstream(tmp_.File("two")) << "2";
  ASSERT_TRUE(dir_->Link("one", *sub, "x").ok());
  EXPECT_EQ(dir_->Link("two", *sub, "x").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Slurp(tmp_.File("sub/x")), "1");
  ASSERT_TRUE(dir_->Rename("two", *sub, "x").ok());
  EXPECT_EQ(Slurp(tmp_.File("sub/x")), "2");
  EXPECT_EQ(Entries(tmp_.path()), (std::vector<std::string>{"one", "sub"}));
  ASSERT_TRUE(sub->Sync().ok());
  auto names = sub->List();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"x"});
}

TEST_F(LocalFileSystemTest, ALockExcludesOtherHoldersUntilReleased) {
  std::ofstream(tmp_.File("f")) << "x";
  {
    auto held = dir_->TryLock("f");
    ASSERT_TRUE(held.ok());
    EXPECT_EQ(dir_->TryLock("f").status().code(), StatusCode::kUnavailable);
  }
  EXPECT_TRUE(dir_->TryLock("f").ok());
  EXPECT_EQ(dir_->TryLock("gone").status().code(), StatusCode::kNotFound);
}

TEST(SplitLast, DirectoryAndName) {
  EXPECT_EQ(SplitLast("a/b/c").directory, "a/b");
  EXPECT_EQ(SplitLast("a/b/c").name, "c");
  EXPECT_EQ(SplitLast("c").directory, ".");
  EXPECT_EQ(SplitLast("/c").directory, "/");
  EXPECT_EQ(SplitLast("/a/b/").name, "b");
  EXPECT_EQ(JoinPath("/a/", "b"), "/a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

// The wrapper itself: a fault fires where and when it says, and only then.
class FaultFileSystemTest : public ::testing::Test {
 protected:
  Status Write(const std::string& name, std::string_view bytes) {
    ASSIGN_OR_RETURN(auto dir, faults_.OpenDirectory(tmp_.path()));
    ASSIGN_OR_RETURN(auto file, dir->CreateFile(name, 0600));
    RETURN_IF_ERROR(file->Append(Bytes(bytes)));
    return file->Sync();
  }
  TempDir tmp_;
  FaultFileSystem faults_{LocalFileSystem()};
};

TEST_F(FaultFileSystemTest, AFaultFiresAfterItsCallsOnceOrForEver) {
  const int once = faults_.Inject({.op = FsOp::kSync, .after = 1, .sticky = false});
  EXPECT_TRUE(Write("a", "1").ok());
  const Status failed = Write("b", "2");
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
  EXPECT_EQ(failed.message(), "fsync: Input/output error");
  EXPECT_TRUE(Write("c", "3").ok());
  EXPECT_EQ(faults_.Fired(once), 1);

  const int sticky = faults_.Inject({.op = FsOp::kCreateFile, .error = EROFS, .after = 1});
  EXPECT_TRUE(Write("d", "4").ok());
  EXPECT_FALSE(Write("e", "5").ok());
  EXPECT_FALSE(Write("f", "6").ok());
  EXPECT_EQ(faults_.Fired(sticky), 2);
  EXPECT_FALSE(std::filesystem::exists(tmp_.File("e")));  // the real call was not made
  faults_.Heal();
  EXPECT_TRUE(Write("e", "5").ok());
  EXPECT_EQ(faults_.fired(), 3);
}

TEST_F(FaultFileSystemTest, APatternMatchesTheFullPathAcrossSlashes) {
  const int id = faults_.Inject({.op = FsOp::kAppend, .path = "*/objects/*", .error = ENOSPC});
  ASSERT_TRUE(std::filesystem::create_directory(tmp_.File("objects")));
  EXPECT_TRUE(Write("other", "x").ok());
  auto dir = std::move(faults_.OpenDirectory(tmp_.File("objects"))).value();
  auto file = std::move(dir->CreateFile("a", 0600)).value();
  EXPECT_EQ(file->Append(Bytes("x")).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(faults_.Fired(id), 1);
}

TEST_F(FaultFileSystemTest, AShortWriteLeavesHalfTheBytesAndFails) {
  faults_.Inject({.op = FsOp::kAppend, .error = ENOSPC, .short_write = true, .after = 1});
  auto dir = std::move(faults_.OpenDirectory(tmp_.path())).value();
  auto file = std::move(dir->CreateFile("a", 0600)).value();
  ASSERT_TRUE(file->Append(Bytes("first|")).ok());
  EXPECT_EQ(file->Append(Bytes("12345678")).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Slurp(tmp_.File("a")), "first|1234");
}

TEST_F(FaultFileSystemTest, AFullDiskTakesWhatFitsThenRefusesUntilHealed) {
  faults_.FillUpAfter(10);
  auto dir = std::move(faults_.OpenDirectory(tmp_.path())).value();
  auto file = std::move(dir->CreateFile("a", 0600)).value();
  ASSERT_TRUE(file->Append(Bytes("123456")).ok());
  EXPECT_EQ(file->Append(Bytes("789abc")).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(file->Append(Bytes("d")).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Slurp(tmp_.File("a")), "123456789a");
  EXPECT_EQ(faults_.fired(), 2);
  faults_.Heal();
  EXPECT_TRUE(file->Append(Bytes("d")).ok());
}

TEST_F(FaultFileSystemTest, LinksAndRenamesMatchTheirSourceOrDestination) {
  const int id = faults_.Inject({.op = FsOp::kRename, .path = "*/final"});
  ASSERT_TRUE(Write("tmp", "x").ok());
  auto dir = std::move(faults_.OpenDirectory(tmp_.path())).value();
  EXPECT_EQ(dir->Rename("tmp", *dir, "final").code(), StatusCode::kUnavailable);
  EXPECT_TRUE(dir->Link("tmp", *dir, "final").ok());  // another operation
  EXPECT_TRUE(dir->Rename("tmp", *dir, "elsewhere").ok());
  EXPECT_EQ(faults_.Fired(id), 1);
  // Handles of another file system are refused, not confused.
  auto local = std::move(LocalFileSystem().OpenDirectory(tmp_.path())).value();
  EXPECT_EQ(dir->Link("elsewhere", *local, "x").code(), StatusCode::kInternal);
}

TEST_F(FaultFileSystemTest, ReadsFailMidStream) {
  ASSERT_TRUE(Write("a", "0123456789").ok());
  faults_.Inject({.op = FsOp::kRead, .after = 1});
  auto source = std::move(faults_.OpenFile(tmp_.File("a"), 0)).value();
  uint8_t buf[4];
  EXPECT_TRUE(source->Read(buf).ok());
  EXPECT_EQ(source->Read(buf).status().code(), StatusCode::kUnavailable);
}

// The atomic file writes of common/files.h under every fault on their way: an error, the
// old file whole (or, once renamed, the new one whole), no temporary left, and success
// once the disk is healed.
struct WriteFault {
  const char* name;
  testing_support::Fault fault;
  bool renamed = false;  // the fault comes after the rename: the new bytes may be there
};

void PrintTo(const WriteFault& f, std::ostream* os) { *os << f.name; }

class AtomicWriteUnderFaults : public ::testing::TestWithParam<WriteFault> {
 protected:
  TempDir tmp_;
  FaultFileSystem faults_{LocalFileSystem()};
};

TEST_P(AtomicWriteUnderFaults, FailsAndLeavesTheOldFileWhole) {
  const std::string path = tmp_.File("state.json");
  ASSERT_TRUE(WriteFileAtomic(faults_, path, "old contents", 0600).ok());
  const int id = faults_.Inject(GetParam().fault);
  const Status s = WriteFileAtomic(faults_, path, "new contents, longer", 0600);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_GT(faults_.Fired(id), 0) << "the fault was never reached";
  const std::string now = Slurp(path);
  if (GetParam().renamed) {
    EXPECT_EQ(now, "new contents, longer");
  } else {
    EXPECT_EQ(now, "old contents");
  }
  EXPECT_EQ(Entries(tmp_.path()), std::vector<std::string>{"state.json"}) << "no temporary";
  faults_.Heal();
  ASSERT_TRUE(WriteFileAtomic(faults_, path, "new contents, longer", 0600).ok());
  EXPECT_EQ(*ReadFile(faults_, path), "new contents, longer");
}

TEST_P(AtomicWriteUnderFaults, AnExclusiveWriteLeavesNothingUnderTheName) {
  const std::string path = tmp_.File("key");
  ASSERT_TRUE(WriteFileExclusive(faults_, tmp_.File("other"), "x", 0600).ok());
  testing_support::Fault fault = GetParam().fault;
  if (fault.op == FsOp::kRename) fault.op = FsOp::kLink;  // its way of publishing
  const int id = faults_.Inject(fault);
  const Status s = WriteFileExclusive(faults_, path, "the key", 0600);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_GT(faults_.Fired(id), 0) << "the fault was never reached";
  EXPECT_EQ(Entries(tmp_.path()), std::vector<std::string>{"other"});
  faults_.Heal();
  ASSERT_TRUE(WriteFileExclusive(faults_, path, "the key", 0600).ok());
  EXPECT_EQ(*ReadFile(faults_, path), "the key");
}

INSTANTIATE_TEST_SUITE_P(
    Faults, AtomicWriteUnderFaults,
    ::testing::Values(WriteFault{"OpenDirectory", {.op = FsOp::kOpenDirectory}},
                      WriteFault{"CreateEio", {.op = FsOp::kCreateFile}},
                      WriteFault{"CreateNoSpace", {.op = FsOp::kCreateFile, .error = ENOSPC}},
                      WriteFault{"WriteEio", {.op = FsOp::kAppend}},
                      WriteFault{"WriteNoSpace", {.op = FsOp::kAppend, .error = ENOSPC}},
                      WriteFault{"ShortWrite",
                                 {.op = FsOp::kAppend, .error = ENOSPC, .short_write = true}},
                      WriteFault{"Fsync", {.op = FsOp::kSync}},
                      WriteFault{"FsyncOnce", {.op = FsOp::kSync, .sticky = false}},
                      WriteFault{"Rename", {.op = FsOp::kRename}},
                      WriteFault{"SyncDirectory", {.op = FsOp::kSyncDirectory}, /*renamed=*/true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ReadFileUnderFaults, AFailingReadIsAnErrorNeverPartOfTheFile) {
  TempDir tmp;
  FaultFileSystem faults{LocalFileSystem()};
  ASSERT_TRUE(WriteFileAtomic(faults, tmp.File("f"), std::string(20000, 'x'), 0600).ok());
  faults.Inject({.op = FsOp::kRead, .after = 1});
  EXPECT_EQ(ReadFile(faults, tmp.File("f")).status().code(), StatusCode::kInternal);
  faults.Heal();
  faults.Inject({.op = FsOp::kOpenFile});
  EXPECT_EQ(ReadFile(faults, tmp.File("f")).status().code(), StatusCode::kInternal);
  faults.Heal();
  EXPECT_EQ(ReadFile(faults, tmp.File("f"))->size(), 20000U);
}

TEST(MakeDirectoriesUnderFaults, AFailingMkdirIsAnError) {
  TempDir tmp;
  FaultFileSystem faults{LocalFileSystem()};
  faults.Inject({.op = FsOp::kCreateDirectory, .path = "*/b", .error = ENOSPC});
  EXPECT_FALSE(MakeDirectories(faults, tmp.File("a/b/c"), 0700).ok());
  EXPECT_TRUE(std::filesystem::is_directory(tmp.File("a")));
  EXPECT_FALSE(std::filesystem::exists(tmp.File("a/b")));
  faults.Heal();
  EXPECT_TRUE(MakeDirectories(faults, tmp.File("a/b/c"), 0700).ok());
  EXPECT_TRUE(std::filesystem::is_directory(tmp.File("a/b/c")));
}

}  // namespace
}  // namespace pactum
