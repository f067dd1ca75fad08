#pragma once

// Small pieces the API handlers share: reading JSON fields and path ids, the address a
// throttle counts, and common answers.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "http/message.h"

namespace pactum::api {

// body[key] as a string; kInvalidArgument naming the key otherwise.
Result<std::string> StringField(const nlohmann::json& body, const char* key);

// A positive decimal id from a path parameter, or 0.
int64_t ParseId(std::string_view text);

// The address a throttle counts: IPv4 as is, IPv6 by its /64 (one subscriber's prefix).
std::string ThrottleAddress(const std::string& ip);

// 204 No Content.
http::Response NoContent();

// The error answer for a refused throttle check, with Retry-After.
http::Response Throttled(const Status& status, int64_t retry_after_seconds);

}  // namespace pactum::api
