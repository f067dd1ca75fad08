#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pactum {

// Wall-clock time, injected so tests never read the real clock. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

// Whole seconds since the Unix epoch, as the database stores instants.
inline int64_t UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Milliseconds since the Unix epoch, as backups record commit times.
inline int64_t UnixMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// RFC 3339 in UTC with second precision: "2026-11-27T06:32:18Z".
std::string FormatRfc3339(std::chrono::system_clock::time_point t);

}  // namespace pactum
