#pragma once

// A streaming JSON writer for hot response paths: appends straight into one string, no
// intermediate tree (nlohmann::json builds a std::map per object, which costs a third of
// the throughput of a 1 KiB response). Output is always valid JSON: strings are escaped
// (control characters as \uXXXX) and invalid UTF-8 is replaced by U+FFFD.
// Not thread-safe; one writer per response.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pactum {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // Key(k) followed by the value.
  JsonWriter& Field(std::string_view key, std::string_view value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, const char* value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, int64_t value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, int value) { return Key(key).Int(value); }
  JsonWriter& Field(std::string_view key, bool value) { return Key(key).Bool(value); }

  // The document; the writer is empty afterwards.
  std::string Take();

 private:
  void BeforeValue();
  void AppendEscaped(std::string_view s);

  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace pactum
