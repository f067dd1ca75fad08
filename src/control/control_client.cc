#include "control/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "control/control_protocol.h"

namespace pactum::control {
namespace {

// Closes a descriptor when it goes out of scope.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status NoServer(const std::string& dir) {
  return Unavailable("no pactum server is running on " + dir).WithReason(std::string(kNoServer));
}

}  // namespace

Result<nlohmann::json> CallServer(const std::string& dir, std::string_view verb,
                                  const nlohmann::json& args, std::chrono::milliseconds timeout) {
  if (!ValidVerb(verb)) return InvalidArgument("not a verb: " + std::string(verb.substr(0, 64)));
  if (!args.is_object()) return InvalidArgument("the args of a command are a JSON object");
  const std::string request = nlohmann::json{{"verb", verb}, {"args", args}}.dump();
  if (request.size() > kMaxRequestBytes) return InvalidArgument("the command is too large");

  sockaddr_un addr{};
  socklen_t length = 0;
  int dir_fd = -1;
  if (Status s = UnixAddressOf(dir, kSocketName, &addr, &length, &dir_fd); !s.ok()) {
    if (s.code() == StatusCode::kUnavailable) return NoServer(dir);  // no directory, no server
    return s;
  }
  const ScopedFd dir_holder(dir_fd);
  const ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Unavailable("cannot create a socket", ErrnoText());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), length) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR) return NoServer(dir);
    if (errno == EACCES || errno == EPERM) {
      return PermissionDenied("the server's control socket in " + dir + " is not yours");
    }
    return Unavailable("cannot reach the server's control socket in " + dir, ErrnoText());
  }
  // Only a server of our own user (or root) is believed, as the server believes only us.
  ucred peer{};
  socklen_t peer_length = sizeof peer;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &peer_length) != 0 ||
      (peer.uid != ::geteuid() && peer.uid != 0)) {
    return PermissionDenied("the control socket in " + dir + " belongs to another user");
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  RETURN_IF_ERROR(WriteFrame(fd.get(), request, deadline));
  auto text = ReadFrame(fd.get(), kMaxAnswerBytes, deadline);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kPayloadTooLarge) {
      return Internal("the server's answer is too large");
    }
    return Unavailable("the server did not answer within " +
                       std::to_string(std::chrono::ceil<std::chrono::seconds>(timeout).count()) +
                       " s");
  }
  const nlohmann::json answer = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer.contains("ok") || !answer["ok"].is_boolean()) {
    return Internal("the server's answer is unreadable");
  }
  if (!answer["ok"].get<bool>()) {
    return StatusFromError(answer.contains("error") ? answer["error"] : nlohmann::json());
  }
  if (!answer.contains("result")) return Internal("the server's answer has no result");
  return answer["result"];
}

}  // namespace pactum::control
