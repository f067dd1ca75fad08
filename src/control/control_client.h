#pragma once

// The client side of the control socket (control/control_protocol.h): how a `pactum`
// command asks the server running on its data directory to do something.

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace pactum::control {

// Sends `verb` with `args` (an object) to the server answering in `dir` and returns the
// answer's result, waiting at most `timeout` for it. Errors:
//  - kUnavailable with reason kNoServer when no server answers there (no socket, or a
//    stale one of a server that is gone): the caller may do the work itself;
//  - kUnavailable (another reason or none) when the server went away or did not answer
//    in time, kPermissionDenied when the socket belongs to another user;
//  - the server's refusal as the Status it answered (kNotFound with reason
//    kUnknownVerb for a verb it does not know).
Result<nlohmann::json> CallServer(const std::string& dir, std::string_view verb,
                                  const nlohmann::json& args, std::chrono::milliseconds timeout);

}  // namespace pactum::control
