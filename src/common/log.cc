#include "common/log.h"

#include <memory>
#include <string>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace pactum::log {
namespace {

spdlog::logger& Logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("pactum", std::move(sink));
    // %v is the rest of the JSON object, rendered by RenderFields.
    l->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc));
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::warn);
    return l;
  }();
  return *logger;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::string Dump(const nlohmann::json& v) {
  // Replace invalid UTF-8 instead of throwing; control characters come out as \uXXXX.
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The longest prefix of `s` of at most `max` bytes that does not split a UTF-8 sequence.
std::string_view CutUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return s.substr(0, end);
}

// The rendering of `v` in at most kMaxValueBytes: a longer one becomes a string holding
// the head of the value (of its rendering, for what is not a string) and its length.
std::string RenderValue(const nlohmann::json& v) {
  std::string whole;
  std::string_view source;
  if (v.is_string()) {
    source = v.get_ref<const std::string&>();
    if (source.size() <= kMaxValueBytes) {
      std::string text = Dump(v);
      if (text.size() <= kMaxValueBytes) return text;
    }
  } else {
    whole = Dump(v);
    if (whole.size() <= kMaxValueBytes) return whole;
    source = whole;
  }
  const std::string mark = "...[cut: " + std::to_string(source.size()) + " bytes in all]";
  // Escaping makes a byte at most 6 (\u001b): a quarter of the head per round is enough.
  for (size_t keep = kMaxValueBytes / 2;; keep /= 4) {
    std::string text = Dump(nlohmann::json(std::string(CutUtf8(source, keep)) + mark));
    if (text.size() <= kMaxValueBytes || keep == 0) return text;
  }
}

}  // namespace

bool ParseLevel(std::string_view text, Level* out) {
  if (text == "debug")
    *out = Level::kDebug;
  else if (text == "info")
    *out = Level::kInfo;
  else if (text == "warn")
    *out = Level::kWarn;
  else if (text == "error")
    *out = Level::kError;
  else
    return false;
  return true;
}

void SetLevel(Level level) { Logger().set_level(ToSpd(level)); }

bool Enabled(Level level) { return Logger().should_log(ToSpd(level)); }

std::string RenderFields(std::string_view component, std::string_view message,
                         const nlohmann::json& fields) {
  // Without the outer braces: the pattern supplies them around ts and level.
  std::string line = "\"component\":" + RenderValue(std::string(CutUtf8(component, 64))) +
                     ",\"msg\":" + RenderValue(std::string(message));
  if (!fields.is_object()) return line;
  size_t left_out = 0;
  for (const auto& [key, value] : fields.items()) {
    // The line's own names stay unambiguous.
    const bool reserved =
        key == "ts" || key == "level" || key == "component" || key == "msg" || key == "cut";
    const std::string name = (reserved ? "field." : "") + std::string(CutUtf8(key, 128));
    std::string piece = ",";  // appended: "," + std::string trips GCC 12's -Wrestrict
    piece += Dump(name);
    piece += ':';
    piece += RenderValue(value);
    if (left_out > 0 || line.size() + piece.size() > kMaxLineBytes) {
      ++left_out;
      continue;
    }
    line += piece;
  }
  if (left_out > 0) {
    line +=
        ",\"cut\":\"" + std::to_string(left_out) + " field(s) left out: the line was too long\"";
  }
  return line;
}

void Write(Level level, std::string_view component, std::string_view message,
           const nlohmann::json& fields) {
  auto& logger = Logger();
  const auto spd = ToSpd(level);
  if (!logger.should_log(spd)) return;
  logger.log(spd, RenderFields(component, message, fields));
}

void Flush() { Logger().flush(); }

}  // namespace pactum::log
