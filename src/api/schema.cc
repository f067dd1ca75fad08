#include "api/schema.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace pactum::api {
namespace {

using nlohmann::json;

// Code points of valid UTF-8 (request bodies are checked for UTF-8 when parsed).
int64_t Characters(std::string_view s) {
  int64_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

bool HasType(const json& v, Json type) {
  switch (type) {
    case Json::kString:
      return v.is_string();
    case Json::kInteger:
      return v.is_number_integer();
    case Json::kNumber:
      return v.is_number();
    case Json::kBoolean:
      return v.is_boolean();
    case Json::kArray:
      return v.is_array();
    case Json::kObject:
      return v.is_object();
    case Json::kAny:
      return true;
  }
  return false;
}

std::string Quoted(std::string_view name) {
  std::string out = "\"";
  out += name;
  out += '"';
  return out;
}

std::string TypePhrase(const FieldSpec& f) {
  switch (f.type) {
    case Json::kString:
      return "a string";
    case Json::kInteger:
      return "an integer";
    case Json::kNumber:
      return "a number";
    case Json::kBoolean:
      return "true or false";
    case Json::kArray:
      return f.items == Json::kString ? "a list of strings" : "a list";
    case Json::kObject:
      return "an object";
    case Json::kAny:
      return "a value";
  }
  return "a value";
}

std::string Joined(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += i + 1 == values.size() ? " or " : ", ";
    out += values[i];
  }
  return out;
}

// The spec of an array's items: their type, and for objects the array's `fields`.
FieldSpec ItemOf(const FieldSpec& array) {
  FieldSpec item;
  item.name = array.name;
  item.type = array.items;
  item.fields = array.fields;
  item.open = array.open;
  return item;
}

Status CheckValue(const FieldSpec& f, const json& v, const std::string& path) {
  if (v.is_null()) {
    if (f.nullable || f.type == Json::kAny) return Status::Ok();
    return InvalidArgument(Quoted(path) + " must be " + TypePhrase(f) + ", not null");
  }
  // A number with a fraction is no integer, but 3.0 written as such is refused too.
  if (!HasType(v, f.type)) {
    return InvalidArgument(Quoted(path) + " must be " + TypePhrase(f) +
                           (f.nullable ? " or null" : ""));
  }
  switch (f.type) {
    case Json::kString: {
      const auto& s = v.get_ref<const std::string&>();
      if (!f.one_of.empty()) {
        bool known = false;
        for (const auto& allowed : f.one_of) known = known || allowed == s;
        if (!known) return InvalidArgument(Quoted(path) + " must be " + Joined(f.one_of));
      }
      const int64_t n = Characters(s);
      if (f.max && n > *f.max) {
        return InvalidArgument(Quoted(path) + " is too long (at most " + std::to_string(*f.max) +
                               " characters)");
      }
      if (f.min && n < *f.min) {
        return InvalidArgument(*f.min == 1 ? Quoted(path) + " must not be empty"
                                           : Quoted(path) + " is too short (at least " +
                                                 std::to_string(*f.min) + " characters)");
      }
      break;
    }
    case Json::kInteger: {
      // nlohmann keeps integers above INT64_MAX as unsigned.
      if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) {
        return InvalidArgument(Quoted(path) + " is out of range");
      }
      const auto n = v.get<int64_t>();
      if ((f.min && n < *f.min) || (f.max && n > *f.max)) {
        return InvalidArgument(Quoted(path) + " must be " + std::to_string(f.min.value_or(0)) +
                               "-" + std::to_string(f.max.value_or(INT64_MAX)));
      }
      break;
    }
    case Json::kNumber: {
      const auto d = v.get<double>();
      if (!std::isfinite(d) || (f.min && d < static_cast<double>(*f.min)) ||
          (f.max && d > static_cast<double>(*f.max))) {
        return InvalidArgument(Quoted(path) + " is out of range");
      }
      break;
    }
    case Json::kArray: {
      const auto n = static_cast<int64_t>(v.size());
      if (f.max && n > *f.max) {
        return InvalidArgument(Quoted(path) + " holds at most " + std::to_string(*f.max) +
                               " items");
      }
      if (f.min && n < *f.min) {
        return InvalidArgument(Quoted(path) + " needs at least " + std::to_string(*f.min) +
                               " items");
      }
      const FieldSpec item = ItemOf(f);
      for (size_t i = 0; i < v.size(); ++i) {
        if (!HasType(v[i], f.items) || v[i].is_null()) {
          return InvalidArgument(Quoted(path) + " must be " + TypePhrase(f));
        }
        if (f.items == Json::kObject) {
          RETURN_IF_ERROR(CheckValue(item, v[i], path + "[" + std::to_string(i) + "]"));
        }
      }
      break;
    }
    case Json::kObject: {
      if (f.open) break;
      for (const auto& [key, member] : v.items()) {
        const FieldSpec* sub = nullptr;
        for (const auto& candidate : f.fields) {
          if (candidate.name == key) sub = &candidate;
        }
        std::string member_path = path;
        member_path += '.';
        member_path += key;
        if (sub == nullptr) return InvalidArgument("unknown field " + Quoted(member_path));
        RETURN_IF_ERROR(CheckValue(*sub, member, member_path));
      }
      for (const auto& sub : f.fields) {
        if (sub.required && !v.contains(sub.name)) {
          return InvalidArgument(Quoted(path + "." + sub.name) + " is required");
        }
      }
      break;
    }
    case Json::kBoolean:
    case Json::kAny:
      break;
  }
  return Status::Ok();
}

