#include "crypto/file_cipher.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "crypto/random.h"

namespace pactum::crypto {
namespace {

constexpr uint32_t kSmallChunk = 1024;

// Deterministic pseudo-random bytes (xorshift64*), `size` of them.
class PatternSource final : public ByteSource {
 public:
  PatternSource(uint64_t size, uint64_t seed) : left_(size), state_(seed | 1) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), left_));
    for (size_t i = 0; i < n; ++i) {
      state_ ^= state_ >> 12;
      state_ ^= state_ << 25;
      state_ ^= state_ >> 27;
      out[i] = static_cast<uint8_t>((state_ * 0x2545F4914F6CDD1DULL) >> 56);
    }
    left_ -= n;
    return n;
  }

 private:
  uint64_t left_;
  uint64_t state_;
};

std::vector<uint8_t> Drain(ByteSource& s, size_t step = 4096) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(step);
  for (;;) {
    auto n = s.Read(buf);
    if (!n.ok() || *n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  return out;
}

class FileCipherTest : public ::testing::Test {
 protected:
  FileCipherTest() : key_(32), other_key_(32) {
    RandomBytes(key_.span());
    RandomBytes(other_key_.span());
  }

  std::vector<uint8_t> Seal(std::span<const uint8_t> plain, uint32_t chunk = kSmallChunk,
                            std::string_view id = "obj-1") {
    SpanSource src(plain);
    auto enc = EncryptingSource(key_.span(),
                                {.tenant_id = 7, .key_version = 2, .chunk_bytes = chunk}, id, src);
    EXPECT_TRUE(enc.ok()) << enc.status().ToString();
    return Drain(**enc, 777);  // an odd read size crosses every boundary
  }

  // The plaintext, or the error of opening `sealed` as tenant 7's object `id`.
  Result<std::vector<uint8_t>> Open(std::span<const uint8_t> sealed, std::string_view id = "obj-1",
                                    int64_t tenant = 7) {
    SpanSource src(sealed);
    auto lookup = [this](uint32_t version) -> Result<SecretBytes> {
      if (version != 2) return NotFound("no such key version");
      return SecretBytes::CopyOf(key_.span());
    };
    ASSIGN_OR_RETURN(auto dec, DecryptingSource(tenant, id, lookup, src));
    std::vector<uint8_t> out;
    std::vector<uint8_t> buf(1000);
    for (;;) {
      ASSIGN_OR_RETURN(const size_t n, dec->Read(buf));
      if (n == 0) break;
      out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
    return out;
  }

  SecretBytes key_;
  SecretBytes other_key_;
};

TEST_F(FileCipherTest, RoundTripsEverySizeAroundTheChunkBoundaries) {
  for (const size_t size :
       {size_t{0}, size_t{1}, size_t{kSmallChunk - 1}, size_t{kSmallChunk}, size_t{kSmallChunk + 1},
        size_t{3} * kSmallChunk, size_t{3} * kSmallChunk + 17}) {
    std::vector<uint8_t> plain(size);
    PatternSource(size, size + 1).Read(plain).value();
    const auto sealed = Seal(plain);
    EXPECT_EQ(sealed.size(), SealedFileSize(size, kSmallChunk)) << size;
    auto opened = Open(sealed);
    ASSERT_TRUE(opened.ok()) << size << ": " << opened.status().ToString();
    EXPECT_EQ(*opened, plain) << size;
  }
}

TEST_F(FileCipherTest, RangedReadsStartAtAnyOffsetAndReadOnlyWhatTheyNeed) {
  const size_t size = size_t{5} * kSmallChunk + 300;
  std::vector<uint8_t> plain(size);
  PatternSource(size, 99).Read(plain).value();
  auto sealed = Seal(plain);
  std::vector<uint64_t> opened_at;
  const SealedOpener open_at = [&](uint64_t offset) -> Result<std::unique_ptr<ByteSource>> {
    opened_at.push_back(offset);
    if (offset > sealed.size()) return InvalidArgument("past the end");
    return std::unique_ptr<ByteSource>(
        std::make_unique<SpanSource>(std::span<const uint8_t>(sealed).subspan(offset)));
  };
  const TenantKeyLookup lookup = [this](uint32_t) -> Result<SecretBytes> {
    return SecretBytes::CopyOf(key_.span());
  };
  for (const size_t offset : {size_t{0}, size_t{1}, size_t{kSmallChunk - 1}, size_t{kSmallChunk},
                              size_t{kSmallChunk + 1}, size_t{3} * kSmallChunk + 5, size - 1}) {
    opened_at.clear();
    auto dec = DecryptingSourceAt(7, "obj-1", lookup, open_at, offset);
    ASSERT_TRUE(dec.ok()) << offset << ": " << dec.status().ToString();
    const auto got = Drain(**dec, 333);
    EXPECT_EQ(
        got, std::vector<uint8_t>(plain.begin() + static_cast<std::ptrdiff_t>(offset), plain.end()))
        << offset;
    const uint64_t chunk = offset / kSmallChunk;
    ASSERT_FALSE(opened_at.empty());
    EXPECT_EQ(opened_at.back(), chunk == 0 ? 0 : kFileHeaderBytes + chunk * (kSmallChunk + 16))
        << offset;
  }
  // A ranged read still authenticates what it reads: an altered chunk after the offset
  // fails, and so does a header naming another tenant.
  sealed[kFileHeaderBytes + size_t{4} * (kSmallChunk + 16) + 7] ^= 1;
  auto dec = DecryptingSourceAt(7, "obj-1", lookup, open_at, uint64_t{2} * kSmallChunk);
  ASSERT_TRUE(dec.ok());
  std::vector<uint8_t> buf(size);
  Result<size_t> n = size_t{0};
  do {
    n = (*dec)->Read(buf);
  } while (n.ok() && *n > 0);
  EXPECT_EQ(n.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(
      DecryptingSourceAt(8, "obj-1", lookup, open_at, uint64_t{2} * kSmallChunk).status().code(),
      StatusCode::kDataLoss);
}

TEST_F(FileCipherTest, StreamsAHundredMebibytesInConstantMemory) {
  constexpr uint64_t kSize = 100ULL << 20;
  PatternSource plain(kSize, 42);
  auto enc = EncryptingSource(key_.span(), {.tenant_id = 7, .key_version = 2}, "big", plain);
  ASSERT_TRUE(enc.ok());
  auto lookup = [this](uint32_t) { return Result<SecretBytes>(SecretBytes::CopyOf(key_.span())); };
  auto dec = DecryptingSource(7, "big", lookup, **enc);  // sealed bytes never held whole
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  PatternSource expected(kSize, 42);
  std::vector<uint8_t> got(100'000);
  std::vector<uint8_t> want(100'000);
  uint64_t total = 0;
  for (;;) {
    auto n = (*dec)->Read(got);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    ASSERT_EQ(ReadFull(expected, std::span<uint8_t>(want).first(*n)).value(), *n);
    ASSERT_TRUE(
        std::equal(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(*n), want.begin()))
        << "at " << total;
    total += *n;
  }
  EXPECT_EQ(total, kSize);
}

TEST_F(FileCipherTest, EveryFlippedByteIsDetected) {
  std::vector<uint8_t> plain(size_t{2} * kSmallChunk + 100, 'x');
  const auto sealed = Seal(plain);
  for (size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= 0x01;
    auto opened = Open(bad);
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << "byte " << i;
  }
}

TEST_F(FileCipherTest, TruncatedReorderedOrExtendedStreamsAreDetected) {
  std::vector<uint8_t> plain(size_t{3} * kSmallChunk,
                             'y');  // three full chunks, the third the last
  const auto sealed = Seal(plain);
  const size_t c = kSmallChunk + 16;
  for (size_t len = 0; len < sealed.size(); ++len) {
    auto opened = Open(std::span<const uint8_t>(sealed).first(len));
    EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << "truncated to " << len;
  }
  auto swapped = sealed;
  std::swap_ranges(swapped.begin() + kFileHeaderBytes,
                   swapped.begin() + static_cast<std::ptrdiff_t>(kFileHeaderBytes + c),
                   swapped.begin() + static_cast<std::ptrdiff_t>(kFileHeaderBytes + c));
  EXPECT_EQ(Open(swapped).status().code(), StatusCode::kDataLoss) << "chunks 0 and 1 swapped";
  auto dropped = sealed;
  dropped.erase(dropped.begin() + kFileHeaderBytes,
                dropped.begin() + static_cast<std::ptrdiff_t>(kFileHeaderBytes + c));
  EXPECT_EQ(Open(dropped).status().code(), StatusCode::kDataLoss) << "chunk 0 dropped";
  auto doubled = sealed;
  doubled.insert(doubled.begin() + kFileHeaderBytes, sealed.begin() + kFileHeaderBytes,
                 sealed.begin() + static_cast<std::ptrdiff_t>(kFileHeaderBytes + c));
  EXPECT_EQ(Open(doubled).status().code(), StatusCode::kDataLoss) << "chunk 0 twice";
  auto longer = sealed;
  longer.push_back(0);
  EXPECT_EQ(Open(longer).status().code(), StatusCode::kDataLoss) << "a byte appended";
}

TEST_F(FileCipherTest, AnotherTenantObjectOrKeyDoesNotOpen) {
  const std::vector<uint8_t> plain(5000, 'z');
  const auto sealed = Seal(plain);
  auto other_tenant = Open(sealed, "obj-1", 8);
  EXPECT_EQ(other_tenant.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Open(sealed, "obj-2").status().code(), StatusCode::kDataLoss) << "moved to another id";
  // The header rewritten to name tenant 8 no longer authenticates, even for tenant 8.
  auto relabelled = sealed;
  relabelled[12] = 8;
  EXPECT_EQ(Open(relabelled, "obj-1", 8).status().code(), StatusCode::kDataLoss);
  // Sealed under another key (another tenant's) with the right labels: refused.
  std::swap(key_, other_key_);
  const auto foreign = Seal(plain);
  std::swap(key_, other_key_);
  EXPECT_EQ(Open(foreign).status().code(), StatusCode::kDataLoss);
  // An unknown key version is corruption, not a crash.
  auto future = sealed;
  future[16] = 9;
  EXPECT_EQ(Open(future).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Open(std::vector<uint8_t>{'n', 'o', 'p', 'e'}).status().code(), StatusCode::kDataLoss);
}

TEST_F(FileCipherTest, NoPlaintextOfAnAlteredChunkIsReleased) {
  std::vector<uint8_t> plain(size_t{2} * kSmallChunk, 'p');
  auto sealed = Seal(plain);
  sealed[kFileHeaderBytes + 5] ^= 0x80;  // inside chunk 0
  SpanSource src(sealed);
  auto dec = DecryptingSource(
      7, "obj-1",
      [this](uint32_t) { return Result<SecretBytes>(SecretBytes::CopyOf(key_.span())); }, src);
  ASSERT_TRUE(dec.ok());
  std::vector<uint8_t> buf(1);
  auto first = (*dec)->Read(buf);
  EXPECT_EQ(first.status().code(), StatusCode::kDataLoss) << "not even one byte";
  // Read into a buffer large enough to be decrypted in place: the failed chunk's bytes are
  // wiped, not left for a careless caller.
  SpanSource again(sealed);
  auto direct = DecryptingSource(
      7, "obj-1",
      [this](uint32_t) { return Result<SecretBytes>(SecretBytes::CopyOf(key_.span())); }, again);
  ASSERT_TRUE(direct.ok());
  std::vector<uint8_t> big(size_t{4} * kSmallChunk, 0xEE);
  EXPECT_EQ((*direct)->Read(big).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(std::count(big.begin(), big.end(), uint8_t{'p'}), 0) << "no plaintext in the buffer";
}

TEST_F(FileCipherTest, TwoSealsOfOneFileDiffer) {
  const std::vector<uint8_t> plain(100, 'q');
  EXPECT_NE(Seal(plain), Seal(plain)) << "a fresh salt, so a fresh file key, every time";
  SpanSource src(plain);
  EXPECT_EQ(
      EncryptingSource(key_.span(), {.tenant_id = 7, .key_version = 2, .chunk_bytes = 10}, "x", src)
          .status()
          .code(),
      StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pactum::crypto
