#pragma once

// The contract register (DESIGN §4, §5): contracts of one tenant with their parties, dates,
// renewal and notice terms, value, owner and tags. Every change bumps `version`; an update
// names the version it was based on, and a stale one is refused (412). Deleting moves a
// contract to the trash, from which it can be restored for kTrashDays; PurgeTrash removes
// older ones for good. Objects of another tenant do not exist (kNotFound). Thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/audit_sink.h"
#include "common/clock.h"
#include "common/status.h"
#include "contract/custom_fields.h"
#include "store/database.h"

namespace pactum::contract {

struct Contract {
  int64_t id = 0;
  int64_t tenant_id = 0;
  std::string title;
  std::string counterparty;
  std::string type;
  std::string status = "draft";  // draft | active | terminated | expired
  int64_t owner_id = 0;
  std::string start_date;  // YYYY-MM-DD or ""
  std::string end_date;    // YYYY-MM-DD or ""
  bool auto_renew = false;
  std::optional<int64_t> renewal_months;
  std::optional<int64_t> notice_days;
  std::optional<int64_t> value_cents;
  std::string currency;           // ISO 4217 or ""
  std::vector<std::string> tags;  // a set: sorted, unique
  nlohmann::json custom = nlohmann::json::object();
  int64_t version = 1;
  std::string created_at;
  std::string updated_at;
  std::string deleted_at;  // RFC 3339 when in the trash, else ""
};

// The contract as the API shows it (DESIGN §4 fields).
nlohmann::json ToJson(const Contract& c);

// Whether ApplyFields builds a new contract or changes a stored one (custom fields that are
// required must be given on create, and may not be removed by a change).
enum class Change { kCreate, kUpdate };

// Applies the fields present in `body` onto `c` (the API's create and PATCH bodies) and
// validates the result: ISO dates with end_date >= start_date, an ISO 4217 currency with
// any value, the text rule of common/text.h for title (1-500 characters), counterparty
// (0-500), type (0-100) and each tag (1-50), tags as a set, and `custom` against the tenant's
// definitions `fields`, merged key by key (null removes a value; see custom_fields.h).
// kInvalidArgument naming the first bad field ("custom.<key>" for a custom one). `id`, `version`,
// timestamps and unknown fields are refused.
Status ApplyFields(const nlohmann::json& body, std::span<const CustomField> fields, Change change,
                   Contract& c);

// Whether `date` is a real calendar date written YYYY-MM-DD.
bool IsIsoDate(std::string_view date);
// Whether `code` is an ISO 4217 currency code.
bool IsCurrency(std::string_view code);

struct ListQuery {
  std::string status;        // "" = any
  int64_t owner_id = 0;      // 0 = any
  std::string counterparty;  // case-insensitive substring; "" = any
  std::string tag;           // "" = any
  std::string end_from;      // end_date >= (YYYY-MM-DD); "" = open
  std::string end_to;        // end_date <= ; "" = open
  std::string sort = "id";   // id | title | end_date | updated_at (ascending, then id)
  std::string cursor;        // from the previous Page; "" = the first page
  int64_t limit = 50;        // 1-200
  bool trash = false;        // list the trash instead
};

struct Page {
  std::vector<Contract> contracts;
  std::string next_cursor;  // "" when there is no further page
};

struct Purged {
  std::vector<int64_t> contract_ids;
  std::vector<std::string> blob_ids;  // stored objects of the purged contracts' documents
};

class ContractService {
 public:
  static constexpr int64_t kTrashDays = 30;

  // Every change is recorded in `audit` in its own transaction (contract.create, .update,
  // .delete, .restore, .purge).
  ContractService(store::Database& db, const Clock& clock, audit::AuditSink& audit)
      : db_(db), clock_(clock), audit_(audit) {}

  // Creates a contract from `body` (ApplyFields with Change::kCreate, against the tenant's
  // custom field definitions as read in the same transaction) in the tenant. The owner
  // defaults to `creator_id`; an owner must be an enabled user of the tenant. Returns the
  // stored contract.
  Result<Contract> Create(const audit::Actor& by, int64_t tenant_id, int64_t creator_id,
                          const nlohmann::json& body);

  // kNotFound for another tenant's contract, none, or one in the trash (unless
  // `include_trash`).
  Result<Contract> Get(int64_t tenant_id, int64_t id, bool include_trash = false);

  Result<Page> List(int64_t tenant_id, const ListQuery& query);

  // Applies `body` to the contract (ApplyFields with Change::kUpdate, against the custom
  // field definitions as read in the same transaction) if its version is still
  // `if_version` (kFailedPrecondition "version_mismatch" otherwise). With `only_owner` > 0
  // the contract must be owned by that user (kPermissionDenied "not_owner"), checked on
  // the row the same transaction changes.
  Result<Contract> Update(const audit::Actor& by, int64_t tenant_id, int64_t id, int64_t if_version,
                          const nlohmann::json& body, int64_t only_owner = 0);

  // Moves to the trash / back out of it (within kTrashDays), with the same owner rule.
  // Restoring drops custom values whose field was removed (or removed and defined anew
  // with other rules) meanwhile.
  Status Trash(const audit::Actor& by, int64_t tenant_id, int64_t id, int64_t only_owner = 0);
  Result<Contract> Restore(const audit::Actor& by, int64_t tenant_id, int64_t id,
                           int64_t only_owner = 0);

  // Removes contracts that have been in the trash for kTrashDays, with their documents'
  // rows, in one transaction; the caller removes the documents' stored objects
  // (DocumentService::RemoveObjects).
  Result<Purged> PurgeTrash();

 private:
  Status CheckOwner(store::Session& s, int64_t tenant_id, int64_t owner_id);
  // The contract row (trashed or not) inside a transaction; kNotFound when absent.
  Result<Contract> ReadIn(store::Session& s, int64_t tenant_id, int64_t id);

  Status Record(store::Session& s, const audit::Actor& by, std::string action, int64_t id,
                nlohmann::json details = nlohmann::json::object());

  store::Database& db_;
  const Clock& clock_;
  audit::AuditSink& audit_;
};

}  // namespace pactum::contract
