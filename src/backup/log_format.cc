#include "backup/log_format.h"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "common/big_endian.h"
#include "crypto/random.h"

namespace pactum::backup {
namespace {

// Version 2 of both adds the audit checkpoint lines; version 1 is still read.
constexpr std::string_view kSegmentMagicV1 = "PCTLOG1\n";
constexpr std::string_view kSegmentMagic = "PCTLOG2\n";
constexpr std::string_view kSnapshotMagicV1 = "PCTSNAP1";
constexpr std::string_view kSnapshotMagic = "PCTSNAP2";
// A segment holds at most this many pages (the shipper cuts segments far below it).
constexpr uint64_t kMaxSegmentPages = 1U << 20;

void PutBytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void PutText(std::vector<uint8_t>& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

// Reads big-endian fields from a byte span; any overrun makes ok() false.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool ok() const { return ok_; }
  size_t left() const { return bytes_.size() - at_; }

  std::span<const uint8_t> Take(size_t n) {
    if (!ok_ || left() < n) {
      ok_ = false;
      return {};
    }
    auto out = bytes_.subspan(at_, n);
    at_ += n;
    return out;
  }
  uint64_t Uint(size_t n) {
    uint64_t v = 0;
    for (const uint8_t b : Take(n)) v = (v << 8) | b;
    return v;
  }
  std::string Text(size_t n) {
    const auto b = Take(n);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t at_ = 0;
  bool ok_ = true;
};

std::string Digits(uint64_t v, int width) {
  std::string s = std::to_string(v);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
  return s;
}

}  // namespace

std::string NewLineage() { return crypto::RandomHex(kLineageChars / 2); }

bool IsLineage(std::string_view s) {
  return s.size() == kLineageChars &&
         s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

crypto::Sha256Digest GenesisHash(std::string_view lineage) {
  crypto::Sha256Stream h;
  const std::string_view label = "pactum-backup-lineage-v1";
  h.Update({reinterpret_cast<const uint8_t*>(label.data()), label.size()});
  h.Update({reinterpret_cast<const uint8_t*>(lineage.data()), lineage.size()});
  return h.Finish();
}

crypto::Sha256Digest HashBytes(std::span<const uint8_t> bytes) {
  crypto::Sha256Stream h;
  h.Update(bytes);
  return h.Finish();
}

std::vector<uint8_t> EncodeSegment(const Segment& segment) {
  size_t pages = 0;
  for (const Commit& c : segment.commits) pages += c.pages.size();
  std::vector<uint8_t> out;
  out.reserve(8 + kLineageChars + 8 + 32 + 4 + segment.commits.size() * 16 +
              pages * (4 + kPageBytes) + 4 + segment.checkpoints.size());
  PutText(out, kSegmentMagic);
  PutText(out, segment.lineage);
  AppendU64Be(out, segment.seq);
  PutBytes(out, segment.prev);
  AppendU32Be(out, static_cast<uint32_t>(segment.commits.size()));
  for (const Commit& c : segment.commits) {
    AppendU64Be(out, static_cast<uint64_t>(c.time_ms));
    AppendU32Be(out, c.db_pages);
    AppendU32Be(out, static_cast<uint32_t>(c.pages.size()));
    for (const store::PageImage& p : c.pages) {
      AppendU32Be(out, p.pgno);
      PutBytes(out, p.bytes);
    }
  }
  AppendU32Be(out, static_cast<uint32_t>(segment.checkpoints.size()));
  PutText(out, segment.checkpoints);
  return out;
}

Result<Segment> DecodeSegment(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  Segment s;
  const std::string magic = r.Text(kSegmentMagic.size());
  if (magic != kSegmentMagic && magic != kSegmentMagicV1) {
    return DataLoss("not a change-log segment (magic)");
  }
  s.lineage = r.Text(kLineageChars);
  s.seq = r.Uint(8);
  const auto prev = r.Take(32);
  if (r.ok()) std::memcpy(s.prev.data(), prev.data(), prev.size());
  const uint64_t commits = r.Uint(4);
  if (!r.ok() || !IsLineage(s.lineage) || s.seq == 0) {
    return DataLoss("change-log segment header is malformed");
  }
  uint64_t total_pages = 0;
  for (uint64_t i = 0; i < commits && r.ok(); ++i) {
    Commit& c = s.commits.emplace_back();
    c.time_ms = static_cast<int64_t>(r.Uint(8));
    c.db_pages = static_cast<uint32_t>(r.Uint(4));
    const uint64_t n = r.Uint(4);
    total_pages += n;
    if (!r.ok() || total_pages > kMaxSegmentPages || n * (4 + kPageBytes) > r.left()) {
      return DataLoss("change-log segment " + std::to_string(s.seq) + " is truncated");
    }
    c.pages.resize(n);
    for (store::PageImage& p : c.pages) {
      p.pgno = static_cast<uint32_t>(r.Uint(4));
      const auto page = r.Take(kPageBytes);
      if (!r.ok() || p.pgno == 0) {
        return DataLoss("change-log segment " + std::to_string(s.seq) + " has a bad page");
      }
      std::memcpy(p.bytes.data(), page.data(), kPageBytes);
    }
  }
  if (magic == kSegmentMagic) {
    const uint64_t n = r.Uint(4);
    if (n > kMaxCheckpointBytes || n > r.left()) {
      return DataLoss("change-log segment " + std::to_string(s.seq) + " is truncated");
    }
    s.checkpoints = r.Text(n);
  }
  if (!r.ok() || r.left() != 0) {
    return DataLoss("change-log segment " + std::to_string(s.seq) + " is malformed");
  }
  return s;
}

std::vector<uint8_t> EncodeSnapshotHeader(const SnapshotHeader& header) {
  std::vector<uint8_t> out;
  out.reserve(kSnapshotHeaderBytes);
  PutText(out, kSnapshotMagic);
  PutText(out, header.position.lineage);
  AppendU64Be(out, header.position.seq);
  PutBytes(out, header.position.hash);
  AppendU64Be(out, static_cast<uint64_t>(header.position.time_ms));
  AppendU32Be(out, header.pages);
  AppendU64Be(out, header.checkpoint_bytes);
  return out;
}

Result<SnapshotHeader> DecodeSnapshotHeader(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  SnapshotHeader h;
  const std::string magic = r.Text(kSnapshotMagic.size());
  if (magic != kSnapshotMagic && magic != kSnapshotMagicV1) {
    return DataLoss("not a snapshot (magic)");
  }
  h.position.lineage = r.Text(kLineageChars);
  h.position.seq = r.Uint(8);
  const auto hash = r.Take(32);
  if (r.ok()) std::memcpy(h.position.hash.data(), hash.data(), hash.size());
  h.position.time_ms = static_cast<int64_t>(r.Uint(8));
  h.pages = static_cast<uint32_t>(r.Uint(4));
  if (magic == kSnapshotMagic) h.checkpoint_bytes = r.Uint(8);
  if (!r.ok() || r.left() != 0 || !IsLineage(h.position.lineage) ||
      h.checkpoint_bytes > kMaxCheckpointBytes) {
    return DataLoss("snapshot header is malformed");
  }
  return h;
}

size_t SnapshotHeaderSize(std::span<const uint8_t> first_bytes) {
  const std::string_view magic(reinterpret_cast<const char*>(first_bytes.data()),
                               std::min(first_bytes.size(), kSnapshotMagicV1.size()));
  return magic == kSnapshotMagicV1 ? kSnapshotHeaderBytesV1 : kSnapshotHeaderBytes;
}

std::string SegmentName(std::string_view lineage, uint64_t seq) {
  return std::string(kChangeLogPrefix) + std::string(lineage) + "/" + Digits(seq, 16) + ".seg";
}

std::string SnapshotDataName(std::string_view id) {
  return std::string(kSnapshotPrefix) + std::string(id) + ".data";
}

std::string SnapshotManifestName(std::string_view id) {
  return std::string(kSnapshotPrefix) + std::string(id) + ".manifest";
}

std::string NewSnapshotId(int64_t time_ms) {
  const std::time_t t = time_ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dt%H%M%Sz", &tm);  // names are lower case
  return std::string(buf) + "-" + crypto::RandomHex(4);
}

std::string SnapshotIdOfManifest(std::string_view name) {
  constexpr std::string_view kSuffix = ".manifest";
  if (!name.starts_with(kSnapshotPrefix) || !name.ends_with(kSuffix)) return {};
  name.remove_prefix(kSnapshotPrefix.size());
  name.remove_suffix(kSuffix.size());
  if (name.empty() || name.find('/') != std::string_view::npos) return {};
  return std::string(name);
}

Result<std::vector<uint8_t>> ReadAll(ByteSource& source, size_t limit) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(size_t{64} * 1024);
  for (;;) {
    ASSIGN_OR_RETURN(const size_t n, source.Read(buf));
    if (n == 0) return out;
    if (out.size() + n > limit) return DataLoss("artefact larger than expected");
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n));
  }
}

}  // namespace pactum::backup
