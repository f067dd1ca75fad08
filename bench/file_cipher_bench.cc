// Stored-file encryption throughput: Pactum's AES-256-GCM STREAM format (crypto/
// file_cipher) against libsodium's crypto_secretstream_xchacha20poly1305, the other
// construction DESIGN §3 allows, on the same 256 MiB in the same run, 64 KiB chunks, one
// core. Prints MB/s for sealing and opening and the ratio. Median of three rounds.

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "crypto/file_cipher.h"
#include "crypto/random.h"

namespace {

using pactum::ByteSource;
using pactum::Result;
using pactum::SpanSource;
namespace crypto = pactum::crypto;

constexpr size_t kSize = 256ULL << 20;
constexpr size_t kChunk = size_t{64} * 1024;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Drains a source straight into `out` (sized and touched before the clock starts, like
// the secretstream side's buffers); returns the bytes read.
size_t Drain(ByteSource& s, std::vector<uint8_t>& out) {
  size_t got = 0;
  for (;;) {
    const size_t room = std::min<size_t>(1 << 20, out.size() - got);
    auto n = s.Read(std::span<uint8_t>(out.data() + got, room));
    if (!n.ok() || *n == 0) break;
    got += *n;
  }
  return got;
}

struct Round {
  double pactum_seal, pactum_open, sodium_seal, sodium_open, raw_gcm_seal;
};

// The cipher alone: AES-256-GCM over 64 KiB chunks, a nonce per chunk, no stream plumbing.
double RawGcmSeal(const std::vector<uint8_t>& plain, const crypto::SecretBytes& key,
                  std::vector<uint8_t>& out) {
  out.resize(kSize + (kSize / kChunk + 1) * 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  uint8_t nonce[12] = {};
  const auto t = std::chrono::steady_clock::now();
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nullptr);
  size_t o = 0;
  for (size_t off = 0; off < kSize; off += kChunk) {
    nonce[0] = static_cast<uint8_t>(off >> 16);
    int len = 0;
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce);
    EVP_EncryptUpdate(ctx, out.data() + o, &len, plain.data() + off, static_cast<int>(kChunk));
    EVP_EncryptFinal_ex(ctx, out.data() + o + kChunk, &len);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.data() + o + kChunk);
    o += kChunk + 16;
  }
  const double s = Seconds(t);
  EVP_CIPHER_CTX_free(ctx);
  return s;
}

Round Measure(const std::vector<uint8_t>& plain, const crypto::SecretBytes& key) {
  Round r{};
  std::vector<uint8_t> sealed(crypto::SealedFileSize(kSize));
  std::vector<uint8_t> opened(kSize);
  {
    SpanSource src(plain);
    auto enc =
        crypto::EncryptingSource(key.span(), {.tenant_id = 1, .key_version = 1}, "bench", src);
    const auto t = std::chrono::steady_clock::now();
    Drain(**enc, sealed);
    r.pactum_seal = Seconds(t);
  }
  {
    SpanSource src(sealed);
    auto lookup = [&](uint32_t) {
      return Result<crypto::SecretBytes>(crypto::SecretBytes::CopyOf(key.span()));
    };
    auto dec = crypto::DecryptingSource(1, "bench", lookup, src);
    const auto t = std::chrono::steady_clock::now();
    Drain(**dec, opened);
    r.pactum_open = Seconds(t);
    if (opened != plain) std::fprintf(stderr, "pactum round trip differs\n");
  }
  // libsodium secretstream, the same chunking.
  std::vector<uint8_t> s_sealed(kSize + (kSize / kChunk + 1) *
                                            crypto_secretstream_xchacha20poly1305_ABYTES);
  std::vector<uint8_t> s_opened(kSize);
  uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  {
    crypto_secretstream_xchacha20poly1305_state st;
    const auto t = std::chrono::steady_clock::now();
    crypto_secretstream_xchacha20poly1305_init_push(&st, header, key.data());
    size_t out = 0;
    for (size_t off = 0; off < kSize; off += kChunk) {
      const size_t n = std::min(kChunk, kSize - off);
      const uint8_t tag = off + n == kSize ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;
      unsigned long long clen = 0;
      crypto_secretstream_xchacha20poly1305_push(&st, s_sealed.data() + out, &clen,
                                                 plain.data() + off, n, nullptr, 0, tag);
      out += clen;
    }
    r.sodium_seal = Seconds(t);
  }
  {
    crypto_secretstream_xchacha20poly1305_state st;
    const auto t = std::chrono::steady_clock::now();
    crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key.data());
    size_t in = 0;
    size_t out = 0;
    const size_t sealed_chunk = kChunk + crypto_secretstream_xchacha20poly1305_ABYTES;
    while (out < kSize) {
      const size_t n = std::min(sealed_chunk, s_sealed.size() - in);
      unsigned long long mlen = 0;
      uint8_t tag = 0;
      if (crypto_secretstream_xchacha20poly1305_pull(&st, s_opened.data() + out, &mlen, &tag,
                                                     s_sealed.data() + in, n, nullptr, 0) != 0) {
        std::fprintf(stderr, "secretstream open failed\n");
        break;
      }
      in += n;
      out += mlen;
    }
    r.sodium_open = Seconds(t);
  }
  r.raw_gcm_seal = RawGcmSeal(plain, key, s_sealed);
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  if (sodium_init() < 0) return 1;
  std::vector<uint8_t> plain(kSize);
  crypto::RandomBytes(plain);
  crypto::SecretBytes key(32);
  crypto::RandomBytes(key.span());
  std::vector<double> ps, po, ss, so, rg;
  for (int i = 0; i < 3; ++i) {
    const Round r = Measure(plain, key);
    ps.push_back(r.pactum_seal);
    po.push_back(r.pactum_open);
    ss.push_back(r.sodium_seal);
    so.push_back(r.sodium_open);
    rg.push_back(r.raw_gcm_seal);
  }
  const double mb = static_cast<double>(kSize) / 1e6;
  std::printf("file encryption, 256 MiB, 64 KiB chunks, one core, median of 3 (MB/s):\n");
  std::printf("  seal: AES-256-GCM STREAM %.0f, secretstream %.0f, ratio %.2fx\n", mb / Median(ps),
              mb / Median(ss), Median(ss) / Median(ps));
  std::printf("  open: AES-256-GCM STREAM %.0f, secretstream %.0f, ratio %.2fx\n", mb / Median(po),
              mb / Median(so), Median(so) / Median(po));
  std::printf("  the cipher alone (AES-256-GCM, 64 KiB chunks, no stream plumbing): %.0f\n",
              mb / Median(rg));
  return 0;
}
