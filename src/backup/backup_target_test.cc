#include "backup/backup_target.h"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <latch>
#include <random>
#include <thread>

#include "backup/local_target.h"
#include "tests/support/fault_backup_target.h"
#include "tests/support/fault_file_system.h"
#include "tests/support/temp_dir.h"

namespace pactum::backup {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMiB = size_t{1024} * 1024;

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

std::vector<uint8_t> ReadAll(ByteSource& s) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(size_t{100} * 1000);
  for (;;) {
    auto n = s.Read(buf);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok() || *n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  return out;
}

Status Put(BackupTarget& target, std::string_view name, const std::vector<uint8_t>& bytes) {
  SpanSource source(bytes);
  return target.PutIfAbsent(name, source);
}

std::vector<uint8_t> GetAll(BackupTarget& target, std::string_view name) {
  auto got = target.Get(name);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  if (!got.ok()) return {};
  return ReadAll(**got);
}

std::vector<std::string> Names(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> out;
  out.reserve(objects.size());
  for (const auto& o : objects) out.push_back(o.name);
  return out;
}

size_t FilesIn(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

// Yields `good` bytes, then fails (a snapshot whose database went away part-way).
class FailingSource final : public ByteSource {
 public:
  explicit FailingSource(size_t good) : good_(good) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    if (good_ == 0) return Internal("the snapshot failed");
    const size_t n = std::min(good_, out.size());
    std::fill_n(out.begin(), n, uint8_t{'a'});
    good_ -= n;
    return n;
  }

 private:
  size_t good_;
};

class LocalTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target_ = std::move(OpenLocalTarget(LocalFileSystem(), "site-a", Dir())).value();
  }
  std::string Dir() const { return dir_.File("site-a"); }

  testing_support::TempDir dir_;
  std::unique_ptr<BackupTarget> target_;
};

TEST(ValidObjectName, AcceptsRelativeLowercaseSegments) {
  EXPECT_TRUE(ValidObjectName("snapshots/2026-11-27t10.00.00z.db.zst").ok());
  EXPECT_TRUE(ValidObjectName("a").ok());
  EXPECT_TRUE(ValidObjectName("log/000001_x.seg").ok());
  EXPECT_TRUE(ValidObjectName(std::string(255, 'a')).ok());
}

