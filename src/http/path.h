#pragma once

// Validation of request targets at the edge. A path that passes is percent-decoded, valid
// UTF-8, free of control characters, backslashes, encoded slashes, empty segments and
// "."/".." segments, so nothing downstream can be tricked into traversal.

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pactum::http {

struct Target {
  std::string path;   // decoded
  std::string query;  // raw, without '?'
};

// kInvalidArgument with a client-safe message for anything else than an origin-form
// target ("/a/b?x=1") that passes the rules above.
Result<Target> ParseTarget(std::string_view target);

// The parameters of a raw query string ("a=1&b=x%20y", '+' is a space), decoded.
// kInvalidArgument for bad percent-encoding, invalid UTF-8, control characters, a
// parameter given twice, or more than 50 parameters.
Result<std::map<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace pactum::http
