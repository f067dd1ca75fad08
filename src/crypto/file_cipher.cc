#include "crypto/file_cipher.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "crypto/hkdf.h"
#include "crypto/random.h"

namespace pactum::crypto {
namespace {

constexpr uint8_t kMagic[4] = {'P', 'C', 'T', 'F'};
constexpr uint8_t kVersion = 1;
constexpr size_t kSaltBytes = 32;
constexpr size_t kTagBytes = 16;

void PutBigEndian(uint8_t* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetBigEndian(const uint8_t* in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | in[i];
  return v;
}

Status Corrupt() { return Status(StatusCode::kDataLoss, "the stored file is corrupt"); }

// The AES-256-GCM state of one file: its key, and the associated data of every chunk.
class ChunkCipher {
 public:
  ChunkCipher() : ctx_(EVP_CIPHER_CTX_new()) {}
  ~ChunkCipher() { EVP_CIPHER_CTX_free(ctx_); }
  ChunkCipher(const ChunkCipher&) = delete;
  ChunkCipher& operator=(const ChunkCipher&) = delete;

  Status Init(std::span<const uint8_t> tenant_key, std::span<const uint8_t> header,
              std::string_view object_id, bool encrypt) {
    if (ctx_ == nullptr) return Internal("EVP_CIPHER_CTX_new failed");
    if (tenant_key.size() != 32) return InvalidArgument("a tenant key has 32 bytes");
    ASSIGN_OR_RETURN(SecretBytes key,
                     HkdfSha256(tenant_key, header.subspan(17, kSaltBytes), "pactum-file-v1"));
    key_.emplace(std::move(key));
    aad_.assign(header.begin(), header.end());
    aad_.insert(aad_.end(), object_id.begin(), object_id.end());
    const int ok =
        encrypt ? EVP_EncryptInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, key_->data(), nullptr)
                : EVP_DecryptInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, key_->data(), nullptr);
    if (ok != 1) return Internal("AES-256-GCM init failed");
    return Status::Ok();
  }

  // Seals `in` as chunk `index` into `out` (in.size() + 16 bytes).
  Status Seal(uint64_t index, bool last, std::span<const uint8_t> in, uint8_t* out) {
    uint8_t nonce[12];
    Nonce(index, last, nonce);
    int len = 0;
    if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1 ||
        EVP_EncryptUpdate(ctx_, nullptr, &len, aad_.data(), static_cast<int>(aad_.size())) != 1 ||
        (!in.empty() &&
         EVP_EncryptUpdate(ctx_, out, &len, in.data(), static_cast<int>(in.size())) != 1) ||
        EVP_EncryptFinal_ex(ctx_, out + in.size(), &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kTagBytes, out + in.size()) != 1) {
      return Internal("AES-256-GCM seal failed");
    }
    return Status::Ok();
  }

  // Opens sealed chunk `index` (ciphertext || tag) into `out`; kDataLoss when it does not
  // authenticate as that chunk.
  Status Open(uint64_t index, bool last, std::span<const uint8_t> in, uint8_t* out) {
    if (in.size() < kTagBytes) return Corrupt();
    const size_t n = in.size() - kTagBytes;
    uint8_t nonce[12];
    Nonce(index, last, nonce);
    uint8_t tag[kTagBytes];
    std::memcpy(tag, in.data() + n, kTagBytes);
    int len = 0;
    if (EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1 ||
        EVP_DecryptUpdate(ctx_, nullptr, &len, aad_.data(), static_cast<int>(aad_.size())) != 1 ||
        (n > 0 && EVP_DecryptUpdate(ctx_, out, &len, in.data(), static_cast<int>(n)) != 1) ||
        EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) != 1) {
      return Internal("AES-256-GCM open failed");
    }
    if (EVP_DecryptFinal_ex(ctx_, out + n, &len) != 1) {
      std::memset(out, 0, n);  // unauthenticated plaintext never stays in the caller's buffer
      return Corrupt();
    }
    return Status::Ok();
  }

 private:
  static void Nonce(uint64_t index, bool last, uint8_t* nonce) {
    std::memset(nonce, 0, 12);
    PutBigEndian(nonce, index, 8);
    nonce[8] = last ? 1 : 0;
  }

  EVP_CIPHER_CTX* ctx_;
  std::optional<SecretBytes> key_;
  std::vector<uint8_t> aad_;
};

// A ByteSource that stays failed after its first error, as ByteSource promises (so a
// retrying caller cannot read on from a misaligned stream).
class StickyFailureSource : public ByteSource {
 public:
  Result<size_t> Read(std::span<uint8_t> out) final {
    if (!failed_.ok()) return failed_;
    auto n = ReadSome(out);
    if (!n.ok()) failed_ = n.status();
    return n;
  }

 private:
  virtual Result<size_t> ReadSome(std::span<uint8_t> out) = 0;
  Status failed_;
};

bool ValidChunkSize(uint32_t n) { return n >= 1024 && n <= 16U * 1024 * 1024; }

