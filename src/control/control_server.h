#pragma once

// The server side of the control socket (control/control_protocol.h): `pactum serve`
// answers the verbs registered in a Verbs table on <data>/control.sock.
//
// The socket is created safely:
//  - <data>/control.lock (flock, held for the server's life) decides who owns the socket:
//    a second server on the same data directory does not get it and leaves the first
//    one's socket alone (kAlreadyExists);
//  - the socket is bound in a fresh private directory (0700) inside the data directory,
//    set to 0600 and only then renamed to control.sock, so it is never reachable with
//    wider permissions; the rename replaces a stale socket left by a killed server
//    (with the lock held, any socket there is stale);
//  - each connection's peer must run as the server's user or as root (SO_PEERCRED), on
//    top of the file permissions.
//
// One request per connection, each on a thread of its own (at most max_connections at
// once; more get a `busy` answer). A request that is not whole within io_timeout, larger
// than kMaxRequestBytes, not the documented JSON or of an unknown verb is answered with
// an error and the connection closed.
//
// Thread-safe; handlers run on connection threads and must be thread-safe. Stop() (and
// the destructor) closes the socket, sets the stop token handlers were given, waits for
// every connection thread and removes control.sock.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace pactum::control {

// What a handler gets: the request's args (an object; {} when absent), the peer's user
// id, and a stop token set when the server stops (a long handler returns then).
struct Call {
  const nlohmann::json& args;
  uid_t peer_uid = 0;
  std::stop_token stop;
};

// A verb's handler: the answer's result, or the Status to answer with (its message goes
// to the client, its detail to the log).
using Handler = std::function<Result<nlohmann::json>(const Call& call)>;

// The verbs a server answers: one line per verb where the server is put together.
class Verbs {
 public:
  // kInvalidArgument for a name ValidVerb refuses or an empty handler; kAlreadyExists.
  Status Add(std::string verb, Handler handler);
  const Handler* Find(std::string_view verb) const;

 private:
  std::map<std::string, Handler, std::less<>> handlers_;
};

struct ServerOptions {
  std::chrono::milliseconds io_timeout{10'000};  // to read the request, to write the answer
  int max_connections = 16;                      // at once
};

class ControlServer {
 public:
  // Creates <dir>/control.sock as above and starts answering. kAlreadyExists when another
  // server holds <dir>/control.lock; kUnavailable when the socket cannot be made.
  static Result<std::unique_ptr<ControlServer>> Start(const std::string& dir, Verbs verbs,
                                                      ServerOptions options = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void Stop();
  const std::string& path() const;

 private:
  struct Impl;
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pactum::control
