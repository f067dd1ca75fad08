#pragma once

// Where backup artefacts go (DESIGN §8): a flat namespace of immutable objects on one
// backup target (a local directory, an S3-compatible bucket). Every artefact is written
// to every configured target, so each target on its own must be able to restore.
//
// Guarantees every implementation gives:
//  - PutIfAbsent never replaces an object: the first writer of a name wins, also between
//    processes and machines, and the stored bytes stay as they were.
//  - An object appears whole or not at all: no partial object is ever visible under its
//    name, also after kill -9, a power cut or a full disk.
//  - PutIfAbsent returns OK only once the object is durable (fsync or the remote's ack).
// Targets store bytes; they do not check them (artefact.h seals and verifies), so a target
// never returns kDataLoss itself.
//
// Errors: kInvalidArgument for a name ValidObjectName refuses; kNotFound, kAlreadyExists
// as stated per method; kUnavailable when the target cannot be reached or an I/O call
// fails (retry later); kResourceExhausted when it is full (ENOSPC, EDQUOT, quota).
//
// Thread-safe: one target is shared by all threads.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_source.h"
#include "common/status.h"

namespace pactum::backup {

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;  // bytes as stored
};

class BackupTarget {
 public:
  virtual ~BackupTarget() = default;

  // The operator's name of this target ("site-a"), for logs and reports.
  virtual const std::string& name() const = 0;

  // Stores the bytes of `source` under `name` unless the name exists: kAlreadyExists, and
  // the stored object is untouched. An error of `source` is returned as it is, and nothing
  // is left under the name.
  virtual Status PutIfAbsent(std::string_view name, ByteSource& source) = 0;

  // The stored bytes of `name`; kNotFound when there is no such object.
  virtual Result<std::unique_ptr<ByteSource>> Get(std::string_view name) = 0;

  // The objects whose names start with `prefix` (plain string prefix, "" for all), sorted
  // by name.
  virtual Result<std::vector<ObjectInfo>> List(std::string_view prefix) = 0;

  // Removes `name` (retention only); kNotFound when absent.
  virtual Status Delete(std::string_view name) = 0;

  // Whether the target's storage is there: true when it is; false when it is gone or was
  // never made (a local target's directory deleted or emptied), which Prepare() mends;
  // kUnavailable when that cannot be told now (a disk not mounted, the network down).
  // Targets without such a notion keep the default, true.
  virtual Result<bool> Probe() { return true; }

  // Makes the storage ready to be written, creating what is missing. Idempotent; the
  // default has nothing to do.
  virtual Status Prepare() { return Status::Ok(); }
};

inline constexpr size_t kMaxObjectNameBytes = 255;

// Checks an object name at the edge, the same rule for every target: relative,
// '/'-separated segments of [a-z0-9._-], at most kMaxObjectNameBytes bytes in all, no
// empty segment and no segment starting with '.' (so no "." or "..", and no name can
// reach a target's own hidden entries such as a local target's ".tmp/").
// kInvalidArgument (naming the rule broken) for anything else.
Status ValidObjectName(std::string_view name);

}  // namespace pactum::backup