json SchemaOf(const FieldSpec& f) {
  json s = json::object();
  const char* type = JsonTypeName(f.type);
  if (f.type != Json::kAny) {
    s["type"] = f.nullable ? json::array({type, "null"}) : json(type);
  }
  if (!f.description.empty()) s["description"] = f.description;
  if (!f.format.empty()) s["format"] = f.format;
  if (!f.one_of.empty()) s["enum"] = f.one_of;
  switch (f.type) {
    case Json::kString:
      if (f.min) s["minLength"] = *f.min;
      if (f.max) s["maxLength"] = *f.max;
      break;
    case Json::kInteger:
    case Json::kNumber:
      if (f.min) s["minimum"] = *f.min;
      if (f.max) s["maximum"] = *f.max;
      break;
    case Json::kArray:
      if (f.min) s["minItems"] = *f.min;
      if (f.max) s["maxItems"] = *f.max;
      s["items"] =
          f.items == Json::kObject ? SchemaOf(ItemOf(f)) : json{{"type", JsonTypeName(f.items)}};
      break;
    case Json::kObject: {
      if (!f.fields.empty()) {
        ObjectSpec nested{f.fields};
        json inner = ToJsonSchema(nested);
        s["properties"] = inner["properties"];
        if (inner.contains("required")) s["required"] = inner["required"];
      }
      s["additionalProperties"] = f.open;
      break;
    }
    case Json::kBoolean:
    case Json::kAny:
      break;
  }
  if (!f.example.empty()) {
    json example = json::parse(f.example, nullptr, /*allow_exceptions=*/false);
    if (!example.is_discarded()) s["examples"] = json::array({example});
  }
  return s;
}

}  // namespace

const char* JsonTypeName(Json type) {
  switch (type) {
    case Json::kString:
      return "string";
    case Json::kInteger:
      return "integer";
    case Json::kNumber:
      return "number";
    case Json::kBoolean:
      return "boolean";
    case Json::kArray:
      return "array";
    case Json::kObject:
      return "object";
    case Json::kAny:
      return "any";
  }
  return "any";
}

const FieldSpec* ObjectSpec::Find(std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Status ValidateObject(const ObjectSpec& spec, const nlohmann::json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    const FieldSpec* f = spec.Find(key);
    if (f == nullptr) {
      // Never echo a long key back.
      return InvalidArgument("unknown field " + Quoted(key.size() <= 64 ? key : key.substr(0, 64)));
    }
    RETURN_IF_ERROR(CheckValue(*f, value, key));
  }
  for (const auto& f : spec.fields) {
    if (f.required && !body.contains(f.name))
      return InvalidArgument(Quoted(f.name) + " is required");
  }
  return Status::Ok();
}

nlohmann::json ToJsonSchema(const FieldSpec& field) { return SchemaOf(field); }

nlohmann::json ToJsonSchema(const ObjectSpec& spec) {
  json properties = json::object();
  json required = json::array();
  for (const auto& f : spec.fields) {
    properties[f.name] = SchemaOf(f);
    if (f.required) required.push_back(f.name);
  }
  json s{{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
  if (!required.empty()) s["required"] = required;
  return s;
}

nlohmann::json ExampleOf(const FieldSpec& f) {
  if (!f.example.empty()) {
    json example = json::parse(f.example, nullptr, /*allow_exceptions=*/false);
    if (!example.is_discarded()) return example;
  }
  switch (f.type) {
    case Json::kString:
      if (!f.one_of.empty()) return f.one_of.front();
      if (f.format == "date") return "2027-01-31";
      if (f.format == "date-time") return "2027-01-31T12:00:00Z";
      return "text";
    case Json::kInteger:
    case Json::kNumber:
      return f.min.value_or(1);
    case Json::kBoolean:
      return true;
    case Json::kArray:
      return f.items == Json::kObject ? json::array({ExampleOf(ItemOf(f))}) : json::array();
    case Json::kObject:
      return f.fields.empty() ? json::object() : ExampleOf(ObjectSpec{f.fields});
    case Json::kAny:
      return nullptr;
  }
  return nullptr;
}

nlohmann::json ExampleOf(const ObjectSpec& spec) {
  json out = json::object();
  for (const auto& f : spec.fields) out[f.name] = ExampleOf(f);
  return out;
}

Status CheckResponse(const ObjectSpec& spec, const nlohmann::json& body) {
  if (!body.is_object()) return InvalidArgument("the answer is not a JSON object");
  for (const auto& [key, value] : body.items()) {
    const FieldSpec* f = spec.Find(key);
    if (f == nullptr) return InvalidArgument("undeclared field " + Quoted(key));
    // Answers are not held to request limits (a list may be long); types and nesting are.
    FieldSpec loose = *f;
    loose.min.reset();
    loose.max.reset();
    loose.one_of.clear();
    RETURN_IF_ERROR(CheckValue(loose, value, key));
  }
  for (const auto& f : spec.fields) {
    if (f.required && !body.contains(f.name)) {
      return InvalidArgument("missing field " + Quoted(f.name));
    }
  }
  return Status::Ok();
}

}  // namespace pactum::api
