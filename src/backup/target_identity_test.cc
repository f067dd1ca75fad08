// A target's identity checked against the ledger: new, adopted, lost (each way), foreign,
// unavailable; the marker and the ledger as files.

#include "backup/target_identity.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "backup/local_target.h"
#include "backup/log_format.h"
#include "common/byte_source.h"
#include "common/file_system.h"
#include "common/files.h"
#include "tests/support/fault_backup_target.h"
#include "tests/support/temp_dir.h"

namespace pactum::backup {
namespace {

using testing_support::FaultBackupTarget;
using testing_support::TempDir;

Status PutText(BackupTarget& t, std::string_view name, std::string_view text) {
  SpanSource source({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  return t.PutIfAbsent(name, source);
}

class TargetIdentityTest : public ::testing::Test {
 protected:
  std::string Dir() const { return dir_.File("site-a"); }
  std::unique_ptr<BackupTarget> Open(LocalTargetOpen open = LocalTargetOpen::kExisting) const {
    return std::move(OpenLocalTarget(LocalFileSystem(), "site-a", Dir(), open)).value();
  }
  TempDir dir_;
};

TEST_F(TargetIdentityTest, AMissingDirectoryWithoutARecordIsNewAndIsNotCreatedByTheCheck) {
  auto target = Open();
  const TargetCheck check = CheckTarget(*target, nullptr);
  EXPECT_EQ(check.state, TargetState::kNew);
  EXPECT_FALSE(std::filesystem::exists(Dir())) << "opened kExisting and checked: nothing made";
}

TEST_F(TargetIdentityTest, AnEmptyTargetIsNewAndAMarkerIsWrittenOnce) {
  auto target = Open(LocalTargetOpen::kCreate);
  EXPECT_EQ(CheckTarget(*target, nullptr).state, TargetState::kNew);
  auto first = EnsureMarker(*target, 1000);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->id.size(), 32U);
  auto again = EnsureMarker(*target, 2000);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, first->id) << "the first marker stays";
  EXPECT_EQ(again->created_ms, 1000);
  auto read = ReadMarker(*target);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->name, "site-a");
  const TargetRecord record{.id = first->id};
  EXPECT_EQ(CheckTarget(*target, &record).state, TargetState::kOk);
}

TEST_F(TargetIdentityTest, BackupsFromBeforeMarkersAreAdoptedNotLost) {
  auto target = Open(LocalTargetOpen::kCreate);
  ASSERT_TRUE(PutText(*target, SegmentName(NewLineage(), 1), "a segment").ok());
  const TargetCheck check = CheckTarget(*target, nullptr);
  EXPECT_EQ(check.state, TargetState::kOk);
  EXPECT_FALSE(check.marker.has_value());
}

TEST_F(TargetIdentityTest, EachWayOfLosingBackupsIsLostWithItsReason) {
  auto target = Open(LocalTargetOpen::kCreate);
  auto marker = EnsureMarker(*target, 1000);
  ASSERT_TRUE(marker.ok());
  const std::string snapshot = NewSnapshotId(1000);
  ASSERT_TRUE(PutText(*target, SnapshotManifestName(snapshot), "manifest").ok());
  TargetRecord record{.id = marker->id, .last_snapshot = snapshot};
  ASSERT_EQ(CheckTarget(*target, &record).state, TargetState::kOk);

  // The snapshot verified there is gone.
  ASSERT_TRUE(target->Delete(SnapshotManifestName(snapshot)).ok());
  TargetCheck check = CheckTarget(*target, &record);
  EXPECT_EQ(check.state, TargetState::kLost);
  EXPECT_NE(check.reason.find(snapshot), std::string::npos) << check.reason;

  // Another target's marker.
  record.last_snapshot.clear();
  TargetRecord other{.id = std::string(32, 'a')};
  check = CheckTarget(*target, &other);
  EXPECT_EQ(check.state, TargetState::kLost);
  EXPECT_NE(check.reason.find("another target"), std::string::npos) << check.reason;

  // The marker gone, the directory kept.
  std::filesystem::remove(Dir() + "/" + std::string(kMarkerObject));
  check = CheckTarget(*target, &record);
  EXPECT_EQ(check.state, TargetState::kLost);
  EXPECT_NE(check.reason.find("marker"), std::string::npos) << check.reason;

  // A damaged marker, or one of the wrong shape.
  ASSERT_TRUE(PutText(*target, kMarkerObject, "{not json").ok());
  EXPECT_EQ(CheckTarget(*target, &record).state, TargetState::kLost);
  std::filesystem::remove(Dir() + "/" + std::string(kMarkerObject));
  ASSERT_TRUE(PutText(*target, kMarkerObject, R"({"format":"1","id":7})").ok());
  EXPECT_EQ(ReadMarker(*target).status().code(), StatusCode::kDataLoss);

  // The whole directory gone.
  std::filesystem::remove_all(Dir());
  check = CheckTarget(*target, &record);
  EXPECT_EQ(check.state, TargetState::kLost);
  EXPECT_NE(check.reason.find("storage is gone"), std::string::npos) << check.reason;
  EXPECT_FALSE(std::filesystem::exists(Dir()));
  ASSERT_TRUE(target->Prepare().ok());
  EXPECT_TRUE(std::filesystem::exists(Dir() + "/.tmp")) << "Prepare makes it anew";
}

TEST_F(TargetIdentityTest, AnOpenLossStaysLostUntilClosed) {
  auto target = Open(LocalTargetOpen::kCreate);
  auto marker = EnsureMarker(*target, 1000);
  ASSERT_TRUE(marker.ok());
  TargetRecord record{.id = marker->id, .lost_ms = 900, .lost_reason = "its storage is gone"};
  const TargetCheck check = CheckTarget(*target, &record);
  EXPECT_EQ(check.state, TargetState::kLost);
  EXPECT_NE(check.reason.find("no verified snapshot"), std::string::npos) << check.reason;
  record.lost_ms = 0;
  EXPECT_EQ(CheckTarget(*target, &record).state, TargetState::kOk);
}

TEST_F(TargetIdentityTest, AnUnreachableTargetIsUnavailableNotLost) {
  auto real = Open(LocalTargetOpen::kCreate);
  FaultBackupTarget target(*real);
  target.down = true;
  const TargetRecord record{.id = std::string(32, 'b')};
  const TargetCheck check = CheckTarget(target, &record);
  EXPECT_EQ(check.state, TargetState::kUnavailable);
  EXPECT_EQ(check.reason, "backup target is down");
}

TEST_F(TargetIdentityTest, TheLedgerRoundTripsAndRefusesDamage) {
  const std::string path = dir_.File("targets.json");
  auto empty = TargetLedger::Load(path);
  ASSERT_TRUE(empty.ok()) << "a missing ledger is empty";
  EXPECT_TRUE(empty->records().empty());
  empty->At("site-a") = TargetRecord{.id = std::string(32, 'c'),
                                     .since_ms = 5,
                                     .last_snapshot = "s",
                                     .lost_ms = 6,
                                     .lost_reason = "why",
                                     .losses = 2,
                                     .last_loss_ms = 6};
  ASSERT_TRUE(empty->Save().ok());
  auto loaded = TargetLedger::Load(path);
  ASSERT_TRUE(loaded.ok());
  const TargetRecord* r = loaded->Find("site-a");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->last_snapshot, "s");
  EXPECT_EQ(r->lost_reason, "why");
  EXPECT_EQ(r->losses, 2);
  EXPECT_EQ(loaded->Find("site-b"), nullptr);
  ASSERT_TRUE(WriteFileAtomic(path, R"({"targets":{"site-a":{"id":"short"}}})", 0600).ok());
  EXPECT_EQ(TargetLedger::Load(path).status().code(), StatusCode::kDataLoss);
  ASSERT_TRUE(WriteFileAtomic(path, "[]", 0600).ok());
  EXPECT_EQ(TargetLedger::Load(path).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace pactum::backup
