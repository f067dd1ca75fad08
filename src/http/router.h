#pragma once

// Routes: method + path pattern ("/api/v1/contracts/{id}") -> handler, with per-route
// options (where it runs, how its body is read, its body limit). Middleware wraps every
// handler call in registration order (authenticate -> tenant/IP allowlist -> RBAC ->
// audit, as later modules add them). Built at start-up, then read-only: thread-safe for
// concurrent Find/Dispatch once serving.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace pactum::http {

enum class Execution {
  kInline,  // on the I/O thread: only for handlers that never block (no database, no disk)
  kWorker,  // on the worker pool: anything that may block
  // CPU-heavy work such as password hashing: on a small separate pool
  // (server.cpu_threads) so it never holds the workers that answer everything else; may
  // block too. Bodies are buffered only: a slow sender must not pin that small pool.
  kCpuBound,
};

enum class BodyMode {
  kBuffered,  // the whole body (up to the limit) is in Request::body before the handler runs
  kStreamed,  // the handler pulls it through Request::body_reader (requires kWorker)
};

struct RouteOptions {
  Execution execution = Execution::kWorker;
  BodyMode body = BodyMode::kBuffered;
  int64_t max_body_bytes =
      -1;  // -1: limits.max_body_bytes (buffered) / max_upload_bytes (streamed)
  // Checks the request head before any of its body is read, on the I/O thread (so it must
  // not block: headers only). A non-OK Status is answered at once and the body is never
  // read (the connection then closes). Null: no check.
  std::function<Status(const Request&)> precheck;
};

using Handler = std::function<Response(Request&)>;

struct Route {
  Method method;
  std::string pattern;
  std::vector<std::string> segments;  // "{name}" marks a parameter
  Handler handler;
  RouteOptions options;
  size_t index = 0;  // dense, for per-route metrics
};

using Next = std::function<Response(Request&)>;
using Middleware = std::function<Response(Request&, const Route&, const Next&)>;

class Router {
 public:
  // Patterns are absolute, literal segments or "{name}". A streamed body on an inline
  // route (it would block the I/O thread) or a CPU-bound one (a slow sender would hold
  // one of the few CPU threads) is a programming error and aborts.
  void Add(Method method, std::string_view pattern, Handler handler, RouteOptions options = {});
  void Use(Middleware middleware);

  struct Match {
    const Route* route = nullptr;
    Status status;      // kNotFound or kMethodNotAllowed when route is null
    std::string allow;  // for 405: the methods the path has
  };
  // Finds the route for a validated path and fills `request.params`. HEAD falls back to
  // GET. A literal segment beats a parameter.
  Match Find(Method method, std::string_view path, Request& request) const;

  // Runs the middleware chain and the route's handler.
  Response Dispatch(const Route& route, Request& request) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  std::vector<std::unique_ptr<Route>> routes_;
  std::vector<Middleware> middleware_;
};

}  // namespace pactum::http
