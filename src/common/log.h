#pragma once

// The operator log: one JSON object per line on stderr, UTC timestamps, control characters
// escaped (JSON string escaping), invalid UTF-8 replaced. Callers pass structured fields,
// never secrets: passwords, tokens, keys and document content must not reach a field.
// Every line is bounded whatever a request put into it: a value whose rendering is longer
// than kMaxValueBytes becomes a string holding its head and its full length, and fields
// that would take the line past kMaxLineBytes are left out (counted in a "cut" field), so
// a client cannot fill the disk with a few huge requests.
// Thread-safe.

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pactum::log {

// The longest rendering of one field value (the message and the component included).
inline constexpr size_t kMaxValueBytes = 4096;
// The longest line RenderFields returns, plus at most 64 bytes for the "cut" field; the
// timestamp and level come on top.
inline constexpr size_t kMaxLineBytes = 16384;

// kOff silences the log (one-shot CLI commands report through their own one-line errors).
enum class Level { kDebug, kInfo, kWarn, kError, kOff };

// Parses "debug" | "info" | "warn" | "error"; false on anything else.
bool ParseLevel(std::string_view text, Level* out);

// Sets the minimum level written. Safe to call at any time.
void SetLevel(Level level);
bool Enabled(Level level);

// Writes one line: {"ts":..., "level":..., "component":..., "msg":..., <fields>}.
void Write(Level level, std::string_view component, std::string_view message,
           const nlohmann::json& fields = nlohmann::json::object());

// Renders the line Write() would print for these arguments, without the timestamp and
// level; used by Write and by tests of the escaping.
std::string RenderFields(std::string_view component, std::string_view message,
                         const nlohmann::json& fields);

void Flush();

inline void Debug(std::string_view c, std::string_view m,
                  const nlohmann::json& f = nlohmann::json::object()) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, c, m, f);
}
inline void Info(std::string_view c, std::string_view m,
                 const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kInfo, c, m, f);
}
inline void Warn(std::string_view c, std::string_view m,
                 const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kWarn, c, m, f);
}
inline void Error(std::string_view c, std::string_view m,
                  const nlohmann::json& f = nlohmann::json::object()) {
  Write(Level::kError, c, m, f);
}

}  // namespace pactum::log
