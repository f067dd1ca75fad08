#include "backup/artefact.h"

#include <zstd.h>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "backup/local_target.h"
#include "crypto/random.h"
#include "tests/support/fault_backup_target.h"
#include "tests/support/temp_dir.h"

namespace pactum::backup {
namespace {

constexpr size_t kMiB = size_t{1024} * 1024;
constexpr char kName[] = "snapshots/2026-11-27t10.00.00z.db";

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// Text-like bytes that compress well, as a database's pages do.
std::vector<uint8_t> CompressibleBytes(size_t n, uint32_t seed) {
  static constexpr const char* kWords[] = {"agreement ", "party ",   "supplier ", "term ",
                                           "liability ", "payment ", "notice ",   "clause "};
  std::mt19937 rng(seed);
  std::vector<uint8_t> out;
  out.reserve(n);
  while (out.size() < n) {
    const std::string_view w = kWords[rng() % 8];
    for (const char c : w) {
      if (out.size() < n) out.push_back(static_cast<uint8_t>(c));
    }
  }
  return out;
}

// Reads everything, `chunk` bytes at a time; the error of the first failed read.
Result<std::vector<uint8_t>> ReadAll(ByteSource& s, size_t chunk = 100'000) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(chunk);
  for (;;) {
    ASSIGN_OR_RETURN(const size_t n, s.Read(buf));
    if (n == 0) return out;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

class ArtefactTest : public ::testing::Test {
 protected:
  ArtefactTest() {
    for (const uint32_t version : {1U, 2U}) {
      std::vector<uint8_t> key(32);
      crypto::RandomBytes(key);
      keys_[version] = key;
    }
  }

  BackupKeyLookup Lookup() const {
    return [this](uint32_t version) -> Result<crypto::SecretBytes> {
      const auto it = keys_.find(version);
      if (it == keys_.end()) return NotFound("no such backup key");
      return crypto::SecretBytes::CopyOf(it->second);
    };
  }

  std::vector<uint8_t> Seal(const std::vector<uint8_t>& plain, std::string_view name = kName,
                            uint32_t version = 2) {
    SpanSource source(plain);
    auto sealing = SealingSource(keys_.at(version), version, name, source);
    EXPECT_TRUE(sealing.ok()) << sealing.status().ToString();
    if (!sealing.ok()) return {};
    auto sealed = ReadAll(**sealing);
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return sealed.ok() ? *sealed : std::vector<uint8_t>{};
  }

  Result<std::vector<uint8_t>> Open(const std::vector<uint8_t>& sealed,
                                    std::string_view name = kName, size_t chunk = 100'000) {
    SpanSource source(sealed);
    ASSIGN_OR_RETURN(auto opening, OpeningSource(Lookup(), name, source));
    return ReadAll(*opening, chunk);
  }

  std::map<uint32_t, std::vector<uint8_t>> keys_;
};

TEST_F(ArtefactTest, RoundTrips) {
  for (const auto& plain : {std::vector<uint8_t>{}, std::vector<uint8_t>{42},
                            RandomBytes(3 * kMiB, 1), CompressibleBytes(3 * kMiB, 2)}) {
    const auto sealed = Seal(plain);
    auto opened = Open(sealed);
    ASSERT_TRUE(opened.ok()) << plain.size() << ": " << opened.status().ToString();
    EXPECT_EQ(*opened, plain) << plain.size();
  }
}

TEST_F(ArtefactTest, RoundTripsInAnyReadSize) {
  const auto plain = CompressibleBytes(300'000, 3);
  const auto sealed = Seal(plain);
  for (const size_t chunk : {size_t{1}, size_t{7}, size_t{65536}, size_t{65537}, size_t{1} << 20}) {
    auto opened = Open(sealed, kName, chunk);
    ASSERT_TRUE(opened.ok()) << chunk;
    EXPECT_EQ(*opened, plain) << chunk;
  }
  SpanSource source(plain);  // sealing read a byte at a time too
  auto sealing = SealingSource(keys_.at(2), 2, kName, source);
  ASSERT_TRUE(sealing.ok());
  auto sealed_slowly = ReadAll(**sealing, 1);
  ASSERT_TRUE(sealed_slowly.ok());
  EXPECT_EQ(*Open(*sealed_slowly), plain);
}

TEST_F(ArtefactTest, CompressibleDataShrinksRandomDataBarelyGrows) {
  const auto text = CompressibleBytes(3 * kMiB, 4);
  EXPECT_LT(Seal(text).size(), text.size() / 4);
  const auto random = RandomBytes(3 * kMiB, 5);
  const size_t sealed = Seal(random).size();
  EXPECT_GT(sealed, random.size());
  EXPECT_LT(sealed, random.size() + random.size() / 1000 + 200);  // tags, headers, zstd blocks
}

TEST_F(ArtefactTest, OpensWithTheKeyVersionItWasSealedWith) {
  const auto plain = CompressibleBytes(1000, 6);
  const auto sealed_v1 = Seal(plain, kName, 1);
  auto opened = Open(sealed_v1);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plain);
}

TEST_F(ArtefactTest, AFlippedByteAnywhereIsDataLoss) {
  // Two cipher chunks and a bit: header, first chunk, chunk boundary, last tag.
  const auto plain = RandomBytes(150'000, 7);
  const auto sealed = Seal(plain);
  std::vector<size_t> positions;
  for (size_t i = 0; i < 60; ++i) positions.push_back(i);  // the cipher header and beyond
  for (size_t i = 60; i < sealed.size(); i += 997) positions.push_back(i);
  for (size_t i = 65'600; i < 65'640; ++i) positions.push_back(i);  // around chunk 0's tag
  for (size_t i = sealed.size() - 40; i < sealed.size(); ++i) positions.push_back(i);
  for (const size_t at : positions) {
    auto bad = sealed;
    bad[at] ^= 0x01;
    auto opened = Open(bad);
    EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << "byte " << at;
  }
}

TEST_F(ArtefactTest, TruncatedOrExtendedIsDataLoss) {
  const auto plain = RandomBytes(200'000, 8);
  const auto sealed = Seal(plain);
  const size_t chunk_end = crypto::kFileHeaderBytes + crypto::kFileChunkBytes + 16;
  for (const size_t keep :
       {size_t{0}, size_t{10}, crypto::kFileHeaderBytes, crypto::kFileHeaderBytes + 1, chunk_end,
        2 * chunk_end - 53, sealed.size() / 2, sealed.size() - 16, sealed.size() - 1}) {
    const std::vector<uint8_t> cut(sealed.begin(),
                                   sealed.begin() + static_cast<std::ptrdiff_t>(keep));
    EXPECT_EQ(Open(cut).status().code(), StatusCode::kDataLoss) << "kept " << keep;
  }
  auto longer = sealed;
  longer.push_back(0);
  EXPECT_EQ(Open(longer).status().code(), StatusCode::kDataLoss);
  auto doubled = sealed;
  doubled.insert(doubled.end(), sealed.begin(), sealed.end());
  EXPECT_EQ(Open(doubled).status().code(), StatusCode::kDataLoss);
}

TEST_F(ArtefactTest, AnArtefactUnderAnotherNameIsDataLoss) {
  const auto sealed = Seal(CompressibleBytes(10'000, 9));
  auto opened = Open(sealed, "snapshots/2026-11-28t10.00.00z.db");
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("snapshots/2026-11-28t10.00.00z.db"), std::string::npos)
      << opened.status().message();
}

TEST_F(ArtefactTest, AWrongOrUnknownKeyIsDataLoss) {
  const auto plain = CompressibleBytes(10'000, 10);
  const auto sealed = Seal(plain);
  crypto::RandomBytes(keys_[2]);  // version 2 now means another key
  EXPECT_EQ(Open(sealed).status().code(), StatusCode::kDataLoss);
  keys_.erase(2);
  EXPECT_EQ(Open(sealed).status().code(), StatusCode::kDataLoss);
}

TEST_F(ArtefactTest, AKeyLookupFailureIsNotDataLoss) {
  const auto sealed = Seal(CompressibleBytes(1000, 11));
  SpanSource source(sealed);
  auto opened = OpeningSource(
      [](uint32_t) -> Result<crypto::SecretBytes> {
        return Unavailable("the key service is down");
      },
      kName, source);
  EXPECT_EQ(opened.status().code(), StatusCode::kUnavailable);
}

TEST_F(ArtefactTest, RefusesBadArguments) {
  std::vector<uint8_t> plain{1, 2, 3};
  SpanSource source(plain);
  EXPECT_EQ(SealingSource(keys_.at(2), 2, "../x", source).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SealingSource(std::vector<uint8_t>(16), 2, kName, source).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SealingSource(keys_.at(2), 2, kName, source, 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ArtefactTest, ThroughATargetThatFlipsAByte) {
  testing_support::TempDir dir;
  auto target = std::move(OpenLocalTarget(LocalFileSystem(), "site-a", dir.File("a"))).value();
  testing_support::FaultBackupTarget fault(*target);
  const auto plain = CompressibleBytes(2 * kMiB, 12);
  SpanSource source(plain);
  auto sealing = SealingSource(keys_.at(2), 2, kName, source);
  ASSERT_TRUE(sealing.ok());
  ASSERT_TRUE(fault.PutIfAbsent(kName, **sealing).ok());

  auto stored = fault.Get(kName);
  ASSERT_TRUE(stored.ok());
  auto opening = OpeningSource(Lookup(), kName, **stored);
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(*ReadAll(**opening), plain);

  fault.CorruptGets(5000);
  stored = fault.Get(kName);
  ASSERT_TRUE(stored.ok());
  opening = OpeningSource(Lookup(), kName, **stored);
  ASSERT_TRUE(opening.ok());
  EXPECT_EQ(ReadAll(**opening).status().code(), StatusCode::kDataLoss);
}

// Authentic cipher streams around plaintexts that are not one whole zstd frame: what a bug
// in the sealing side (or a holder of the backup key) could produce.
TEST_F(ArtefactTest, AnythingButOneWholeZstdFrameIsDataLoss) {
  const auto plain = CompressibleBytes(100'000, 13);
  std::vector<uint8_t> frame(ZSTD_compressBound(plain.size()));
  frame.resize(ZSTD_compress(frame.data(), frame.size(), plain.data(), plain.size(), 1));
  auto seal_raw = [&](const std::vector<uint8_t>& inner) {
    SpanSource source(inner);
    auto sealing =
        crypto::EncryptingSource(keys_.at(2), {.tenant_id = 0, .key_version = 2}, kName, source);
    EXPECT_TRUE(sealing.ok());
    return *ReadAll(**sealing);
  };
  auto opened = Open(seal_raw(frame));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();  // the control: a whole frame opens
  EXPECT_EQ(*opened, plain);

  const std::vector<uint8_t> cut(frame.begin(), frame.end() - 10);
  auto twice = frame;
  twice.insert(twice.end(), frame.begin(), frame.end());
  auto trailing = frame;
  trailing.push_back(0);
  const std::vector<uint8_t> not_zstd = CompressibleBytes(1000, 14);
  for (const std::vector<uint8_t>& inner : {cut, twice, trailing, not_zstd}) {
    auto bad = Open(seal_raw(inner));
    EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss) << inner.size();
  }
  EXPECT_EQ(Open(seal_raw({})).status().code(), StatusCode::kDataLoss);
}

// A deterministic stream of `size` compressible bytes, generated as it is read.
class PatternSource final : public ByteSource {
 public:
  explicit PatternSource(uint64_t size) : left_(size) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left_, out.size()));
    for (size_t i = 0; i < n; ++i) out[i] = Byte(position_ + i);
    position_ += n;
    left_ -= n;
    return n;
  }
  static uint8_t Byte(uint64_t i) { return static_cast<uint8_t>((i / 4096) * 31 + (i % 251)); }

 private:
  uint64_t left_;
  uint64_t position_ = 0;
};

// Sealing and opening pipe into each other without the artefact ever being in memory.
TEST_F(ArtefactTest, StreamsALargeArtefact) {
  constexpr uint64_t kSize = uint64_t{1} << 30;  // 1 GiB
  PatternSource plain(kSize + 1);
  auto sealing = SealingSource(keys_.at(2), 2, kName, plain);
  ASSERT_TRUE(sealing.ok());
  auto opening = OpeningSource(Lookup(), kName, **sealing);
  ASSERT_TRUE(opening.ok());
  std::vector<uint8_t> buf(kMiB);
  uint64_t position = 0;
  bool same = true;
  for (;;) {
    auto n = (*opening)->Read(buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    for (size_t i = 0; i < *n && same; i += 4093)
      same = buf[i] == PatternSource::Byte(position + i);
    position += *n;
  }
  EXPECT_TRUE(same);
  EXPECT_EQ(position, kSize + 1);
}

}  // namespace
}  // namespace pactum::backup
