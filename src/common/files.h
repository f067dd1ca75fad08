#pragma once

// Small, careful file helpers for the composition root and the CLI: atomic replacement,
// explicit permissions, fsync of the file and its directory.

#include <sys/types.h>
#include <string>

#include "common/status.h"

namespace pactum {

// Writes `data` to `path` atomically: a temporary file in the same directory with `mode`,
// fsync, rename over `path`, fsync of the directory. On error `path` is unchanged.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode);

// Reads a whole (small) file. kNotFound when it does not exist.
Result<std::string> ReadFile(const std::string& path);

// Creates `path` and missing parents with `mode` (existing directories are left as they are).
Status MakeDirectories(const std::string& path, mode_t mode);

}  // namespace pactum
