#include "common/json_parse.h"

#include <string>
#include <utility>
#include <vector>

#include "common/json_writer.h"

namespace pactum {
namespace {

using json = nlohmann::json;

// Builds the document as nlohmann's DOM parser does (a stack of the open containers), and
// refuses what that parser lets through. Every callback returns false to stop the parse;
// `error` then says why.
class StrictDom {
 public:
  explicit StrictDom(const JsonLimits& limits) : limits_(limits) {}

  bool null() { return Put(nullptr); }
  bool boolean(bool v) { return Put(v); }
  bool number_integer(json::number_integer_t v) { return Put(v); }
  bool number_unsigned(json::number_unsigned_t v) { return Put(v); }
  bool number_float(json::number_float_t v, const json::string_t& literal) {
    // The lexer falls back to a double for an integer that does not fit 64 bits: a 20-digit
    // id would silently lose its last digits.
    if (literal.find_first_of(".eE") == json::string_t::npos) {
      return Fail("invalid JSON: an integer is out of range (at most 64 bits)");
    }
    return Put(v);
  }
  bool string(json::string_t& v) { return Put(std::move(v)); }
  bool binary(json::binary_t& /*unused*/) { return Fail("invalid JSON: binary value"); }

  bool start_object(std::size_t /*unused*/) { return Open(json::object()); }
  bool key(json::string_t& k) {
    auto& object = open_.back()->get_ref<json::object_t&>();
    auto [it, inserted] = object.emplace(std::move(k), nullptr);
    if (!inserted) {
      // A short excerpt, escaped as JSON: enough to find it, never the body.
      std::string excerpt = it->first.size() > 40 ? it->first.substr(0, 40) + "..." : it->first;
      return Fail("invalid JSON: the key " +
                  json(excerpt).dump(-1, ' ', false, json::error_handler_t::replace) +
                  " appears twice in one object");
    }
    slot_ = &it->second;
    return true;
  }
  bool end_object() {
    open_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*unused*/) { return Open(json::array()); }
  bool end_array() {
    open_.pop_back();
    return true;
  }

  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) {
    // The last token and e.what() can hold the input (a million-digit number): only the
    // offset and the kind of error leave here.
    if (error_.empty()) {
      error_ = e.id == 406 ? "invalid JSON: the number at byte " + std::to_string(position) +
                                 " is out of range"
                           : "invalid JSON at byte " + std::to_string(position);
    }
    return false;
  }

  json& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // Where the next value goes: the root, the end of the open array, or the slot of the
  // key just read.
  json* Place(json&& v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json* top = open_.back();
    if (top->is_array()) {
      auto& array = top->get_ref<json::array_t&>();
      array.push_back(std::move(v));
      return &array.back();
    }
    *slot_ = std::move(v);
    return slot_;
  }

  template <typename T>
  bool Put(T&& v) {
    Place(json(std::forward<T>(v)));
    return true;
  }

  bool Open(json&& container) {
    if (open_.size() >= limits_.max_depth) {
      return Fail("invalid JSON: nested deeper than " + std::to_string(limits_.max_depth) +
                  " levels");
    }
    // Pointers stay valid: an element of an array or object is only added to while it is
    // the innermost open container's last one.
    open_.push_back(Place(std::move(container)));
    return true;
  }

  const JsonLimits limits_;
  json root_;
  std::vector<json*> open_;
  json* slot_ = nullptr;
  std::string error_;
};

Status Invalid(std::string message) {
  return InvalidArgument(std::move(message)).WithReason("invalid_json");
}

}  // namespace

Result<nlohmann::json> ParseStrictJson(std::string_view text, const JsonLimits& limits) {
  // nlohmann's lexer takes a NUL byte for the end of the input; JSON text has none (inside
  // strings it must be escaped), so one anywhere means the body is not one JSON value.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Invalid("invalid JSON: a NUL byte at byte " + std::to_string(nul + 1));
  }
  if (!IsValidUtf8(text)) return Invalid("invalid JSON: the text is not valid UTF-8");
  StrictDom dom(limits);
  const bool ok = json::sax_parse(text.begin(), text.end(), &dom, json::input_format_t::json,
                                  /*strict=*/true);
  if (!ok) {
    return Invalid(dom.error().empty() ? std::string("invalid JSON") : dom.error());
  }
  return std::move(dom.root());
}

}  // namespace pactum