TEST(ValidObjectName, RefusesEverythingElse) {
  for (const std::string& bad :
       {std::string(), std::string("/abs"), std::string("a//b"), std::string("a/"),
        std::string("../a"), std::string("a/../b"), std::string("a/./b"), std::string("."),
        std::string(".."), std::string("Upper"), std::string("a b"), std::string("a\\b"),
        std::string(".tmp/x"), std::string("a/.hidden"), std::string("caf\xc3\xa9"),
        std::string("a\0b", 3), std::string(256, 'a')}) {
    const Status s = ValidObjectName(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(LocalTargetTest, CreatesItsDirectoryPrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(Dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700U);
  EXPECT_EQ(target_->name(), "site-a");
}

TEST_F(LocalTargetTest, RefusesAPathThatIsAFile) {
  ASSERT_TRUE(Put(*target_, "f", Bytes("x")).ok());
  auto opened = OpenLocalTarget(LocalFileSystem(), "site-b", Dir() + "/f");
  EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenLocalTarget(LocalFileSystem(), "", dir_.File("other")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(LocalTargetTest, PutGetListDeleteRoundTrip) {
  const auto big = RandomBytes(3 * kMiB + 17, 1);
  ASSERT_TRUE(Put(*target_, "snapshots/s1", big).ok());
  ASSERT_TRUE(Put(*target_, "snapshots/s0", Bytes("")).ok());
  ASSERT_TRUE(Put(*target_, "log/2026/11/27/a", Bytes("abc")).ok());
  ASSERT_TRUE(Put(*target_, "manifest", Bytes("m")).ok());

  EXPECT_EQ(GetAll(*target_, "snapshots/s1"), big);
  EXPECT_TRUE(GetAll(*target_, "snapshots/s0").empty());
  EXPECT_EQ(GetAll(*target_, "log/2026/11/27/a"), Bytes("abc"));

  auto all = target_->List("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Names(*all), (std::vector<std::string>{"log/2026/11/27/a", "manifest", "snapshots/s0",
                                                   "snapshots/s1"}));
  EXPECT_EQ((*all)[3].size, big.size());
  EXPECT_EQ(Names(*target_->List("snapshots/")),
            (std::vector<std::string>{"snapshots/s0", "snapshots/s1"}));
  EXPECT_EQ(Names(*target_->List("snap")),
            (std::vector<std::string>{"snapshots/s0", "snapshots/s1"}));
  EXPECT_EQ(Names(*target_->List("log/2026/1")), (std::vector<std::string>{"log/2026/11/27/a"}));
  EXPECT_EQ(Names(*target_->List("snapshots/s1")), (std::vector<std::string>{"snapshots/s1"}));
  EXPECT_TRUE(target_->List("nothing/")->empty());

  ASSERT_TRUE(target_->Delete("snapshots/s1").ok());
  EXPECT_EQ(target_->Get("snapshots/s1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(target_->Delete("snapshots/s1").code(), StatusCode::kNotFound);
  EXPECT_EQ(target_->Delete("never/was").code(), StatusCode::kNotFound);
  EXPECT_EQ(target_->Get("never/was").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(target_->Get("snapshots").status().code(), StatusCode::kNotFound);  // a directory
  EXPECT_EQ(target_->Delete("snapshots").code(), StatusCode::kNotFound);
  EXPECT_EQ(Names(*target_->List("snapshots/")), (std::vector<std::string>{"snapshots/s0"}));
}

TEST_F(LocalTargetTest, ObjectsArePrivateFiles) {
  ASSERT_TRUE(Put(*target_, "a/b", Bytes("x")).ok());
  struct stat st {};
  ASSERT_EQ(::stat((Dir() + "/a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  ASSERT_EQ(::stat((Dir() + "/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700U);
}

TEST_F(LocalTargetTest, PutIfAbsentRefusesAnExistingNameAndKeepsItsBytes) {
  ASSERT_TRUE(Put(*target_, "snapshots/s1", Bytes("first")).ok());
  EXPECT_EQ(Put(*target_, "snapshots/s1", Bytes("second, longer")).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(GetAll(*target_, "snapshots/s1"), Bytes("first"));
  EXPECT_EQ(FilesIn(Dir() + "/.tmp"), 0U);
}

TEST_F(LocalTargetTest, ANameIsAnObjectOrADirectoryNotBoth) {
  ASSERT_TRUE(Put(*target_, "a/b", Bytes("x")).ok());
  EXPECT_EQ(Put(*target_, "a", Bytes("y")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Put(*target_, "a/b/c", Bytes("y")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GetAll(*target_, "a/b"), Bytes("x"));
  EXPECT_EQ(FilesIn(Dir() + "/.tmp"), 0U);
}

TEST_F(LocalTargetTest, RefusesInvalidNamesEverywhere) {
  for (const char* bad : {"../escape", "/etc/passwd", "Upper", "a//b", ".tmp/x"}) {
    EXPECT_EQ(Put(*target_, bad, Bytes("x")).code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(target_->Get(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(target_->Delete(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(Put(*target_, std::string(256, 'a'), Bytes("x")).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_.File("escape")));
}

TEST_F(LocalTargetTest, ListSkipsTemporariesAndForeignFiles) {
  ASSERT_TRUE(Put(*target_, "a", Bytes("x")).ok());
  std::ofstream(Dir() + "/.tmp/leftover") << "partial";
  std::ofstream(Dir() + "/README.TXT") << "not an object name";
  fs::create_symlink("/etc/passwd", Dir() + "/link");
  EXPECT_EQ(Names(*target_->List("")), (std::vector<std::string>{"a"}));
  EXPECT_EQ(target_->Get("link").status().code(), StatusCode::kNotFound);  // never followed
}

TEST_F(LocalTargetTest, ASourceFailingHalfWayLeavesNothing) {
  FailingSource source(3 * kMiB / 2);
  const Status s = target_->PutIfAbsent("snapshots/s1", source);
  EXPECT_EQ(s.code(), StatusCode::kInternal);  // the source's own error
  EXPECT_EQ(target_->Get("snapshots/s1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(target_->List("")->empty());
  EXPECT_EQ(FilesIn(Dir() + "/.tmp"), 0U);
  ASSERT_TRUE(Put(*target_, "snapshots/s1", Bytes("retry")).ok());  // the name is still free
}

// Dies by SIGKILL after `good` bytes: the process writing a backup is killed mid-put.
class KillingSource final : public ByteSource {
 public:
  explicit KillingSource(size_t good) : good_(good) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    if (good_ == 0) ::kill(::getpid(), SIGKILL);
    const size_t n = std::min(good_, out.size());
    std::fill_n(out.begin(), n, uint8_t{'a'});
    good_ -= n;
    return n;
  }

 private:
  size_t good_;
};

TEST_F(LocalTargetTest, AKilledPutLeavesOnlyATemporaryWhichOpenRemoves) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    KillingSource source(3 * kMiB);  // three buffers written, then death
    (void)target_->PutIfAbsent("snapshots/s1", source);
    ::_exit(0);  // not reached
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(target_->Get("snapshots/s1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(target_->List("")->empty());
  EXPECT_EQ(FilesIn(Dir() + "/.tmp"), 1U);

  ASSERT_TRUE(OpenLocalTarget(LocalFileSystem(), "site-a", Dir()).ok());
  EXPECT_EQ(FilesIn(Dir() + "/.tmp"), 0U);
  ASSERT_TRUE(Put(*target_, "snapshots/s1", Bytes("retry")).ok());
}

// Yields `first` bytes, then waits until released before yielding the rest.
class PausingSource final : public ByteSource {
 public:
  PausingSource(std::span<const uint8_t> bytes, size_t first, std::latch& paused,
                std::latch& release)
      : bytes_(bytes), first_(first), paused_(paused), release_(release) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    if (pos_ == first_ && !waited_) {
      waited_ = true;
      paused_.count_down();
      release_.wait();
    }
    const size_t limit = pos_ < first_ ? first_ : bytes_.size();
    const size_t n = std::min(out.size(), limit - pos_);
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out.begin());
    pos_ += n;
    return n;
  }

 private:
  std::span<const uint8_t> bytes_;
  const size_t first_;
  std::latch& paused_;
  std::latch& release_;
  size_t pos_ = 0;
  bool waited_ = false;
};

TEST_F(LocalTargetTest, OpenLeavesTheTemporaryOfAPutInProgressAlone) {
  const auto bytes = RandomBytes(3 * kMiB, 2);
  std::latch paused(1);
  std::latch release(1);
  PausingSource source(bytes, 2 * kMiB, paused, release);
  Status put;
  std::thread writer([&] { put = target_->PutIfAbsent("snapshots/s1", source); });
  paused.wait();
  EXPECT_EQ(FilesIn(Dir() + "/.tmp"), 1U);
  ASSERT_TRUE(
      OpenLocalTarget(LocalFileSystem(), "site-a", Dir()).ok());  // e.g. the CLI beside the server
  EXPECT_EQ(FilesIn(Dir() + "/.tmp"), 1U);
  release.count_down();
  writer.join();
  ASSERT_TRUE(put.ok()) << put.ToString();
  EXPECT_EQ(GetAll(*target_, "snapshots/s1"), bytes);
}

TEST_F(LocalTargetTest, ConcurrentPutsOfOneNameHaveExactlyOneWinner) {
  const auto a = RandomBytes(2 * kMiB + 5, 3);
  const auto b = RandomBytes(2 * kMiB + 9, 4);
  for (int round = 0; round < 10; ++round) {
    const std::string name = "log/seg" + std::to_string(round);
    std::latch start(2);
    Status sa;
    Status sb;
    std::thread ta([&] {
      start.arrive_and_wait();
      sa = Put(*target_, name, a);
    });
    std::thread tb([&] {
      start.arrive_and_wait();
      sb = Put(*target_, name, b);
    });
    ta.join();
    tb.join();
    ASSERT_NE(sa.ok(), sb.ok()) << sa.ToString() << " / " << sb.ToString();
    EXPECT_EQ((sa.ok() ? sb : sa).code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(GetAll(*target_, name), sa.ok() ? a : b);
  }
  EXPECT_EQ(FilesIn(Dir() + "/.tmp"), 0U);
}

TEST_F(LocalTargetTest, AnUnmountedTargetIsUnavailableNotWrittenInto) {
  // Simulates the disk going away under the mount point: the .tmp/ made at open is gone.
  fs::remove_all(Dir() + "/.tmp");
  EXPECT_EQ(Put(*target_, "a", Bytes("x")).code(), StatusCode::kUnavailable);
  EXPECT_FALSE(fs::exists(Dir() + "/a"));
  fs::remove_all(Dir());
  EXPECT_EQ(target_->List("").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(target_->Get("a").status().code(), StatusCode::kUnavailable);
}

// A real full disk: a 1 MiB tmpfs in a mount namespace of a child process (so nothing
// outlives the test). Needs CAP_SYS_ADMIN; skipped without it. The child reports the first
// check that failed as its exit code. LocalTargetUnderFaults below covers the same case
// (and the other ways a disk fails) everywhere, through the fault-injecting file system.
TEST(LocalTargetDiskFull, AFullDiskIsResourceExhaustedAndLeavesNothing) {
  testing_support::TempDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=1m,mode=0700") != 0) {
      ::_exit(77);
    }
    auto target = OpenLocalTarget(LocalFileSystem(), "small", dir.File("t"));
    if (!target.ok()) ::_exit(1);
    const Status full = Put(**target, "big", RandomBytes(2 * kMiB, 9));
    if (full.code() != StatusCode::kResourceExhausted) ::_exit(2);
    if ((*target)->Get("big").status().code() != StatusCode::kNotFound) ::_exit(3);
    if (FilesIn(dir.File("t/.tmp")) != 0) ::_exit(4);
    if (!Put(**target, "small", RandomBytes(100'000, 10)).ok()) ::_exit(5);  // space is back
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "check " << WEXITSTATUS(status) << " failed";
}

// Every way the disk can fail a put: an error (kResourceExhausted for a full disk,
// kUnavailable for the rest), never OK; nothing under the name, in a listing or in .tmp/;
// the objects stored before untouched; and the same put succeeds once the disk works.
using testing_support::FaultFileSystem;
using testing_support::FsOp;

struct PutFault {
  const char* name;
  testing_support::Fault fault;  // unless `fill` is set: then FillUpAfter(fill) instead
  StatusCode code = StatusCode::kUnavailable;
  uint64_t fill = 0;
};

void PrintTo(const PutFault& f, std::ostream* os) { *os << f.name; }

class LocalTargetUnderFaults : public ::testing::TestWithParam<PutFault> {
 protected:
  void SetUp() override { target_ = std::move(OpenLocalTarget(faults_, "site-a", Dir())).value(); }
  std::string Dir() const { return dir_.File("site-a"); }

  testing_support::TempDir dir_;
  FaultFileSystem faults_{LocalFileSystem()};
  std::unique_ptr<BackupTarget> target_;
};

TEST_P(LocalTargetUnderFaults, APutFailsWholeAndSucceedsOnceTheDiskWorks) {
  const auto old_bytes = RandomBytes(2 * kMiB + 3, 11);
  ASSERT_TRUE(Put(*target_, "snapshots/s0", old_bytes).ok());

  const PutFault& p = GetParam();
  int id = -1;
  if (p.fill > 0) {
    faults_.FillUpAfter(p.fill);
  } else {
    id = faults_.Inject(p.fault);
  }
  const std::string name = "log/2027/01/seg1";  // new directories on the way
  const auto bytes = RandomBytes(3 * kMiB + 5, 12);
  const Status s = Put(*target_, name, bytes);
  EXPECT_EQ(s.code(), p.code) << s.ToString();
  EXPECT_GT(id >= 0 ? faults_.Fired(id) : faults_.fired(), 0) << "the fault was never reached";
  faults_.Heal();
  EXPECT_EQ(target_->Get(name).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Names(*target_->List("")), std::vector<std::string>{"snapshots/s0"});
  EXPECT_EQ(FilesIn(Dir() + "/.tmp"), 0U) << "no temporary stays";
  EXPECT_EQ(GetAll(*target_, "snapshots/s0"), old_bytes);

  ASSERT_TRUE(Put(*target_, name, bytes).ok());
  EXPECT_EQ(GetAll(*target_, name), bytes);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, LocalTargetUnderFaults,
    ::testing::Values(
        PutFault{"OpenRoot", {.op = FsOp::kOpenDirectory, .path = "*/site-a"}},
        PutFault{"OpenTemporaries", {.op = FsOp::kOpenDirectory, .path = "*/.tmp"}},
        PutFault{"CreateTemporary", {.op = FsOp::kCreateFile}},
        PutFault{"CreateTemporaryNoInodes",
                 {.op = FsOp::kCreateFile, .error = ENOSPC},
                 StatusCode::kResourceExhausted},
        PutFault{"LockTemporary", {.op = FsOp::kLock}},
        PutFault{"WriteEio", {.op = FsOp::kAppend, .after = 1}},
        PutFault{"WriteNoSpace",
                 {.op = FsOp::kAppend, .error = ENOSPC, .after = 2},
                 StatusCode::kResourceExhausted},
        PutFault{"WriteOverQuota",
                 {.op = FsOp::kAppend, .error = EDQUOT},
                 StatusCode::kResourceExhausted},
        PutFault{"ShortWriteNoSpace",
                 {.op = FsOp::kAppend, .error = ENOSPC, .short_write = true, .after = 1},
                 StatusCode::kResourceExhausted},
        PutFault{"ShortWriteEio", {.op = FsOp::kAppend, .short_write = true}},
        PutFault{"DiskFillsUp", {}, StatusCode::kResourceExhausted, 3 * kMiB / 2},
        PutFault{"Fsync", {.op = FsOp::kSync}},
        PutFault{"FsyncOnce", {.op = FsOp::kSync, .sticky = false}},
        PutFault{"Mkdir", {.op = FsOp::kCreateDirectory, .path = "*/2027"}},
        PutFault{"MkdirNoSpace",
                 {.op = FsOp::kCreateDirectory, .path = "*/01", .error = ENOSPC},
                 StatusCode::kResourceExhausted},
        PutFault{"OpenObjectDirectory", {.op = FsOp::kOpenDirectory, .path = "*/01"}},
        PutFault{"Link", {.op = FsOp::kLink}},
        PutFault{
            "LinkNoSpace", {.op = FsOp::kLink, .error = ENOSPC}, StatusCode::kResourceExhausted},
        PutFault{"SyncObjectDirectory", {.op = FsOp::kSyncDirectory, .path = "*/01"}},
        PutFault{"SyncRootOnce",
                 {.op = FsOp::kSyncDirectory, .path = "*/site-a", .sticky = false}}),
    [](const auto& info) { return std::string(info.param.name); });

// The reading side: a failing disk is kUnavailable (retry later), never a short object, a
// short listing or "not found".
class LocalTargetReadFaults : public LocalTargetUnderFaults {};

TEST_F(LocalTargetReadFaults, AFailingDiskIsUnavailableNeverAShortAnswer) {
  const auto bytes = RandomBytes(kMiB, 13);
  ASSERT_TRUE(Put(*target_, "snapshots/s0", bytes).ok());
  ASSERT_TRUE(Put(*target_, "log/a", Bytes("a")).ok());

  faults_.Inject({.op = FsOp::kOpenFile});
  EXPECT_EQ(target_->Get("snapshots/s0").status().code(), StatusCode::kUnavailable);
  faults_.Heal();
  faults_.Inject({.op = FsOp::kRead, .after = 2});
  auto got = target_->Get("snapshots/s0");
  ASSERT_TRUE(got.ok());
  std::vector<uint8_t> buf(100'000);
  Status read;
  for (int i = 0; i < 20 && read.ok(); ++i) read = (*got)->Read(buf).status();
  EXPECT_EQ(read.code(), StatusCode::kUnavailable);
  faults_.Heal();

  for (const FsOp op : {FsOp::kList, FsOp::kStat, FsOp::kOpenDirectory}) {
    const int id = faults_.Inject({.op = op, .path = "*/log*"});
    EXPECT_EQ(target_->List("").status().code(), StatusCode::kUnavailable);
    EXPECT_EQ(faults_.Fired(id), 1);
    faults_.Heal();
  }
  EXPECT_EQ(Names(*target_->List("")), (std::vector<std::string>{"log/a", "snapshots/s0"}));

  faults_.Inject({.op = FsOp::kRemove});
  EXPECT_EQ(target_->Delete("log/a").code(), StatusCode::kUnavailable);
  faults_.Heal();
  EXPECT_EQ(GetAll(*target_, "log/a"), Bytes("a"));
  faults_.Inject({.op = FsOp::kSyncDirectory});
  EXPECT_EQ(target_->Delete("log/a").code(), StatusCode::kUnavailable);
  faults_.Heal();
}

TEST(LocalTargetOpenFaults, ATargetThatCannotBeSetUpDoesNotOpen) {
  testing_support::TempDir dir;
  FaultFileSystem faults{LocalFileSystem()};
  faults.Inject({.op = FsOp::kCreateDirectory, .path = "*/.tmp", .error = ENOSPC});
  EXPECT_EQ(OpenLocalTarget(faults, "t", dir.File("t")).status().code(),
            StatusCode::kResourceExhausted);
  faults.Heal();
  faults.Inject({.op = FsOp::kSyncDirectory});
  EXPECT_EQ(OpenLocalTarget(faults, "t", dir.File("t")).status().code(), StatusCode::kUnavailable);
  faults.Heal();
  ASSERT_TRUE(OpenLocalTarget(faults, "t", dir.File("t")).ok());
  // A leftover the disk will not let go of does not stop the target from opening.
  std::ofstream(dir.File("t/.tmp/leftover")) << "partial";
  faults.Inject({.op = FsOp::kRemove});
  EXPECT_TRUE(OpenLocalTarget(faults, "t", dir.File("t")).ok());
  EXPECT_EQ(FilesIn(dir.File("t/.tmp")), 1U);
  faults.Heal();
  EXPECT_TRUE(OpenLocalTarget(faults, "t", dir.File("t")).ok());
  EXPECT_EQ(FilesIn(dir.File("t/.tmp")), 0U);
}

class FaultBackupTargetTest : public LocalTargetTest {
 protected:
  void SetUp() override {
    LocalTargetTest::SetUp();
    fault_ = std::make_unique<testing_support::FaultBackupTarget>(*target_);
  }
  std::unique_ptr<testing_support::FaultBackupTarget> fault_;
};

TEST_F(FaultBackupTargetTest, AFullTargetLeavesNothingUnderTheName) {
  fault_->FillUpAfter(kMiB + 100);
  ASSERT_TRUE(Put(*fault_, "small", RandomBytes(kMiB, 5)).ok());
  const Status s = Put(*fault_, "big", RandomBytes(kMiB, 6));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(fault_->Get("big").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(FilesIn(Dir() + "/.tmp"), 0U);
  ASSERT_TRUE(Put(*fault_, "tiny", RandomBytes(100, 7)).ok());  // what still fits
  fault_->Heal();
  ASSERT_TRUE(Put(*fault_, "big", RandomBytes(kMiB, 6)).ok());
}

TEST_F(FaultBackupTargetTest, FailedWritesAndADownTarget) {
  ASSERT_TRUE(Put(*fault_, "a", Bytes("x")).ok());
  fault_->fail_writes = true;
  EXPECT_EQ(Put(*fault_, "b", Bytes("y")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(fault_->Delete("a").code(), StatusCode::kUnavailable);
  EXPECT_EQ(GetAll(*fault_, "a"), Bytes("x"));  // reads still work
  fault_->fail_writes = false;
  fault_->down = true;
  EXPECT_EQ(Put(*fault_, "b", Bytes("y")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(fault_->Get("a").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(fault_->List("").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(fault_->Delete("a").code(), StatusCode::kUnavailable);
  fault_->down = false;  // back again
  ASSERT_TRUE(Put(*fault_, "b", Bytes("y")).ok());
  ASSERT_TRUE(fault_->Delete("a").ok());
  EXPECT_EQ(fault_->puts(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(fault_->deletes(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(fault_->calls().size(), 10U);
}

TEST_F(FaultBackupTargetTest, CorruptGetsFlipOneByteOfWhatIsRead) {
  const auto bytes = RandomBytes(size_t{300} * 1000, 8);
  ASSERT_TRUE(Put(*fault_, "a", bytes).ok());
  fault_->CorruptGets(123456);
  auto got = GetAll(*fault_, "a");
  ASSERT_EQ(got.size(), bytes.size());
  EXPECT_EQ(got[123456], bytes[123456] ^ 0xff);
  got[123456] ^= 0xff;
  EXPECT_EQ(got, bytes);
  EXPECT_EQ(GetAll(*target_, "a"), bytes);  // the stored object is intact
}

}  // namespace
}  // namespace pactum::backup
