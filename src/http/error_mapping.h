#pragma once

// The one mapping from Status codes to HTTP statuses.

#include <string>

#include "common/status.h"

namespace pactum::http {

int HttpStatusFor(StatusCode code);

// The error object's code for `s`: its reason, else the slug of its status code.
std::string ErrorCode(const Status& s);

// {"error":{"code":"<slug>","message":"<text>"}}; internal detail is never included.
std::string ErrorBody(const Status& s);

}  // namespace pactum::http
