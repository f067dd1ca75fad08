#pragma once

// A BackupTarget that forwards to a real one (usually a local target in a TempDir) and
// breaks on request, the way real targets break:
//  - fail_writes: PutIfAbsent and Delete fail with kUnavailable (a read-only or failing
//    disk); reads still work.
//  - FillUpAfter(n): the target holds n more bytes; a put that would go beyond fails
//    part-way with kResourceExhausted and leaves nothing under its name (as ENOSPC does).
//  - CorruptGets(offset): every Get returns the stored bytes with the byte at `offset`
//    flipped (bit rot, a tampered copy); the stored object itself is untouched.
//  - down: every call fails with kUnavailable (the target is unreachable); set it back to
//    false and the target comes back.
// Probe and Prepare are forwarded (failing while down; Prepare also with fail_writes) and
// not recorded.
// It records every call (operation, name, outcome), so a test can check which artefacts
// were written or pruned. Thread-safe, as every BackupTarget.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backup/backup_target.h"

namespace pactum::testing_support {

class FaultBackupTarget final : public backup::BackupTarget {
 public:
  struct Call {
    std::string op;    // "put", "get", "list", "delete"
    std::string name;  // the object name, or the prefix of a list
    StatusCode result = StatusCode::kOk;
  };

  explicit FaultBackupTarget(backup::BackupTarget& inner) : inner_(inner) {}

  std::atomic<bool> fail_writes{false};
  std::atomic<bool> down{false};

  // From now on at most `bytes` more bytes fit (counted over successful puts).
  void FillUpAfter(uint64_t bytes) {
    std::lock_guard lock(mu_);
    room_ = bytes;
  }
  void CorruptGets(uint64_t offset) {
    std::lock_guard lock(mu_);
    corrupt_offset_ = offset;
  }
  void Heal() {
    std::lock_guard lock(mu_);
    room_.reset();
    corrupt_offset_.reset();
    fail_writes = false;
    down = false;
  }

  std::vector<Call> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // The names successfully put / deleted, in call order.
  std::vector<std::string> puts() const { return Succeeded("put"); }
  std::vector<std::string> deletes() const { return Succeeded("delete"); }

  const std::string& name() const override { return inner_.name(); }

  Status PutIfAbsent(std::string_view name, ByteSource& source) override {
    if (down) return Record("put", name, Down());
    if (fail_writes) return Record("put", name, Unavailable("backup target write failed"));
    std::optional<uint64_t> room;
    {
      std::lock_guard lock(mu_);
      room = room_;
    }
    if (!room) return Record("put", name, inner_.PutIfAbsent(name, source));
    LimitedSource limited(source, *room);
    Status s = inner_.PutIfAbsent(name, limited);
    if (s.ok()) {
      std::lock_guard lock(mu_);
      if (room_) *room_ -= std::min(*room_, limited.taken());
    }
    return Record("put", name, std::move(s));
  }

  Result<std::unique_ptr<ByteSource>> Get(std::string_view name) override {
    if (down) return Record("get", name, Down());
    auto got = inner_.Get(name);
    Note("get", name, got.ok() ? StatusCode::kOk : got.status().code());
    std::optional<uint64_t> offset;
    {
      std::lock_guard lock(mu_);
      offset = corrupt_offset_;
    }
    if (!got.ok() || !offset) return got;
    return std::unique_ptr<ByteSource>(
        std::make_unique<CorruptingSource>(std::move(got).value(), *offset));
  }

  Result<std::vector<backup::ObjectInfo>> List(std::string_view prefix) override {
    if (down) return Record("list", prefix, Down());
    auto listed = inner_.List(prefix);
    Note("list", prefix, listed.ok() ? StatusCode::kOk : listed.status().code());
    return listed;
  }

  Status Delete(std::string_view name) override {
    if (down) return Record("delete", name, Down());
    if (fail_writes) return Record("delete", name, Unavailable("backup target write failed"));
    return Record("delete", name, inner_.Delete(name));
  }

  Result<bool> Probe() override {
    if (down) return Down();
    return inner_.Probe();
  }

  Status Prepare() override {
    if (down) return Down();
    if (fail_writes) return Unavailable("backup target write failed");
    return inner_.Prepare();
  }

 private:
  // Passes `room` bytes through, then fails as a full disk does.
  class LimitedSource final : public ByteSource {
   public:
    LimitedSource(ByteSource& inner, uint64_t room) : inner_(inner), room_(room) {}
    Result<size_t> Read(std::span<uint8_t> out) override {
      ASSIGN_OR_RETURN(const size_t n, inner_.Read(out));
      taken_ += n;
      if (taken_ > room_) {
        return Status(StatusCode::kResourceExhausted, "backup target is full");
      }
      return n;
    }
    uint64_t taken() const { return taken_; }

   private:
    ByteSource& inner_;
    const uint64_t room_;
    uint64_t taken_ = 0;
  };

  // Flips every bit of the byte at `offset`.
  class CorruptingSource final : public ByteSource {
   public:
    CorruptingSource(std::unique_ptr<ByteSource> inner, uint64_t offset)
        : inner_(std::move(inner)), offset_(offset) {}
    Result<size_t> Read(std::span<uint8_t> out) override {
      ASSIGN_OR_RETURN(const size_t n, inner_->Read(out));
      if (offset_ >= position_ && offset_ - position_ < n) out[offset_ - position_] ^= 0xff;
      position_ += n;
      return n;
    }

   private:
    std::unique_ptr<ByteSource> inner_;
    const uint64_t offset_;
    uint64_t position_ = 0;
  };

  static Status Down() { return Unavailable("backup target is down"); }

  void Note(const char* op, std::string_view name, StatusCode result) {
    std::lock_guard lock(mu_);
    calls_.push_back({.op = op, .name = std::string(name), .result = result});
  }
  Status Record(const char* op, std::string_view name, Status s) {
    Note(op, name, s.code());
    return s;
  }

  std::vector<std::string> Succeeded(std::string_view op) const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const Call& c : calls_) {
      if (c.op == op && c.result == StatusCode::kOk) out.push_back(c.name);
    }
    return out;
  }

  backup::BackupTarget& inner_;
  mutable std::mutex mu_;
  std::optional<uint64_t> room_;            // guarded by mu_
  std::optional<uint64_t> corrupt_offset_;  // guarded by mu_
  std::vector<Call> calls_;                 // guarded by mu_
};

}  // namespace pactum::testing_support
