#pragma once

// The local control channel between `pactum` commands and a running `pactum serve`: a
// unix domain socket in the data directory, <data>/control.sock (0600), one request and
// one answer per connection.
//
// Frames: a 4-byte big-endian length, then that many bytes of one JSON object. A request
// is at most kMaxRequestBytes, an answer at most kMaxAnswerBytes; a zero length or a
// longer one is refused without reading it.
//
//   request  {"verb": "backup.run", "args": {...}}   ("args" optional; nothing else)
//   answer   {"ok": true, "result": {...}}
//            {"ok": false, "error": {"code": "<code>", "status": "<slug>", "message": "<text>"}}
//
// As in the HTTP API, "code" is the Status reason ("unknown_verb") or else the slug of the
// Status code (common/status.h), which "status" always holds; the message is client-safe.

#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace pactum::control {

inline constexpr std::string_view kSocketName = "control.sock";
inline constexpr std::string_view kLockName = "control.lock";
inline constexpr size_t kMaxRequestBytes = size_t{64} * 1024;
inline constexpr size_t kMaxAnswerBytes = size_t{16} * 1024 * 1024;
inline constexpr size_t kMaxVerbBytes = 64;

// Reasons (Status::reason()) the channel itself gives.
inline constexpr std::string_view kNoServer = "no_server";
inline constexpr std::string_view kUnknownVerb = "unknown_verb";

// <dir>/control.sock.
std::string SocketPath(const std::string& dir);

// The text of errno now, for the detail of an error.
std::string ErrnoText();

// A verb is 1-64 of [a-z0-9.-], starting with a letter ("backup.run").
bool ValidVerb(std::string_view verb);

// An AF_UNIX address for the entry `name` of directory `dir`. When "<dir>/<name>" is too
// long for sun_path, the address goes through /proc/self/fd/<n>/<name> and `*dir_fd`
// receives n, a descriptor of `dir` the caller closes after bind or connect; otherwise
// *dir_fd is -1. kUnavailable when `dir` cannot be opened.
Status UnixAddressOf(const std::string& dir, std::string_view name, sockaddr_un* out,
                     socklen_t* length, int* dir_fd);

// Writes one frame within `deadline`. kUnavailable when the peer went away or the
// deadline passed; `cancel_fd` (-1: none) becoming readable cancels the wait.
Status WriteFrame(int fd, std::string_view payload, std::chrono::steady_clock::time_point deadline,
                  int cancel_fd = -1);

// Reads one frame of at most `max_bytes` within `deadline`. kPayloadTooLarge for a longer
// (or zero) length, without reading the payload; kUnavailable when the peer closed early,
// the deadline passed or `cancel_fd` became readable.
Result<std::string> ReadFrame(int fd, size_t max_bytes,
                              std::chrono::steady_clock::time_point deadline, int cancel_fd = -1);

// The answer object for `result`, and for an error.
nlohmann::json OkAnswer(nlohmann::json result);
nlohmann::json ErrorAnswer(const Status& status);

// The Status an answer's error object stands for (code from the slug, the reason kept
// when it is not a slug); kInternal for an unreadable one.
Status StatusFromError(const nlohmann::json& error);

}  // namespace pactum::control
