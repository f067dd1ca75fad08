#include "control/control_protocol.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace pactum::control {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

constexpr std::array<StatusCode, 18> kCodes = {
    StatusCode::kOk,
    StatusCode::kInvalidArgument,
    StatusCode::kUnauthenticated,
    StatusCode::kPermissionDenied,
    StatusCode::kNotFound,
    StatusCode::kMethodNotAllowed,
    StatusCode::kRequestTimeout,
    StatusCode::kAlreadyExists,
    StatusCode::kConflict,
    StatusCode::kFailedPrecondition,
    StatusCode::kPayloadTooLarge,
    StatusCode::kUnsupportedMediaType,
    StatusCode::kUnprocessable,
    StatusCode::kResourceExhausted,
    StatusCode::kRequestHeadersTooLarge,
    StatusCode::kInternal,
    StatusCode::kDataLoss,
    StatusCode::kUnavailable,
};

// Waits until `fd` is ready for `events` (or `cancel_fd` is readable, or the deadline
// passes): OK when ready.
Status WaitReady(int fd, short events, SteadyTime deadline, int cancel_fd) {
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Unavailable("the other side of the control socket is too slow");
    std::array<pollfd, 2> fds{};
    fds[0] = {.fd = fd, .events = events, .revents = 0};
    fds[1] = {.fd = cancel_fd, .events = POLLIN, .revents = 0};
    const nfds_t n = cancel_fd >= 0 ? 2 : 1;
    const int rc = ::poll(fds.data(), n, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Unavailable("waiting on the control socket failed", ErrnoText());
    }
    if (n == 2 && fds[1].revents != 0) return Unavailable("the server is stopping");
    if (rc > 0 && fds[0].revents != 0) return Status::Ok();
  }
}

Status ReadExactly(int fd, char* out, size_t n, SteadyTime deadline, int cancel_fd) {
  size_t got = 0;
  while (got < n) {
    RETURN_IF_ERROR(WaitReady(fd, POLLIN, deadline, cancel_fd));
    const ssize_t r = ::recv(fd, out + got, n - got, MSG_DONTWAIT);
    if (r == 0) return Unavailable("the control connection closed early");
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Unavailable("reading from the control socket failed", ErrnoText());
    }
    got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

}  // namespace

std::string SocketPath(const std::string& dir) { return dir + "/" + std::string(kSocketName); }

std::string ErrnoText() { return std::error_code(errno, std::generic_category()).message(); }

bool ValidVerb(std::string_view verb) {
  if (verb.empty() || verb.size() > kMaxVerbBytes || verb[0] < 'a' || verb[0] > 'z') return false;
  return std::all_of(verb.begin(), verb.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

Status UnixAddressOf(const std::string& dir, std::string_view name, sockaddr_un* out,
                     socklen_t* length, int* dir_fd) {
  *dir_fd = -1;
  *out = sockaddr_un{};
  out->sun_family = AF_UNIX;
  std::string path = dir + "/" + std::string(name);
  if (path.size() >= sizeof(out->sun_path)) {
    const int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Unavailable("cannot open " + dir, ErrnoText());
    *dir_fd = fd;
    path = "/proc/self/fd/" + std::to_string(fd) + "/" + std::string(name);
    if (path.size() >= sizeof(out->sun_path)) {
      ::close(fd);
      *dir_fd = -1;
      return InvalidArgument("the control socket's name is too long");
    }
  }
  std::memcpy(out->sun_path, path.data(), path.size());
  *length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return Status::Ok();
}

Status WriteFrame(int fd, std::string_view payload, SteadyTime deadline, int cancel_fd) {
  if (payload.size() > UINT32_MAX) return Internal("control frame too large");
  const auto n = static_cast<uint32_t>(payload.size());
  std::string frame;
  frame.reserve(4 + payload.size());
  frame.push_back(static_cast<char>(n >> 24));
  frame.push_back(static_cast<char>(n >> 16));
  frame.push_back(static_cast<char>(n >> 8));
  frame.push_back(static_cast<char>(n));
  frame.append(payload);
  size_t sent = 0;
  while (sent < frame.size()) {
    RETURN_IF_ERROR(WaitReady(fd, POLLOUT, deadline, cancel_fd));
    const ssize_t w =
        ::send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return Unavailable("writing to the control socket failed", ErrnoText());
    }
    sent += static_cast<size_t>(w);
  }
  return Status::Ok();
}

Result<std::string> ReadFrame(int fd, size_t max_bytes, SteadyTime deadline, int cancel_fd) {
  std::array<char, 4> head{};
  RETURN_IF_ERROR(ReadExactly(fd, head.data(), head.size(), deadline, cancel_fd));
  const uint32_t n = (static_cast<uint32_t>(static_cast<uint8_t>(head[0])) << 24) |
                     (static_cast<uint32_t>(static_cast<uint8_t>(head[1])) << 16) |
                     (static_cast<uint32_t>(static_cast<uint8_t>(head[2])) << 8) |
                     static_cast<uint32_t>(static_cast<uint8_t>(head[3]));
  if (n == 0 || n > max_bytes) {
    return Status(StatusCode::kPayloadTooLarge, "a control message is 1 to " +
                                                    std::to_string(max_bytes) + " bytes, not " +
                                                    std::to_string(n));
  }
  std::string payload(n, '\0');
  RETURN_IF_ERROR(ReadExactly(fd, payload.data(), n, deadline, cancel_fd));
  return payload;
}

nlohmann::json OkAnswer(nlohmann::json result) {
  return {{"ok", true}, {"result", std::move(result)}};
}

nlohmann::json ErrorAnswer(const Status& status) {
  const std::string slug = StatusCodeSlug(status.code());
  const std::string code = status.reason().empty() ? slug : status.reason();
  return {{"ok", false},
          {"error", {{"code", code}, {"status", slug}, {"message", status.message()}}}};
}

Status StatusFromError(const nlohmann::json& error) {
  if (!error.is_object() || !error.contains("code") || !error["code"].is_string()) {
    return Internal("the server's error answer is unreadable");
  }
  const std::string code = error["code"].get<std::string>();
  std::string message = "the server refused the request";
  if (error.contains("message") && error["message"].is_string()) {
    message = error["message"].get<std::string>();
  }
  std::string slug = code;
  if (error.contains("status") && error["status"].is_string()) {
    slug = error["status"].get<std::string>();
  }
  StatusCode c = StatusCode::kInternal;
  for (StatusCode candidate : kCodes) {
    if (candidate != StatusCode::kOk && slug == StatusCodeSlug(candidate)) c = candidate;
  }
  Status status(c, message);
  if (code != slug) return std::move(status).WithReason(code);
  return status;
}

}  // namespace pactum::control
