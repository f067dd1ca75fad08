#include "contract/custom_fields.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "contract/contract_service.h"
#include "contract/text_checks.h"

namespace pactum::contract {
namespace {

constexpr size_t kMaxKey = 40;
constexpr size_t kMaxLabel = 100;
constexpr size_t kMaxOptions = 100;
constexpr size_t kMaxOption = 100;
constexpr size_t kMaxText = 2000;
constexpr int64_t kMaxCents = int64_t{1} << 53;  // exact in every JSON reader

bool IsKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKey || key[0] < 'a' || key[0] > 'z') return false;
  return std::all_of(key.begin(), key.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
}

const CustomField* Find(std::span<const CustomField> fields, std::string_view key) {
  const auto it = std::find_if(fields.begin(), fields.end(),
                               [&](const CustomField& f) { return f.key == key; });
  return it == fields.end() ? nullptr : &*it;
}

bool IsCents(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(kMaxCents);
  return v.is_number_integer() && v.get<int64_t>() >= -kMaxCents && v.get<int64_t>() <= kMaxCents;
}

// Whether `v` (not null) is a value of field `f`; kInvalidArgument naming "custom.<key>".
Status CheckValue(const CustomField& f, const nlohmann::json& v) {
  const std::string name = "custom." + f.key;
  if (f.type == "text") {
    if (!v.is_string()) return Bad(name, "must be a string");
    return CheckText(v.get_ref<const std::string&>(), name, 1, kMaxText, TextKind::kProse);
  }
  if (f.type == "number") {
    if (!v.is_number() || (v.is_number_float() && !std::isfinite(v.get<double>()))) {
      return Bad(name, "must be a number");
    }
    return Status::Ok();
  }
  if (f.type == "date") {
    if (!v.is_string() || !IsIsoDate(v.get_ref<const std::string&>())) {
      return Bad(name, "must be a date YYYY-MM-DD");
    }
    return Status::Ok();
  }
  if (f.type == "money") {
    const auto amount = v.is_object() ? v.find("amount_cents") : v.end();
    const auto currency = v.is_object() ? v.find("currency") : v.end();
    if (!v.is_object() || v.size() != 2 || amount == v.end() || currency == v.end() ||
        !IsCents(*amount)) {
      return Bad(name, "must be {\"amount_cents\": an integer, \"currency\": an ISO 4217 code}");
    }
    if (!currency->is_string() || !IsCurrency(currency->get_ref<const std::string&>())) {
      return Bad(name, "must have an ISO 4217 currency such as EUR");
    }
    return Status::Ok();
  }
  if (f.type == "select") {
    if (!v.is_string() || std::find(f.options.begin(), f.options.end(),
                                    v.get_ref<const std::string&>()) == f.options.end()) {
      return Bad(name, "must be one of the field's options");
    }
    return Status::Ok();
  }
  return Internal("custom field \"" + f.key + "\" has the unknown type \"" + f.type + "\"");
}

}  // namespace

nlohmann::json ToJson(const CustomField& f) {
  return {{"key", f.key},
          {"label", f.label},
          {"type", f.type},
          {"options", f.options},
          {"required", f.required}};
}

Result<CustomField> FieldFromJson(const nlohmann::json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  CustomField f;
  for (const auto& [name, v] : body.items()) {
    if (name == "key" || name == "label" || name == "type") {
      if (!v.is_string()) return Bad(name, "must be a string");
      std::string& member = name == "key" ? f.key : name == "label" ? f.label : f.type;
      member = v.get<std::string>();
    } else if (name == "options") {
      if (v.is_null()) continue;
      if (!v.is_array() || v.size() > kMaxOptions) {
        return Bad(name, "must be a list of at most 100 strings");
      }
      f.options.reserve(v.size());
      for (const auto& option : v) {
        if (!option.is_string()) return Bad(name, "must be a list of at most 100 strings");
        f.options.push_back(option.get<std::string>());
      }
    } else if (name == "required") {
      if (!v.is_boolean()) return Bad(name, "must be true or false");
      f.required = v.get<bool>();
    } else {
      return InvalidArgument("unknown field \"" + name + "\"");
    }
  }
  RETURN_IF_ERROR(ValidateDefinition(f));
  return f;
}

Status ValidateDefinition(const CustomField& f) {
  if (!IsKey(f.key)) {
    return Bad("key", "must be 1-40 characters a-z, 0-9 or _, starting with a letter");
  }
  RETURN_IF_ERROR(CheckText(f.label, "label", 1, kMaxLabel));
  if (f.type != "text" && f.type != "number" && f.type != "date" && f.type != "money" &&
      f.type != "select") {
    return Bad("type", "must be text, number, date, money or select");
  }
  if (f.type != "select") {
    if (!f.options.empty()) return Bad("options", "are for select fields only");
    return Status::Ok();
  }
  if (f.options.empty() || f.options.size() > kMaxOptions) {
    return Bad("options", "must list 1-100 values");
  }
  std::set<std::string_view> seen;
  for (const std::string& option : f.options) {
    RETURN_IF_ERROR(CheckText(option, "options", 1, kMaxOption));
    if (!seen.insert(option).second) return Bad("options", "must not repeat \"" + option + "\"");
  }
  return Status::Ok();
}

Status ValidateCustom(std::span<const CustomField> fields, const nlohmann::json& custom) {
  if (!custom.is_object()) return Bad("custom", "must be an object of custom field values");
  for (const auto& [key, v] : custom.items()) {
    const CustomField* f = Find(fields, key);
    if (f == nullptr) return Bad("custom." + key, "is not a custom field of this tenant");
    if (!v.is_null()) RETURN_IF_ERROR(CheckValue(*f, v));
  }
  return Status::Ok();
}

