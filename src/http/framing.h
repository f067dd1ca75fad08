#pragma once

// The rules for a request head that decide which bytes belong to the request, checked on
// the parsed head before any of its body is read. Boost.Beast 1.74 parses leniently: it
// reads "Transfer-Encoding: chunked, identity" or "identity" as a request without a body
// (the body then runs as the next request), ignores codings before a final "chunked",
// accepts a repeated identical Content-Length and unfolds obs-fold lines. A proxy in
// front that frames such a request differently would let a client smuggle a second
// request past it, so each is refused here and the connection closed (RFC 9112 §6.1,
// §6.3, §5.2, §3.2). Pure functions, thread-safe.

#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/message.h"

namespace pactum::http {

struct Framing {
  // The Host field's host without its port ("contracts.example.com", "[::1]"), a view
  // into `headers`; empty when the request has no Host (allowed in HTTP/1.0 only).
  std::string_view host;
};

// Checks the head's fields (as parsed, in order) for HTTP version `version` (11 or 10).
// kInvalidArgument (400): Transfer-Encoding in HTTP/1.0, or with Content-Length, or whose
// final coding is not "chunked", or "chunked" more than once, or an empty coding; more than
// one Content-Length, or one that is not only digits; no Host in HTTP/1.1, more than one,
// or one that is not host[:port]. kNotImplemented (501): a coding other than "chunked"
// before the final "chunked" (the server implements none). Every refusal closes the
// connection.
Result<Framing> CheckFraming(const std::vector<HeaderField>& headers, int version);

// True when `head` (raw bytes of a request head) holds an obsolete line folding: a line
// break followed by a space or tab.
bool HasObsFold(std::string_view head);

}  // namespace pactum::http