class Encryptor final : public StickyFailureSource {
 public:
  Encryptor(ByteSource& plain, uint32_t chunk_bytes)
      : plain_(plain),
        chunk_(chunk_bytes),
        in_(chunk_bytes + 1),
        sealed_(chunk_bytes + kTagBytes) {}

  Status Init(std::span<const uint8_t> tenant_key, const FileHeader& h, std::string_view id) {
    header_.resize(kFileHeaderBytes);
    uint8_t* p = header_.data();
    std::memcpy(p, kMagic, 4);
    p[4] = kVersion;
    PutBigEndian(p + 5, static_cast<uint64_t>(h.tenant_id), 8);
    PutBigEndian(p + 13, h.key_version, 4);
    RandomBytes(std::span<uint8_t>(p + 17, kSaltBytes));
    PutBigEndian(p + 49, h.chunk_bytes, 4);
    RETURN_IF_ERROR(cipher_.Init(tenant_key, header_, id, /*encrypt=*/true));
    pending_ = header_;  // the header goes out first
    return Status::Ok();
  }

 private:
  Result<size_t> ReadSome(std::span<uint8_t> out) override {
    size_t written = 0;
    while (written < out.size()) {
      if (pos_ < pending_.size()) {
        const size_t n = std::min(out.size() - written, pending_.size() - pos_);
        std::memcpy(out.data() + written, pending_.data() + pos_, n);
        pos_ += n;
        written += n;
        continue;
      }
      if (done_) break;
      if (out.size() - written >= chunk_ + kTagBytes) {  // room: seal straight into `out`
        ASSIGN_OR_RETURN(const size_t n, SealNext(out.data() + written));
        written += n;
        continue;
      }
      ASSIGN_OR_RETURN(const size_t n, SealNext(sealed_.data()));
      pending_.assign(sealed_.begin(), sealed_.begin() + static_cast<std::ptrdiff_t>(n));
      pos_ = 0;
    }
    return written;
  }

  // Seals the next chunk into `dst` (room for chunk_ + 16 bytes); returns its size. One
  // byte of look-ahead tells whether it is the last one.
  Result<size_t> SealNext(uint8_t* dst) {
    ASSIGN_OR_RETURN(const size_t got, ReadFull(plain_, std::span<uint8_t>(in_).subspan(
                                                            carry_, chunk_ + 1 - carry_)));
    const size_t have = carry_ + got;
    const bool last = have <= chunk_;
    const size_t n = last ? have : chunk_;
    RETURN_IF_ERROR(cipher_.Seal(index_++, last, std::span<const uint8_t>(in_.data(), n), dst));
    carry_ = have - n;  // 0 or the look-ahead byte
    if (carry_ == 1) in_[0] = in_[chunk_];
    done_ = last;
    return n + kTagBytes;
  }

  ByteSource& plain_;
  const size_t chunk_;
  ChunkCipher cipher_;
  std::vector<uint8_t> header_;
  std::vector<uint8_t> in_;       // plaintext of the next chunk, plus one look-ahead byte
  std::vector<uint8_t> sealed_;   // scratch for the next sealed chunk
  std::vector<uint8_t> pending_;  // sealed bytes not yet handed out
  size_t pos_ = 0;
  size_t carry_ = 0;
  uint64_t index_ = 0;
  bool done_ = false;
};

class Decryptor final : public StickyFailureSource {
 public:
  explicit Decryptor(ByteSource& sealed) : sealed_(&sealed) {}
  explicit Decryptor(std::unique_ptr<ByteSource> sealed)
      : owned_(std::move(sealed)), sealed_(owned_.get()) {}

  Status Init(int64_t tenant_id, std::string_view object_id, const TenantKeyLookup& key_for) {
    uint8_t header[kFileHeaderBytes];
    ASSIGN_OR_RETURN(const size_t got, ReadFull(*sealed_, header));
    if (got != kFileHeaderBytes || std::memcmp(header, kMagic, 4) != 0 || header[4] != kVersion) {
      return Corrupt();
    }
    if (static_cast<int64_t>(GetBigEndian(header + 5, 8)) != tenant_id) {
      return Status(StatusCode::kDataLoss, "the stored file belongs to another tenant");
    }
    const auto key_version = static_cast<uint32_t>(GetBigEndian(header + 13, 4));
    chunk_ = static_cast<uint32_t>(GetBigEndian(header + 49, 4));
    if (!ValidChunkSize(static_cast<uint32_t>(chunk_))) return Corrupt();
    auto key = key_for(key_version);
    if (!key.ok()) {
      if (key.status().code() == StatusCode::kNotFound) return Corrupt();
      return key.status();
    }
    RETURN_IF_ERROR(cipher_.Init(key->span(), header, object_id, /*encrypt=*/false));
    in_.resize(chunk_ + kTagBytes + 1);
    plain_.resize(chunk_);
    return Status::Ok();
  }

