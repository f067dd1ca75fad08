#include "backup/artefact.h"

#include <zstd.h>

#include <string>
#include <utility>
#include <vector>

#include "backup/backup_target.h"

namespace pactum::backup {
namespace {

// A backup's artefacts are not any tenant's: tenant ids start at 1.
constexpr int64_t kBackupTenant = 0;

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// The artefact did not authenticate under its name and key.
Status Damaged(std::string_view name, std::string detail) {
  return DataLoss("backup artefact " + std::string(name) +
                      " is damaged: altered, truncated, renamed or sealed under another key",
                  std::move(detail));
}

// The artefact authenticated, but what it holds is not one whole zstd frame (a sealing bug,
// or a holder of the backup key).
Status BadFrame(std::string_view name, std::string detail) {
  return DataLoss(
      "backup artefact " + std::string(name) + " is damaged: its compressed content is invalid",
      std::move(detail));
}

// Compresses `plain` into one zstd frame.
class Compressor final : public ByteSource {
 public:
  explicit Compressor(ByteSource& plain) : plain_(plain), buffer_(ZSTD_CStreamInSize()) {}

  Status Init(int level) {
    if (!cctx_) return Internal("ZSTD_createCCtx failed");
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 1))) {
      return Internal("zstd rejected its parameters");
    }
    return Status::Ok();
  }

  Result<size_t> Read(std::span<uint8_t> out) override {
    if (!failed_.ok()) return failed_;
    size_t written = 0;
    while (written == 0 && !done_ && !out.empty()) {
      if (in_.pos == in_.size && !input_ended_) {
        auto got = ReadFull(plain_, buffer_);
        if (!got.ok()) return Fail(got.status());
        in_ = {buffer_.data(), *got, 0};
        input_ended_ = *got < buffer_.size();
      }
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      const size_t left =
          ZSTD_compressStream2(cctx_.get(), &o, &in_, input_ended_ ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(left)) {
        return Fail(Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(left)));
      }
      written = o.pos;
      done_ = input_ended_ && left == 0;  // the frame is complete and flushed
    }
    return written;
  }

 private:
  Status Fail(Status s) {
    failed_ = s;
    return s;
  }

  ByteSource& plain_;
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx_{ZSTD_createCCtx()};
  std::vector<uint8_t> buffer_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool input_ended_ = false;
  bool done_ = false;
  Status failed_;
};

// Compresses and encrypts; owns both stages.
class Sealer final : public ByteSource {
 public:
  Sealer(std::unique_ptr<Compressor> compressor, std::unique_ptr<ByteSource> encrypting)
      : compressor_(std::move(compressor)), encrypting_(std::move(encrypting)) {}
  Result<size_t> Read(std::span<uint8_t> out) override { return encrypting_->Read(out); }

 private:
  std::unique_ptr<Compressor> compressor_;  // read by encrypting_, so destroyed after it
  std::unique_ptr<ByteSource> encrypting_;
};

// Decompresses the decrypted stream: exactly one zstd frame, nothing after it.
class Decompressor final : public ByteSource {
 public:
  Decompressor(std::unique_ptr<ByteSource> decrypting, std::string name)
      : decrypting_(std::move(decrypting)), name_(std::move(name)), buffer_(ZSTD_DStreamInSize()) {}

  Status Init() {
    if (!dctx_) return Internal("ZSTD_createDCtx failed");
    return Status::Ok();
  }

  Result<size_t> Read(std::span<uint8_t> out) override {
    if (!failed_.ok()) return failed_;
    size_t written = 0;
    while (written == 0 && !done_ && !out.empty()) {
      if (in_.pos == in_.size && !input_ended_) {
        auto got = ReadFull(*decrypting_, buffer_);
        if (!got.ok()) {
          if (got.status().code() == StatusCode::kDataLoss) {
            return Fail(Damaged(name_, got.status().message()));
          }
          return Fail(got.status());
        }
        in_ = {buffer_.data(), *got, 0};
        // A short read means the cipher reached the end and authenticated it.
        input_ended_ = *got < buffer_.size();
      }
      if (frame_done_) {
        if (in_.pos < in_.size) return Fail(BadFrame(name_, "bytes after the zstd frame"));
        done_ = input_ended_;
        continue;
      }
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      const size_t consumed_before = in_.pos;
      const size_t left = ZSTD_decompressStream(dctx_.get(), &o, &in_);
      if (ZSTD_isError(left)) {
        return Fail(BadFrame(name_, std::string("zstd: ") + ZSTD_getErrorName(left)));
      }
      written = o.pos;
      if (left == 0) {
        frame_done_ = true;
      } else if (input_ended_ && in_.pos == in_.size && in_.pos == consumed_before && o.pos == 0) {
        // No input left and no progress: the frame is incomplete.
        return Fail(BadFrame(name_, "the zstd frame ends early"));
      }
    }
    return written;
  }

 private:
  Status Fail(Status s) {
    failed_ = s;
    return s;
  }

  std::unique_ptr<ByteSource> decrypting_;
  const std::string name_;
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx_{ZSTD_createDCtx()};
  std::vector<uint8_t> buffer_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool input_ended_ = false;
  bool frame_done_ = false;
  bool done_ = false;
  Status failed_;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> SealingSource(std::span<const uint8_t> backup_key,
                                                  uint32_t key_version, std::string_view name,
                                                  ByteSource& plain, int zstd_level) {
  RETURN_IF_ERROR(ValidObjectName(name));
  if (zstd_level < 1 || zstd_level > 19) return InvalidArgument("zstd level must be 1 to 19");
  auto compressor = std::make_unique<Compressor>(plain);
  RETURN_IF_ERROR(compressor->Init(zstd_level));
  ASSIGN_OR_RETURN(
      auto encrypting,
      crypto::EncryptingSource(
          backup_key, crypto::FileHeader{.tenant_id = kBackupTenant, .key_version = key_version},
          name, *compressor));
  return std::unique_ptr<ByteSource>(
      std::make_unique<Sealer>(std::move(compressor), std::move(encrypting)));
}

Result<std::unique_ptr<ByteSource>> OpeningSource(const BackupKeyLookup& key_for,
                                                  std::string_view name, ByteSource& sealed) {
  auto decrypting = crypto::DecryptingSource(kBackupTenant, name, key_for, sealed);
  if (!decrypting.ok()) {
    if (decrypting.status().code() == StatusCode::kDataLoss) {
      return Damaged(name, decrypting.status().message());
    }
    return decrypting.status();
  }
  auto opening = std::make_unique<Decompressor>(std::move(decrypting).value(), std::string(name));
  RETURN_IF_ERROR(opening->Init());
  return std::unique_ptr<ByteSource>(std::move(opening));
}

}  // namespace pactum::backup
