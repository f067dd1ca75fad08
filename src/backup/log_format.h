#pragma once

// The plaintext formats of backup artefacts (before zstd and sealing, backup/artefact.h)
// and their object names on a target.
//
// A lineage is one unbroken history of the database: a snapshot at position 0 (or later
// snapshots at later positions) and change-log segments 1, 2, ... each holding whole
// committed transactions as page images with their commit times. Segment n carries the
// SHA-256 of segment n-1 (of the lineage's genesis for n = 1), so a missing, swapped or
// foreign segment breaks the chain on restore. A new lineage starts when the WAL's
// continuity was lost (first start, or a checkpoint the backup side did not make).
//
// Segment (integers big-endian):
//   "PCTLOG2\n" | lineage (32 hex chars) | seq u64 | prev hash (32) | commits u32 |
//   per commit: time ms i64 | database pages after it u32 | pages u32 |
//               per page: page number u32 | 4096 bytes
//   | checkpoint bytes u32 | the audit checkpoint lines appended since the segment before
// Snapshot:
//   "PCTSNAP2" | lineage (32) | position seq u64 | position hash (32) | position time ms
//   i64 | pages u32 | checkpoint bytes u64 | then pages 1..n, 4096 bytes each, then the
//   audit checkpoint file's lines when the snapshot was taken
// Version 1 of each ("PCTLOG1\n", "PCTSNAP1") is the same without the checkpoint parts.
//
// The checkpoint lines are the audit trail's signed checkpoints (audit/checkpoint.h,
// <data>/audit-checkpoints.jsonl, kept apart from the database), copied as complete JSON
// lines and never parsed here. A segment may carry lines and no transaction (checkpoints
// signed while nothing was written); a line may travel twice (in a snapshot and in the
// segment after it). A restore keeps those that match the restored chains.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.h"
#include "common/status.h"
#include "crypto/sha256.h"
#include "store/change_capture.h"

namespace pactum::backup {

inline constexpr size_t kPageBytes = store::kPageImageBytes;
inline constexpr size_t kLineageChars = 32;

// Where a lineage stands: after segment `seq` (0: its start) whose hash is `hash`, with
// the time of the last transaction in it.
struct LogPosition {
  std::string lineage;
  uint64_t seq = 0;
  crypto::Sha256Digest hash{};
  int64_t time_ms = 0;
  // What the lineage's change log holds up to here (prune's replay bound); not part of
  // the segment or snapshot formats.
  uint64_t transactions = 0;
  uint64_t page_bytes = 0;
};

// A fresh random lineage id (32 hex characters).
std::string NewLineage();
bool IsLineage(std::string_view s);
// The hash segment 1 of `lineage` links to.
crypto::Sha256Digest GenesisHash(std::string_view lineage);

struct Commit {
  int64_t time_ms = 0;
  uint32_t db_pages = 0;
  std::vector<store::PageImage> pages;
};

struct Segment {
  std::string lineage;
  uint64_t seq = 0;
  crypto::Sha256Digest prev{};
  std::vector<Commit> commits;
  std::string checkpoints;  // complete lines of the audit checkpoint file
};

// The most checkpoint bytes one artefact may carry: bounds what a damaged or hostile
// artefact can make a restore allocate.
inline constexpr uint64_t kMaxCheckpointBytes = uint64_t{256} << 20;

std::vector<uint8_t> EncodeSegment(const Segment& segment);
// kDataLoss for anything that is not a well-formed segment.
Result<Segment> DecodeSegment(std::span<const uint8_t> bytes);
crypto::Sha256Digest HashBytes(std::span<const uint8_t> bytes);

struct SnapshotHeader {
  LogPosition position;
  uint32_t pages = 0;
  uint64_t checkpoint_bytes = 0;  // after the pages
};
inline constexpr size_t kSnapshotHeaderBytesV1 = 8 + kLineageChars + 8 + 32 + 8 + 4;
inline constexpr size_t kSnapshotHeaderBytes = kSnapshotHeaderBytesV1 + 8;
// The header's size, from its first 8 bytes (the version in its magic).
size_t SnapshotHeaderSize(std::span<const uint8_t> first_bytes);
std::vector<uint8_t> EncodeSnapshotHeader(const SnapshotHeader& header);
Result<SnapshotHeader> DecodeSnapshotHeader(std::span<const uint8_t> bytes);

// Object names on a target.
std::string SegmentName(std::string_view lineage, uint64_t seq);
std::string SnapshotDataName(std::string_view id);
std::string SnapshotManifestName(std::string_view id);
inline constexpr std::string_view kSnapshotPrefix = "snapshots/";
inline constexpr std::string_view kChangeLogPrefix = "changelog/";
// A new snapshot id: "<UTC time as yyyymmddthhmmssz>-<8 hex>", so names sort by time.
std::string NewSnapshotId(int64_t time_ms);
// The id in a manifest's object name; empty when `name` is not one.
std::string SnapshotIdOfManifest(std::string_view name);

// Reads a whole (small) source into memory, at most `limit` bytes (kDataLoss beyond).
Result<std::vector<uint8_t>> ReadAll(ByteSource& source, size_t limit);

}  // namespace pactum::backup
