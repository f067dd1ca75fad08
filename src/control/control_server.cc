#include "control/control_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <list>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "common/files.h"
#include "common/log.h"
#include "control/control_protocol.h"

namespace pactum::control {
namespace {

constexpr std::string_view kComponent = "control";
constexpr std::string_view kTmpPrefix = ".control-";

void CloseFd(int& fd) {
  if (fd >= 0) ::close(std::exchange(fd, -1));
}

// Whether `request` is exactly {"verb": <valid verb>, "args"?: {...}}; the verb.
Result<std::string> CheckRequest(const nlohmann::json& request) {
  if (!request.is_object()) return InvalidArgument("a control request is a JSON object");
  for (const auto& [key, value] : request.items()) {
    if (key != "verb" && key != "args") {
      return InvalidArgument("unknown field in the control request: " + key.substr(0, 64));
    }
  }
  if (!request.contains("verb") || !request["verb"].is_string()) {
    return InvalidArgument("a control request names its verb");
  }
  std::string verb = request["verb"].get<std::string>();
  if (!ValidVerb(verb)) return InvalidArgument("not a verb: " + verb.substr(0, 64));
  if (request.contains("args") && !request["args"].is_object()) {
    return InvalidArgument("the args of a control request are a JSON object");
  }
  return verb;
}

}  // namespace

Status Verbs::Add(std::string verb, Handler handler) {
  if (!ValidVerb(verb)) return InvalidArgument("not a verb: " + verb.substr(0, 64));
  if (!handler) return InvalidArgument("verb " + verb + " has no handler");
  if (handlers_.contains(verb)) return AlreadyExists("verb " + verb + " exists already");
  handlers_.emplace(std::move(verb), std::move(handler));
  return Status::Ok();
}

const Handler* Verbs::Find(std::string_view verb) const {
  const auto it = handlers_.find(verb);
  return it == handlers_.end() ? nullptr : &it->second;
}

struct ControlServer::Impl {
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  std::string dir;
  std::string path;
  Verbs verbs;
  ServerOptions options;
  FileLock lock;
  int listen_fd = -1;
  int stop_fd = -1;  // an eventfd, readable once the server stops
  dev_t socket_dev = 0;
  ino_t socket_ino = 0;
  std::stop_source stop;
  std::thread acceptor;
  bool stopped = false;  // Stop()'s caller only

  std::mutex mu;
  std::list<Connection> connections;  // GUARDED_BY(mu)

  ~Impl() {
    CloseFd(listen_fd);
    CloseFd(stop_fd);
  }

  Status Listen();
  void AcceptLoop();
  void Serve(int fd);
  void Answer(int fd, const nlohmann::json& answer) const;
  void ReapLocked();
};

Status ControlServer::Impl::Listen() {
  // Leftovers of a start that died between mkdtemp and rmdir (we hold the lock).
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename().string().starts_with(kTmpPrefix)) std::filesystem::remove_all(e, ec);
  }
  std::string tmp = dir + "/" + std::string(kTmpPrefix) + "XXXXXX";
  if (::mkdtemp(tmp.data()) == nullptr) {
    return Unavailable("cannot create the control socket",
                       "mkdtemp in " + dir + ": " + ErrnoText());
  }
  const auto remove_tmp = [&] { std::filesystem::remove_all(tmp, ec); };
  sockaddr_un addr{};
  socklen_t length = 0;
  int tmp_fd = -1;
  if (Status s = UnixAddressOf(tmp, kSocketName, &addr, &length, &tmp_fd); !s.ok()) {
    remove_tmp();
    return s;
  }
  listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  Status made;
  if (listen_fd < 0) {
    made = Unavailable("cannot create the control socket", "socket: " + ErrnoText());
  } else if (::bind(listen_fd, reinterpret_cast<const sockaddr*>(&addr), length) != 0) {
    made = Unavailable("cannot create the control socket", "bind in " + tmp + ": " + ErrnoText());
  } else if (::chmod((tmp + "/" + std::string(kSocketName)).c_str(), 0600) != 0) {
    made = Unavailable("cannot create the control socket", "chmod: " + ErrnoText());
  } else if (::listen(listen_fd, 16) != 0) {
    made = Unavailable("cannot create the control socket", "listen: " + ErrnoText());
  } else if (::rename((tmp + "/" + std::string(kSocketName)).c_str(), path.c_str()) != 0) {
    made =
        Unavailable("cannot create the control socket", "rename to " + path + ": " + ErrnoText());
  }
  CloseFd(tmp_fd);
  remove_tmp();
  if (!made.ok()) return made;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    socket_dev = st.st_dev;
    socket_ino = st.st_ino;
  }
  stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0)
    return Unavailable("cannot create the control socket", "eventfd: " + ErrnoText());
  return Status::Ok();
}

void ControlServer::Impl::ReapLocked() {
  for (auto it = connections.begin(); it != connections.end();) {
    if (it->done) {
      it->thread.join();
      it = connections.erase(it);
    } else {
      ++it;
    }
  }
}

