#pragma once

// What the server tells an observer (the request log of the audit trail) about each
// request. http/ knows nothing of what is done with it: the observer lives above (api/).

#include <chrono>
#include <cstdint>

#include "common/status.h"
#include "http/message.h"
#include "http/router.h"

namespace pactum::http {

// How a request ended.
struct RequestOutcome {
  // The status answered; 499 when the client went away before an answer could be sent
  // (while its body was still being read).
  int status = 0;
  uint64_t bytes_in = 0;   // request body bytes read (buffered, or pulled by the handler)
  uint64_t bytes_out = 0;  // response body bytes written to the connection (0 for HEAD)
  std::chrono::nanoseconds duration{0};  // from the first byte of the head to the last written
};

// Sees every request the server reads a head of, answered or not. Called from every I/O
// thread at once: implementations are thread-safe and never block for long (they run on
// the I/O threads, between requests of a connection).
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;

  // Asked before a routed request is dispatched (before its body is read), and again
  // before a success (status < 400) is answered. A failure is answered instead, as the
  // error for its Status (e.g. 503 audit_unavailable), and the connection closes when a
  // body was not read. The second ask comes after the handler ran: what it changed
  // stays changed.
  virtual Status Admit(const Request& request) = 0;

  // Once per request whose head was read, after its answer was written (or not: see
  // RequestOutcome::status): routed or not (`route` null), refused, malformed heads
  // included (then only request_id, peer_ip and remote_ip are set). Request::principal
  // holds the caller when the route's middleware authenticated one.
  virtual void Finished(const Request& request, const Route* route,
                        const RequestOutcome& outcome) = 0;
};

}  // namespace pactum::http
