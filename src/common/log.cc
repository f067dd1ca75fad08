#include "common/log.h"

#include <memory>

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
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["component"] = std::string(component);
  line["msg"] = std::string(message);
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) line[key] = value;
  }
  // Replace invalid UTF-8 instead of throwing; control characters come out as \uXXXX.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Strip the outer braces: the pattern supplies them around ts and level.
  return text.substr(1, text.size() - 2);
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
