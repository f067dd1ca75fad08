#pragma once

// The shape of a JSON object an endpoint takes or gives, declared once beside the
// endpoint (api/endpoint.h) and used three ways: request bodies are checked against it
// before a handler runs (unknown fields, missing required ones, wrong types, values out of
// the declared range are refused with 400 naming the field), the OpenAPI description and
// docs/api.md are generated from it, and the tests compare what handlers answer with it.
//
// A declaration reads like the API documentation it produces:
//
//   Field("email", Json::kString).Required().Max(254).Format("email")
//       .Describe("the user's login address").Example(R"("ann@example.com")")
//
// Plain values; not thread-safe to change, safe to share once built.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace pactum::api {

enum class Json { kString, kInteger, kNumber, kBoolean, kArray, kObject, kAny };

// The JSON Schema name of a type: "string", "integer" ...
const char* JsonTypeName(Json type);

struct FieldSpec {
  std::string name;
  Json type = Json::kString;
  bool required = false;
  bool nullable = false;
  std::string description;
  // Strings: length in characters (code points); integers and numbers: the value;
  // arrays: the number of items.
  std::optional<int64_t> min;
  std::optional<int64_t> max;
  std::vector<std::string> one_of;  // the allowed values of a string
  std::string format;               // an OpenAPI format: "date", "date-time", "email" ...
  Json items = Json::kString;       // the type of an array's items
  // An object's members (for the documentation of nested objects); with `open` any
  // members are allowed (a map such as a contract's `custom`), checked by the service.
  std::vector<FieldSpec> fields;
  bool open = false;
  std::string example;  // JSON text of a typical value; "" = derived from the type

  FieldSpec&& Required() && { return Set(&FieldSpec::required, true); }
  FieldSpec&& Nullable() && { return Set(&FieldSpec::nullable, true); }
  FieldSpec&& Describe(std::string text) && {
    return Set(&FieldSpec::description, std::move(text));
  }
  FieldSpec&& Min(int64_t v) && { return Set(&FieldSpec::min, std::optional<int64_t>(v)); }
  FieldSpec&& Max(int64_t v) && { return Set(&FieldSpec::max, std::optional<int64_t>(v)); }
  FieldSpec&& Range(int64_t lo, int64_t hi) && { return std::move(*this).Min(lo).Max(hi); }
  FieldSpec&& OneOf(std::vector<std::string> values) && {
    return Set(&FieldSpec::one_of, std::move(values));
  }
  FieldSpec&& Format(std::string f) && { return Set(&FieldSpec::format, std::move(f)); }
  FieldSpec&& Items(Json t) && { return Set(&FieldSpec::items, t); }
  FieldSpec&& Fields(std::vector<FieldSpec> f) && { return Set(&FieldSpec::fields, std::move(f)); }
  FieldSpec&& Open() && { return Set(&FieldSpec::open, true); }
  FieldSpec&& Example(std::string json) && { return Set(&FieldSpec::example, std::move(json)); }

 private:
  template <class M, class V>
  FieldSpec&& Set(M FieldSpec::*member, V&& value) {
    this->*member = std::forward<V>(value);
    return std::move(*this);
  }
};

inline FieldSpec Field(std::string name, Json type) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = type;
  return f;
}

// A JSON object: its declared members. Nothing else is accepted in a request.
struct ObjectSpec {
  std::vector<FieldSpec> fields;

  const FieldSpec* Find(std::string_view name) const;
  bool empty() const { return fields.empty(); }
};

// Checks a request body against `spec`: an object whose members are all declared, of
// their declared type (integers without a fraction; null only where nullable), within
// their declared range and values, with every required member present. kInvalidArgument
// naming the first bad field otherwise (the name of a nested one as "a.b").
Status ValidateObject(const ObjectSpec& spec, const nlohmann::json& body);

// The JSON Schema (OpenAPI 3.1 dialect) of an object / a field.
nlohmann::json ToJsonSchema(const ObjectSpec& spec);
nlohmann::json ToJsonSchema(const FieldSpec& field);

// An example object with every declared field (its example, or one made from its type).
nlohmann::json ExampleOf(const ObjectSpec& spec);
nlohmann::json ExampleOf(const FieldSpec& field);

// Checks an answer against the declared response `spec`: every member is declared (open
// objects excepted) and of its type, every required member present. For the tests that
// hold handlers to their declarations.
Status CheckResponse(const ObjectSpec& spec, const nlohmann::json& body);

}  // namespace pactum::api