  // Continues at plaintext byte `offset`: chunks before it are neither read nor opened;
  // `open_at` opens the sealed object at the first needed chunk. Call once, after Init.
  Status Seek(uint64_t offset, const SealedOpener& open_at) {
    const uint64_t index = offset / chunk_;
    skip_ = static_cast<size_t>(offset % chunk_);
    if (index == 0) return Status::Ok();  // already there: the header was just read
    ASSIGN_OR_RETURN(owned_, open_at(kFileHeaderBytes + index * (chunk_ + kTagBytes)));
    sealed_ = owned_.get();
    index_ = index;
    return Status::Ok();
  }

  size_t chunk_bytes() const { return chunk_; }

 private:
  Result<size_t> ReadSome(std::span<uint8_t> out) override {
    if (skip_ > 0) {  // the first chunk of a ranged read starts inside it
      ASSIGN_OR_RETURN(ready_, OpenNext(plain_.data()));
      pos_ = std::min(skip_, ready_);
      skip_ = 0;
    }
    size_t written = 0;
    while (written < out.size()) {
      if (pos_ < ready_) {
        const size_t n = std::min(out.size() - written, ready_ - pos_);
        std::memcpy(out.data() + written, plain_.data() + pos_, n);
        pos_ += n;
        written += n;
        continue;
      }
      if (done_) break;
      if (out.size() - written >= chunk_) {  // room: open straight into `out`
        ASSIGN_OR_RETURN(const size_t n, OpenNext(out.data() + written));
        written += n;
        continue;
      }
      ASSIGN_OR_RETURN(ready_, OpenNext(plain_.data()));
      pos_ = 0;
    }
    return written;
  }

  // Opens the next chunk into `dst` (room for chunk_ bytes); returns the plaintext size.
  Result<size_t> OpenNext(uint8_t* dst) {
    const size_t sealed_chunk = chunk_ + kTagBytes;
    ASSIGN_OR_RETURN(const size_t got, ReadFull(*sealed_, std::span<uint8_t>(in_).subspan(
                                                              carry_, sealed_chunk + 1 - carry_)));
    const size_t have = carry_ + got;
    const bool last = have <= sealed_chunk;
    const size_t n = last ? have : sealed_chunk;
    if (n < kTagBytes) return Corrupt();  // truncated inside a tag, or nothing after a chunk
    RETURN_IF_ERROR(cipher_.Open(index_++, last, std::span<const uint8_t>(in_.data(), n), dst));
    carry_ = have - n;
    if (carry_ == 1) in_[0] = in_[sealed_chunk];
    done_ = last;
    return n - kTagBytes;
  }

  std::unique_ptr<ByteSource> owned_;
  ByteSource* sealed_;
  size_t chunk_ = 0;
  size_t skip_ = 0;  // plaintext bytes of the first chunk a ranged read does not want
  ChunkCipher cipher_;
  std::vector<uint8_t> in_;
  std::vector<uint8_t> plain_;
  size_t ready_ = 0;
  size_t pos_ = 0;
  size_t carry_ = 0;
  uint64_t index_ = 0;
  bool done_ = false;
};

}  // namespace

uint64_t SealedFileSize(uint64_t plain_bytes, uint32_t chunk_bytes) {
  // Full chunks, the last one possibly shorter; an empty file has one empty chunk.
  const uint64_t chunks = std::max<uint64_t>(1, (plain_bytes + chunk_bytes - 1) / chunk_bytes);
  return kFileHeaderBytes + plain_bytes + chunks * kTagBytes;
}

Result<std::unique_ptr<ByteSource>> EncryptingSource(std::span<const uint8_t> tenant_key,
                                                     const FileHeader& header,
                                                     std::string_view object_id,
                                                     ByteSource& plain) {
  if (!ValidChunkSize(header.chunk_bytes)) {
    return InvalidArgument("chunk size must be 1 KiB to 16 MiB");
  }
  auto e = std::make_unique<Encryptor>(plain, header.chunk_bytes);
  RETURN_IF_ERROR(e->Init(tenant_key, header, object_id));
  return std::unique_ptr<ByteSource>(std::move(e));
}

Result<std::unique_ptr<ByteSource>> DecryptingSource(int64_t tenant_id, std::string_view object_id,
                                                     const TenantKeyLookup& key_for,
                                                     ByteSource& sealed) {
  auto d = std::make_unique<Decryptor>(sealed);
  RETURN_IF_ERROR(d->Init(tenant_id, object_id, key_for));
  return std::unique_ptr<ByteSource>(std::move(d));
}

Result<std::unique_ptr<ByteSource>> DecryptingSourceAt(int64_t tenant_id,
                                                       std::string_view object_id,
                                                       const TenantKeyLookup& key_for,
                                                       const SealedOpener& open_at,
                                                       uint64_t plain_offset) {
  ASSIGN_OR_RETURN(auto sealed, open_at(0));
  auto d = std::make_unique<Decryptor>(std::move(sealed));
  RETURN_IF_ERROR(d->Init(tenant_id, object_id, key_for));
  RETURN_IF_ERROR(d->Seek(plain_offset, open_at));
  return std::unique_ptr<ByteSource>(std::move(d));
}

}  // namespace pactum::crypto
