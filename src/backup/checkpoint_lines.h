#pragma once

// The audit trail's checkpoint file as the backups carry it (backup/log_format.h): its
// complete lines only — a line a crash cut short in the middle of an append is no
// checkpoint yet — copied without being parsed. The file is append-only (audit/
// checkpoint.h), so a prefix read once stays what it was.

#include <cstdint>
#include <memory>
#include <string>

#include "common/byte_source.h"
#include "common/status.h"

namespace pactum::backup {

// The complete lines of the file at `path` from byte `offset` on, about `max_bytes` of
// them at most (cut after a line end; one longer line is taken whole). Empty when there
// are none yet or the file does not exist. kFailedPrecondition when the file is shorter
// than `offset`: it was replaced or cut.
Result<std::string> ReadCheckpointLines(const std::string& path, uint64_t offset, size_t max_bytes);

// The complete lines of the whole file as they are now, as a stream (a snapshot carries
// them after its pages); `*bytes` gets their length, which the stream yields exactly
// (kDataLoss from Read if the file shrinks meanwhile). An empty stream when the file
// does not exist.
Result<std::unique_ptr<ByteSource>> OpenCheckpointLines(const std::string& path, uint64_t* bytes);

}  // namespace pactum::backup