Status ApplyCustom(std::span<const CustomField> fields, const nlohmann::json& patch, bool creating,
                   nlohmann::json& values) {
  RETURN_IF_ERROR(ValidateCustom(fields, patch));
  nlohmann::json merged = values.is_object() ? values : nlohmann::json::object();
  for (const auto& [key, v] : patch.items()) {
    if (v.is_null()) {
      merged.erase(key);
    } else {
      merged[key] = v;
    }
  }
  for (const CustomField& f : fields) {
    if (!f.required) continue;
    if (const auto it = patch.find(f.key); it != patch.end() && it->is_null()) {
      return Bad("custom." + f.key, "is required and cannot be removed");
    }
    if (creating && !merged.contains(f.key)) return Bad("custom." + f.key, "is required");
  }
  values = std::move(merged);
  return Status::Ok();
}

nlohmann::json KeepDefined(std::span<const CustomField> fields, const nlohmann::json& values) {
  nlohmann::json kept = nlohmann::json::object();
  if (!values.is_object()) return kept;
  for (const auto& [key, v] : values.items()) {
    const CustomField* f = Find(fields, key);
    if (f != nullptr && !v.is_null() && CheckValue(*f, v).ok()) kept[key] = v;
  }
  return kept;
}

Result<std::vector<CustomField>> ReadCustomFields(store::Session& s, int64_t tenant_id) {
  ASSIGN_OR_RETURN(auto rows, s.Query("SELECT key, label, type, options, required, created_at "
                                      "FROM custom_fields WHERE tenant_id = $1 ORDER BY "
                                      "created_at, key",
                                      {tenant_id}));
  std::vector<CustomField> fields;
  fields.reserve(rows.size());
  for (const store::Row& r : rows) {
    CustomField f;
    f.key = r.Text(0);
    f.label = r.Text(1);
    f.type = r.Text(2);
    if (!r.IsNull(3)) {
      const auto options = nlohmann::json::parse(r.Text(3), nullptr, /*allow_exceptions=*/false);
      if (!options.is_array()) return DataLoss("a custom field's options are not a JSON list");
      f.options.reserve(options.size());
      for (const auto& o : options) {
        if (!o.is_string()) return DataLoss("a custom field's options are not strings");
        f.options.push_back(o.get<std::string>());
      }
    }
    f.required = r.Int(4) != 0;
    f.created_at = r.Text(5);
    fields.push_back(std::move(f));
  }
  return fields;
}

Result<std::vector<CustomField>> CustomFieldService::List(int64_t tenant_id) {
  std::vector<CustomField> fields;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(fields, ReadCustomFields(s, tenant_id));
    return Status::Ok();
  }));
  return fields;
}

Result<CustomField> CustomFieldService::Define(const audit::Actor& by, int64_t tenant_id,
                                               CustomField field) {
  RETURN_IF_ERROR(ValidateDefinition(field));
  field.created_at = FormatRfc3339(clock_.Now());
  const store::Value options =
      field.type == "select" ? store::Value(nlohmann::json(field.options).dump()) : store::Value();
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto keys,
                     s.Query("SELECT key FROM custom_fields WHERE tenant_id = $1", {tenant_id}));
    for (const store::Row& r : keys) {
      if (r.Text(0) == field.key) {
        return AlreadyExists("the custom field \"" + field.key + "\" is defined already");
      }
    }
    if (keys.size() >= kMaxFields) {
      return Status(StatusCode::kConflict, "a tenant has at most 50 custom fields")
          .WithReason("too_many_fields");
    }
    RETURN_IF_ERROR(s.Execute("INSERT INTO custom_fields (tenant_id, key, label, type, options, "
                              "required, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                              {tenant_id, field.key, field.label, field.type, options,
                               int64_t{field.required ? 1 : 0}, field.created_at})
                        .status());
    audit::Event e{.action = "custom_field.create", .target = "custom_field:" + field.key};
    e.details = {{"type", field.type}, {"required", field.required}};
    e.actor = by;
    return audit_.Append(s, e);
  }));
  return field;
}

Status CustomFieldService::Remove(const audit::Actor& by, int64_t tenant_id, std::string_view key) {
  return db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto defined,
                     s.Query("SELECT 1 FROM custom_fields WHERE tenant_id = $1 AND key = $2",
                             {tenant_id, std::string(key)}));
    if (defined.empty()) return NotFound("no such custom field");
    // LIKE narrows the rows (a key is [a-z0-9_]; `_` matching any character only widens
    // it); whether the object really holds the key is decided on the parsed JSON.
    ASSIGN_OR_RETURN(auto rows, s.Query("SELECT custom FROM contracts WHERE tenant_id = $1 AND "
                                        "deleted_at IS NULL AND custom LIKE $2",
                                        {tenant_id, "%\"" + std::string(key) + "\":%"}));
    int64_t in_use = 0;
    for (const store::Row& r : rows) {
      const auto custom = nlohmann::json::parse(r.Text(0), nullptr, /*allow_exceptions=*/false);
      if (custom.is_object() && custom.contains(std::string(key))) ++in_use;
    }
    if (in_use > 0) {
      return Status(StatusCode::kConflict, std::to_string(in_use) +
                                               " contract(s) have a value for \"" +
                                               std::string(key) + "\"; clear those first")
          .WithReason("field_in_use");
    }
    RETURN_IF_ERROR(s.Execute("DELETE FROM custom_fields WHERE tenant_id = $1 AND key = $2",
                              {tenant_id, std::string(key)})
                        .status());
    audit::Event e{.action = "custom_field.delete", .target = "custom_field:" + std::string(key)};
    e.actor = by;
    return audit_.Append(s, e);
  });
}

}  // namespace pactum::contract
