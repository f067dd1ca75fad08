#include "audit/checkpoint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/fault_file_system.h"
#include "tests/support/temp_dir.h"

namespace pactum::audit {
namespace {

using testing_support::FaultFileSystem;
using testing_support::FsOp;

Checkpoint Cp(int64_t seq) {
  Checkpoint c;
  c.tenant_id = 1;
  c.seq = seq;
  c.hash.fill(static_cast<uint8_t>(seq));
  c.time_ms = 1000 * seq;
  c.signature.fill(0xab);
  return c;
}

std::vector<int64_t> Seqs(const Result<std::vector<Checkpoint>>& all) {
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  std::vector<int64_t> out;
  if (all.ok()) {
    for (const Checkpoint& c : *all) out.push_back(c.seq);
  }
  return out;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every way the disk can fail an append: kUnavailable, never OK; the lines before intact
// and readable (no part line left for the next append to run into); and the same append
// succeeds once the disk works again.
struct AppendFault {
  const char* name;
  testing_support::Fault fault;
  uint64_t fill = 0;  // when set, FillUpAfter(fill) instead of the fault
};

void PrintTo(const AppendFault& f, std::ostream* os) { *os << f.name; }

class CheckpointFileUnderFaults : public ::testing::TestWithParam<AppendFault> {
 protected:
  testing_support::TempDir dir_;
  FaultFileSystem faults_{LocalFileSystem()};
  CheckpointFile file_{faults_, dir_.File("audit-checkpoints.jsonl")};
};

TEST_P(CheckpointFileUnderFaults, AFailedAppendLeavesWholeLinesAndTheNextOneSucceeds) {
  ASSERT_TRUE(file_.Append(Cp(1)).ok());
  ASSERT_TRUE(file_.Append(Cp(2)).ok());
  const std::string before = Slurp(file_.path());

  const AppendFault& p = GetParam();
  int id = -1;
  if (p.fill > 0) {
    faults_.FillUpAfter(p.fill);
  } else {
    id = faults_.Inject(p.fault);
  }
  const Status s = file_.Append(Cp(3));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_GT(id >= 0 ? faults_.Fired(id) : faults_.fired(), 0) << "the fault was never reached";
  faults_.Heal();
  EXPECT_EQ(Slurp(file_.path()), before) << "cut back to what it held";
  EXPECT_EQ(Seqs(file_.ReadAll()), (std::vector<int64_t>{1, 2}));

  ASSERT_TRUE(file_.Append(Cp(3)).ok());
  EXPECT_EQ(Seqs(file_.ReadAll()), (std::vector<int64_t>{1, 2, 3}));
}

INSTANTIATE_TEST_SUITE_P(
    Faults, CheckpointFileUnderFaults,
    ::testing::Values(AppendFault{"OpenDirectory", {.op = FsOp::kOpenDirectory}},
                      AppendFault{"Stat", {.op = FsOp::kStat}},
                      AppendFault{"Open", {.op = FsOp::kCreateFile}},
                      AppendFault{"ReadTheLastLine", {.op = FsOp::kOpenFile}},
                      AppendFault{"WriteEio", {.op = FsOp::kAppend}},
                      AppendFault{"WriteNoSpace", {.op = FsOp::kAppend, .error = ENOSPC}},
                      AppendFault{"ShortWriteNoSpace",
                                  {.op = FsOp::kAppend, .error = ENOSPC, .short_write = true}},
                      AppendFault{"ShortWriteEio", {.op = FsOp::kAppend, .short_write = true}},
                      AppendFault{"DiskFillsUp", {}, 100},
                      AppendFault{"Fsync", {.op = FsOp::kSync}},
                      AppendFault{"FsyncOnce", {.op = FsOp::kSync, .sticky = false}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(CheckpointFileFaults, APartLineThatCouldNotBeCutIsRemovedByTheNextAppend) {
  testing_support::TempDir dir;
  FaultFileSystem faults{LocalFileSystem()};
  CheckpointFile file(faults, dir.File("audit-checkpoints.jsonl"));
  ASSERT_TRUE(file.Append(Cp(1)).ok());
  faults.Inject({.op = FsOp::kAppend, .error = ENOSPC, .short_write = true});
  faults.Inject({.op = FsOp::kTruncate});
  EXPECT_EQ(file.Append(Cp(2)).code(), StatusCode::kUnavailable);
  faults.Heal();
  const std::string torn = Slurp(file.path());
  ASSERT_NE(torn.back(), '\n') << "the part line stayed";
  EXPECT_EQ(Seqs(file.ReadAll()), std::vector<int64_t>{1});

  ASSERT_TRUE(file.Append(Cp(3)).ok());
  EXPECT_EQ(Seqs(file.ReadAll()), (std::vector<int64_t>{1, 3}));
  const std::string now = Slurp(file.path());
  EXPECT_EQ(std::count(now.begin(), now.end(), '\n'), 2);
}

TEST(CheckpointFileFaults, ALineCutShortByACrashIsRemovedByTheNextAppend) {
  testing_support::TempDir dir;
  CheckpointFile file(LocalFileSystem(), dir.File("audit-checkpoints.jsonl"));
  std::ofstream(file.path()) << R"({"tenant":1,"se)";  // the crash came before any line
  ASSERT_TRUE(file.Append(Cp(1)).ok());
  ASSERT_TRUE(file.Append(Cp(2)).ok());
  std::ofstream(file.path(), std::ios::app) << std::string(5000, ' ');  // longer than a block
  ASSERT_TRUE(file.Append(Cp(3)).ok());
  EXPECT_EQ(Seqs(file.ReadAll()), (std::vector<int64_t>{1, 2, 3}));
}

TEST(CheckpointFileFaults, TheFirstLineIsDurableOnlyWithTheFilesName) {
  testing_support::TempDir dir;
  FaultFileSystem faults{LocalFileSystem()};
  CheckpointFile file(faults, dir.File("audit-checkpoints.jsonl"));
  const int id = faults.Inject({.op = FsOp::kSyncDirectory});
  EXPECT_EQ(file.Append(Cp(1)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(Seqs(file.ReadAll()), std::vector<int64_t>{});
  // The failed append left an empty file: the retry still makes its name durable.
  EXPECT_EQ(file.Append(Cp(1)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(faults.Fired(id), 2);
  faults.Heal();
  ASSERT_TRUE(file.Append(Cp(1)).ok());
  ASSERT_TRUE(file.Append(Cp(2)).ok());
  EXPECT_EQ(Seqs(file.ReadAll()), (std::vector<int64_t>{1, 2}));
}

TEST(CheckpointFileFaults, AFailingReadIsAnErrorNeverDataLossOrAShortList) {
  testing_support::TempDir dir;
  FaultFileSystem faults{LocalFileSystem()};
  CheckpointFile file(faults, dir.File("audit-checkpoints.jsonl"));
  for (int64_t seq = 1; seq <= 100; ++seq) ASSERT_TRUE(file.Append(Cp(seq)).ok());
  faults.Inject({.op = FsOp::kRead, .after = 1});
  EXPECT_EQ(file.ReadAll().status().code(), StatusCode::kInternal);
  faults.Heal();
  faults.Inject({.op = FsOp::kOpenFile});
  EXPECT_EQ(file.ReadAll().status().code(), StatusCode::kInternal);
  faults.Heal();
  EXPECT_EQ(file.ReadAll()->size(), 100U);
}

}  // namespace
}  // namespace pactum::audit