void ControlServer::Impl::AcceptLoop() {
  for (;;) {
    std::array<pollfd, 2> fds{};
    fds[0] = {.fd = listen_fd, .events = POLLIN, .revents = 0};
    fds[1] = {.fd = stop_fd, .events = POLLIN, .revents = 0};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      log::Error(kComponent, "waiting for control connections failed", {{"error", ErrnoText()}});
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // the peer left before we took it, or descriptors ran out
    std::lock_guard guard(mu);
    ReapLocked();
    if (static_cast<int>(connections.size()) >= options.max_connections) {
      Answer(fd, ErrorAnswer(Status(StatusCode::kResourceExhausted,
                                    "the server is answering too many commands; try again")
                                 .WithReason("busy")));
      CloseFd(fd);
      continue;
    }
    Connection& c = connections.emplace_back();
    c.thread = std::thread([this, fd, &c] {
      Serve(fd);
      c.done = true;
    });
  }
}

void ControlServer::Impl::Answer(int fd, const nlohmann::json& answer) const {
  std::string text = answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxAnswerBytes) {
    log::Error(kComponent, "a control answer is too large", {{"bytes", text.size()}});
    text = ErrorAnswer(Internal("answer too large")).dump();
  }
  // Not cancelled by a stop: a handler's last word ("the server is stopping") still goes.
  (void)WriteFrame(fd, text, std::chrono::steady_clock::now() + options.io_timeout);
}

void ControlServer::Impl::Serve(int fd) {
  ucred peer{};
  socklen_t peer_length = sizeof peer;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_length) != 0 ||
      (peer.uid != ::geteuid() && peer.uid != 0)) {
    log::Warn(kComponent, "refused a control connection from another user",
              {{"uid", static_cast<int64_t>(peer.uid)}});
    Answer(fd, ErrorAnswer(PermissionDenied("the control socket is for the server's own user")));
    CloseFd(fd);
    return;
  }
  auto text = ReadFrame(fd, kMaxRequestBytes, std::chrono::steady_clock::now() + options.io_timeout,
                        stop_fd);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kPayloadTooLarge)
      Answer(fd, ErrorAnswer(text.status()));
    CloseFd(fd);
    return;
  }
  const nlohmann::json request = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto verb = CheckRequest(request);
  if (!verb.ok()) {
    Answer(fd, ErrorAnswer(verb.status()));
    CloseFd(fd);
    return;
  }
  const Handler* handler = verbs.Find(*verb);
  if (handler == nullptr) {
    Answer(fd, ErrorAnswer(Status(StatusCode::kNotFound, "the server does not know " + *verb)
                               .WithReason(std::string(kUnknownVerb))));
    CloseFd(fd);
    return;
  }
  static const nlohmann::json kNoArgs = nlohmann::json::object();
  const nlohmann::json& args = request.contains("args") ? request["args"] : kNoArgs;
  Result<nlohmann::json> result = Internal("the handler did not answer");
  try {
    result = (*handler)(Call{.args = args, .peer_uid = peer.uid, .stop = stop.get_token()});
  } catch (const std::exception& e) {
    result = Internal(std::string("control handler threw: ") + e.what());
  }
  if (result.ok()) {
    log::Info(kComponent, "answered a command", {{"verb", *verb}});
    Answer(fd, OkAnswer(std::move(result).value()));
  } else {
    log::Warn(kComponent, "a command failed",
              {{"verb", *verb}, {"error", result.status().ToString()}});
    Answer(fd, ErrorAnswer(result.status()));
  }
  CloseFd(fd);
}

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() { Stop(); }

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& dir, Verbs verbs,
                                                            ServerOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->path = SocketPath(dir);
  impl->verbs = std::move(verbs);
  impl->options = options;
  auto lock = FileLock::Acquire(dir + "/" + std::string(kLockName), /*exclusive=*/true);
  if (!lock.ok()) {
    if (lock.status().code() == StatusCode::kUnavailable) {
      return AlreadyExists("another pactum server answers on " + impl->path);
    }
    return lock.status();
  }
  impl->lock = std::move(lock).value();
  RETURN_IF_ERROR(impl->Listen());
  Impl* raw = impl.get();
  impl->acceptor = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

void ControlServer::Stop() {
  if (!impl_ || impl_->stopped) return;
  Impl& i = *impl_;
  i.stopped = true;
  i.stop.request_stop();
  const uint64_t one = 1;
  (void)!::write(i.stop_fd, &one, sizeof one);
  if (i.acceptor.joinable()) i.acceptor.join();
  CloseFd(i.listen_fd);
  std::list<Impl::Connection> connections;
  {
    std::lock_guard guard(i.mu);
    connections.swap(i.connections);
  }
  for (auto& c : connections) c.thread.join();
  // Only our own socket: never one a later server put there.
  struct stat st {};
  if (::lstat(i.path.c_str(), &st) == 0 && st.st_dev == i.socket_dev && st.st_ino == i.socket_ino) {
    ::unlink(i.path.c_str());
  }
  i.lock = FileLock();  // the next server may take over
}

const std::string& ControlServer::path() const { return impl_->path; }

}  // namespace pactum::control
