#pragma once

// Tenant-defined custom fields of contracts (DESIGN §4 `custom{}`). An admin defines a
// field once: a key, a label, a type and whether it is required; a definition is never
// edited (remove it and define it again). A contract's `custom` object maps the keys of
// defined fields to values of the field's type:
//   text    prose of 1-2000 characters (the text rule of common/text.h; \n and \t allowed)
//   number  a JSON number
//   date    "YYYY-MM-DD", a real calendar date
//   money   {"amount_cents": integer, "currency": ISO 4217 code}
//   select  one of the field's options
// Writing `custom` merges: a key with a value sets it, a key with null removes it, keys
// not named keep their values. A required field must have a value when a contract is
// created and cannot be removed later; contracts created before a field became defined
// are not made to have it. ContractService reads the definitions in the same transaction
// as every contract write, so a value never outlives or predates its definition: every
// value of a contract outside the trash belongs to a defined field and fits it.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/audit_sink.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/database.h"

namespace pactum::contract {

struct CustomField {
  std::string key;                   // [a-z][a-z0-9_]*, 1-40 characters; unique in a tenant
  std::string label;                 // a name of 1-100 characters (common/text.h)
  std::string type;                  // text | number | date | money | select
  std::vector<std::string> options;  // select: 1-100 distinct names of 1-100 characters; else empty
  bool required = false;
  std::string created_at;  // RFC 3339
};

// The definition as the API shows it: {key, label, type, options, required}.
nlohmann::json ToJson(const CustomField& f);

// A definition from the API's body {key, label, type, options?, required?}, validated as
// ValidateDefinition does; kInvalidArgument naming the first bad or unknown member.
Result<CustomField> FieldFromJson(const nlohmann::json& body);

// kInvalidArgument naming the first member of `f` that breaks the rules above.
Status ValidateDefinition(const CustomField& f);

// Checks the `custom` object of a create or PATCH body against a tenant's definitions:
// every key is a defined field and every value is null or of its field's type.
// kInvalidArgument naming the first bad key as "custom.<key>". Required fields are
// ApplyCustom's concern (they depend on whether a contract is new).
Status ValidateCustom(std::span<const CustomField> fields, const nlohmann::json& custom);

// Validates `patch` (ValidateCustom) and merges it into `values`, a contract's `custom`
// object: values set, nulls remove. A required field set to null is refused; with
// `creating`, so is a required field left without a value. Nothing changes on error.
Status ApplyCustom(std::span<const CustomField> fields, const nlohmann::json& patch, bool creating,
                   nlohmann::json& values);

// `values` without the entries that no field of `fields` accepts (a field removed, or
// removed and defined again with another type, while the contract was in the trash).
nlohmann::json KeepDefined(std::span<const CustomField> fields, const nlohmann::json& values);

// The tenant's definitions, oldest first, read inside the caller's transaction.
Result<std::vector<CustomField>> ReadCustomFields(store::Session& s, int64_t tenant_id);

// The definitions of each tenant (GET/POST /api/v1/custom-fields, DELETE .../{key}).
// Thread-safe; holds no state of its own.
class CustomFieldService {
 public:
  static constexpr size_t kMaxFields = 50;  // per tenant

  // Definitions and removals are recorded in `audit` (custom_field.create / .delete).
  CustomFieldService(store::Database& db, const Clock& clock, audit::AuditSink& audit)
      : db_(db), clock_(clock), audit_(audit) {}

  // The tenant's definitions, oldest first.
  Result<std::vector<CustomField>> List(int64_t tenant_id);

  // Stores a new definition and returns it. kInvalidArgument for a bad definition,
  // kAlreadyExists ("already_exists") when the key is defined already, kConflict
  // ("too_many_fields") when the tenant has kMaxFields.
  Result<CustomField> Define(const audit::Actor& by, int64_t tenant_id, CustomField field);

  // Removes a definition. kNotFound when there is none; kConflict ("field_in_use") while
  // a contract outside the trash has a value for it: clear those values first. Contracts
  // in the trash keep theirs until restored, when values without a matching definition
  // are dropped (ContractService::Restore).
  Status Remove(const audit::Actor& by, int64_t tenant_id, std::string_view key);

 private:
  store::Database& db_;
  const Clock& clock_;
  audit::AuditSink& audit_;
};

}  // namespace pactum::contract
