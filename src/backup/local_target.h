#pragma once

// A BackupTarget in a local directory (a second disk, a mounted network share). Object
// "a/b" is the file <directory>/a/b (0600, directories 0700).
//
// PutIfAbsent streams into a temporary file under <directory>/.tmp/ (held under an
// exclusive flock while it is written), fsyncs it, links it to its name with linkat(2),
// which fails on an existing name (no check-then-rename race, also between processes),
// and fsyncs every directory on the object's path (when that fails it unlinks the name
// again). So an object exists whole and durable or not at all; a failed put leaves
// nothing, a crash (kill -9, power cut) at most an unlocked temporary file, which
// OpenLocalTarget removes. Temporaries that another process is still writing are locked
// and left alone. Links inside the directory are never followed.
//
// Every file operation goes through the FileSystem given to OpenLocalTarget, which must
// outlive the target (and the sources its Get returns).
//
// Every call reopens the directory by path and needs the .tmp/ subdirectory created by
// OpenLocalTarget: when the disk behind the directory is unmounted, calls fail with
// kUnavailable instead of writing into the bare mount point. A directory that was a mount
// point when the target was opened and no longer is (the device of its parent) is
// unavailable too, whatever it holds.
//
// Probe() is false when the directory or its .tmp/ is gone (deleted, or emptied) and
// Prepare() makes them again, so a target that lost its content is told from one that
// cannot be reached (backup/target_identity.h).
//
// A name can be an object or a directory of objects, not both: PutIfAbsent("a") while
// "a/b" exists, or "a/b" while "a" exists, is kInvalidArgument. Directories emptied by
// Delete stay. Thread-safe.

#include <memory>
#include <string>

#include "backup/backup_target.h"
#include "common/file_system.h"

namespace pactum::backup {

enum class LocalTargetOpen {
  kCreate,    // create the directory (0700) and .tmp/ when missing; remove stale temporaries
  kExisting,  // create nothing: commands that only read must not make a lost target anew
};

// Opens the target `name` in `directory`, by default creating the directory (0700) when
// missing, and removes the temporaries a crash left. kInvalidArgument when `name` is empty
// or `directory` exists but is not a directory; kUnavailable / kResourceExhausted when it
// cannot be created or read. With kExisting a missing directory is not an error: calls
// then fail (kUnavailable) and Probe() is false.
Result<std::unique_ptr<BackupTarget>> OpenLocalTarget(
    FileSystem& fs, std::string name, std::string directory,
    LocalTargetOpen open = LocalTargetOpen::kCreate);

}  // namespace pactum::backup
