#pragma once

// The HTTPS server: Boost.Beast over Asio with C++20 coroutines, one io_context and thread
// per core, TLS through OpenSSL (tls.h), plus an optional plain-HTTP listener that only
// redirects. Handlers run inline on the I/O thread, on a worker pool, or on a small pool
// of their own for CPU-heavy work such as password hashing (RouteOptions::execution).
//
// Every response carries the security headers (HSTS, CSP, X-Frame-Options, nosniff,
// Referrer-Policy, Cache-Control: no-store) and X-Request-Id. Limits from
// config::LimitsConfig: header bytes, per-route body bytes, header/body/idle/write
// timeouts, connections overall and per client address.
//
// Requests are framed strictly (framing.h): a head that could be read two ways, a bad
// target, or a host this server is not configured for (server.public_url,
// server.allowed_hosts: 421) is refused and the connection closed, so no byte after it
// is taken for a request. A route's precheck runs before any body byte is read.
//
// Each request is shown to an optional RequestObserver (the request log): it may refuse
// requests (Admit) and is told how each one ended (Finished); see request_observer.h.
//
// Thread-safety: Start, SetTls and Shutdown may be called from any one controlling thread;
// the Router and the observer must outlive the Server and the Router not change after
// Start.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "common/status.h"
#include "config/config.h"
#include "http/request_observer.h"
#include "http/router.h"
#include "http/tls.h"

namespace pactum::http {

class Server {
 public:
  // `observer` may be null: no request log.
  Server(const config::ServerConfig& server, const config::LimitsConfig& limits,
         const Router& router, MetricsRegistry& metrics, RequestObserver* observer = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listeners and starts the I/O and worker threads. Errors: kUnavailable when
  // an address cannot be bound (in use, not local), kInvalidArgument for a bad address.
  Status Start(SslCtxPtr tls);

  // "https://127.0.0.1:43123" — the bound address, so port 0 works.
  std::string BaseUrl() const;
  // The origin clients use: server.public_url, or "https://<listen host>:<bound port>".
  // Handlers see it as Request::public_url. Known once Start succeeded.
  std::string PublicUrl() const;
  uint16_t port() const;
  uint16_t redirect_port() const;  // 0 when there is no redirect listener

  // New connections use `tls` from now on; open ones keep theirs.
  void SetTls(SslCtxPtr tls);

  // Graceful stop: close the listeners, close idle connections, let requests in flight
  // finish until shutdown_deadline_ms, then stop the threads. Blocks; returns true when
  // every connection finished before the deadline. Idempotent.
  bool Shutdown();

  int64_t open_connections() const;
  // Threads of the pool that runs Execution::kCpuBound handlers (server.cpu_threads
  // resolved: 0 means half the cores, at least 1).
  size_t cpu_threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pactum::http
