#pragma once

// A BlobStore in a local directory: <root>/objects/<first two id characters>/<id>, files
// 0600. Put streams into a temporary file under <root>/tmp, fsyncs it, links it to its
// name (link(2): an existing object is never replaced) and fsyncs the directory, so an
// object either exists whole and durable or not at all: a Put that fails at the last step
// takes its name back. A failed Put leaves nothing; an interrupted one (a crash) at most
// a temporary file, which RemoveStaleTemporaries() clears. Every file operation goes
// through the FileSystem it is given, which must outlive it. Thread-safe.

#include <chrono>
#include <string>

#include "blob/blob_store.h"
#include "common/file_system.h"

namespace pactum::blob {

class LocalBlobStore final : public BlobStore {
 public:
  // Creates the directories (0700, all 256 shards) when missing and fsyncs them.
  static Result<std::unique_ptr<LocalBlobStore>> Open(FileSystem& fs, const std::string& root);

  // Errors: kAlreadyExists; kUnavailable ("disk_full") when the storage is full; the
  // source's error; kInternal for any other failure of the disk.
  Status Put(const BlobId& id, ByteSource& data) override;
  Result<std::unique_ptr<ByteSource>> GetAt(const BlobId& id, uint64_t offset) override;
  Status Delete(const BlobId& id) override;
  Status List(const Visitor& visit) override;

  // Removes temporary files older than `age` (left by a crash); returns how many.
  Result<int> RemoveStaleTemporaries(std::chrono::seconds age);

  std::string PathOf(const BlobId& id) const;

 private:
  LocalBlobStore(FileSystem& fs, std::string root) : fs_(fs), root_(std::move(root)) {}
  Result<std::unique_ptr<Directory>> OpenShard(const BlobId& id);

  FileSystem& fs_;
  const std::string root_;
};

}  // namespace pactum::blob
