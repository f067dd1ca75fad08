#include "contract/contract_service.h"

#include <algorithm>
#include <array>
#include <set>

#include "common/hex.h"
#include "common/text_fold.h"
#include "contract/text_checks.h"
#include "store/like.h"

namespace pactum::contract {
namespace {

constexpr std::array kCurrencies = {
#include "contract/currencies.inc"
};

// The list query ordered by KEY (a column name literal), keyset-paged after ($9, $10):
// the first page passes ('' or 0, 0), which every row follows. Engine-neutral SQL
// (SQLite and PostgreSQL run it unchanged): the trash flag compared as an integer, the
// counterparty as a LIKE pattern over the folded column (wildcards in the input
// escaped), the tag through contract_tags (one range of its (tenant_id, tag) index,
// evaluated once per query). Each sort order has a (tenant_id, KEY, id) index, and the
// keyset condition is a range on it: a page seeks to its first row instead of reading
// the pages before it.
// NOLINTNEXTLINE(bugprone-macro-parentheses): KEY is pasted into a string literal
#define PACTUM_CONTRACT_LIST(KEY)                                                             \
  "SELECT id, tenant_id, title, counterparty, type, status, owner_id, start_date, end_date, " \
  "auto_renew, renewal_months, notice_days, value_cents, currency, tags, custom, version, "   \
  "created_at, updated_at, deleted_at FROM contracts WHERE tenant_id = $1 AND "               \
  "(($2 = 0 AND deleted_at IS NULL) OR ($2 = 1 AND deleted_at IS NOT NULL)) AND "             \
  "($3 = '' OR status = $3) AND ($4 = 0 OR owner_id = $4) AND "                               \
  "($5 = '' OR counterparty_key LIKE $5 ESCAPE '\\') AND ($6 = '' OR id IN (SELECT "          \
  "contract_id FROM contract_tags WHERE tenant_id = $1 AND tag = $6)) AND "                   \
  "($7 = '' OR end_date >= $7) AND ($8 = '' OR (end_date != '' AND end_date <= $8)) AND " KEY \
  " >= $9 AND (" KEY " > $9 OR id > $10) ORDER BY " KEY ", id LIMIT $11"

std::optional<int64_t> OptInt(const store::Row& r, size_t i) {
  if (r.IsNull(i)) return std::nullopt;
  return r.Int(i);
}

// kDataLoss when the stored tags or custom values are not the JSON this service writes.
Result<Contract> FromRow(const store::Row& r) {
  Contract c;
  c.id = r.Int(0);
  c.tenant_id = r.Int(1);
  c.title = r.Text(2);
  c.counterparty = r.Text(3);
  c.type = r.Text(4);
  c.status = r.Text(5);
  c.owner_id = r.Int(6);
  c.start_date = r.Text(7);
  c.end_date = r.Text(8);
  c.auto_renew = r.Int(9) != 0;
  c.renewal_months = OptInt(r, 10);
  c.notice_days = OptInt(r, 11);
  c.value_cents = OptInt(r, 12);
  c.currency = r.Text(13);
  const auto tags = nlohmann::json::parse(r.Text(14), nullptr, /*allow_exceptions=*/false);
  if (!tags.is_array()) return DataLoss("a contract's tags are not a JSON list");
  for (const auto& t : tags) {
    if (!t.is_string()) return DataLoss("a contract's tags are not strings");
    c.tags.push_back(t.get<std::string>());
  }
  c.custom = nlohmann::json::parse(r.Text(15), nullptr, /*allow_exceptions=*/false);
  if (!c.custom.is_object()) return DataLoss("a contract's custom values are not a JSON object");
  c.version = r.Int(16);
  c.created_at = r.Text(17);
  c.updated_at = r.Text(18);
  if (!r.IsNull(19)) {
    c.deleted_at =
        FormatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(r.Int(19))));
  }
  return c;
}

store::Value OrNull(const std::optional<int64_t>& v) {
  if (!v) return store::Value();
  return *v;
}

// Makes contract_tags hold exactly `c`'s tags, inside the transaction that writes `c`:
// it is what the tag filter reads (contracts.tags stays the copy reads return, so a
// page is one query on any engine). `fresh`: `c` has no rows there yet.
Status WriteTags(store::Session& s, const Contract& c, bool fresh) {
  if (!fresh) {
    RETURN_IF_ERROR(s.Execute("DELETE FROM contract_tags WHERE contract_id = $1", {c.id}).status());
  }
  for (const std::string& tag : c.tags) {
    RETURN_IF_ERROR(s.Execute("INSERT INTO contract_tags (tenant_id, contract_id, tag) VALUES "
                              "($1, $2, $3)",
                              {c.tenant_id, c.id, tag})
                        .status());
  }
  return Status::Ok();
}

Status OptIntField(const nlohmann::json& v, const std::string& key, int64_t min, int64_t max,
                   std::optional<int64_t>& out) {
  if (v.is_null()) {
    out.reset();
    return Status::Ok();
  }
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    return Bad(
        key, "must be an integer " + std::to_string(min) + "-" + std::to_string(max) + " or null");
  }
  out = v.get<int64_t>();
  return Status::Ok();
}

Status DateField(const nlohmann::json& v, const std::string& key, std::string& out) {
  if (v.is_null()) {
    out.clear();
    return Status::Ok();
  }
  if (!v.is_string() || !IsIsoDate(v.get<std::string>())) {
    return Bad(key, "must be a date YYYY-MM-DD or null");
  }
  out = v.get<std::string>();
  return Status::Ok();
}

// The keyset position a cursor names: the sort value and the id after which to go on.
struct CursorPos {
  std::string value;
  int64_t id = 0;
};

std::string EncodeCursor(const std::string& sort, const std::string& value, int64_t id) {
  const std::string raw = sort + "\n" + value + "\n" + std::to_string(id);
  return HexEncode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw.data()),  // NOLINT
                                            raw.size()));
}

Result<CursorPos> DecodeCursor(std::string_view hex, const std::string& sort) {
  const Status bad = InvalidArgument("\"cursor\" is not one this server gave out");
  if (hex.size() % 2 != 0 || hex.size() > 2048) return bad;
  std::string raw;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (size_t j = 0; j < 2; ++j) {
      const char ch = hex[i + j];
      const int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
      if (d < 0) return bad;
      v = v * 16 + d;
    }
    raw += static_cast<char>(v);
  }
  const size_t nl = raw.rfind('\n');
  if (nl == std::string::npos) return bad;
  const std::string id = raw.substr(nl + 1);
  if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos) {
    return bad;
  }
  const std::string head = raw.substr(0, nl);
  const size_t first = head.find('\n');
  if (first == std::string::npos || head.substr(0, first) != sort) {
    return InvalidArgument("\"cursor\" belongs to another sort order");
  }
  return CursorPos{head.substr(first + 1), std::stoll(id)};
}

}  // namespace

bool IsIsoDate(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (const size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (d[i] < '0' || d[i] > '9') return false;
  }
  const int y = std::stoi(std::string(d.substr(0, 4)));
  const int m = std::stoi(std::string(d.substr(5, 2)));
  const int day = std::stoi(std::string(d.substr(8, 2)));
  if (y < 1900 || m < 1 || m > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return day <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool IsCurrency(std::string_view code) {
  return std::binary_search(kCurrencies.begin(), kCurrencies.end(), code,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

nlohmann::json ToJson(const Contract& c) {
  auto opt = [](const std::optional<int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  auto str_or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
  };
  nlohmann::json j{{"id", c.id},
                   {"title", c.title},
                   {"counterparty", c.counterparty},
                   {"type", c.type},
                   {"status", c.status},
                   {"owner_id", c.owner_id},
                   {"start_date", str_or_null(c.start_date)},
                   {"end_date", str_or_null(c.end_date)},
                   {"auto_renew", c.auto_renew},
                   {"renewal_months", opt(c.renewal_months)},
                   {"notice_days", opt(c.notice_days)},
                   {"value_cents", opt(c.value_cents)},
                   {"currency", str_or_null(c.currency)},
                   {"tags", c.tags},
                   {"custom", c.custom},
                   {"version", c.version},
                   {"created_at", c.created_at},
                   {"updated_at", c.updated_at}};
  if (!c.deleted_at.empty()) j["deleted_at"] = c.deleted_at;
  return j;
}

Status ApplyFields(const nlohmann::json& body, std::span<const CustomField> fields, Change change,
                   Contract& c) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  const nlohmann::json no_custom = nlohmann::json::object();
  const nlohmann::json* custom = &no_custom;
  for (const auto& [key, v] : body.items()) {
    Status s;
    if (key == "title") {
      s = TextField(v, key, 1, 500, c.title);
    } else if (key == "counterparty") {
      s = TextField(v, key, 0, 500, c.counterparty);
    } else if (key == "type") {
      s = TextField(v, key, 0, 100, c.type);
    } else if (key == "status") {
      if (!v.is_string() ||
          (v != "draft" && v != "active" && v != "terminated" && v != "expired")) {
        return Bad(key, "must be draft, active, terminated or expired");
      }
      c.status = v.get<std::string>();
    } else if (key == "owner_id") {
      if (!v.is_number_integer() || v.get<int64_t>() <= 0) return Bad(key, "must be a user id");
      c.owner_id = v.get<int64_t>();
    } else if (key == "start_date") {
      s = DateField(v, key, c.start_date);
    } else if (key == "end_date") {
      s = DateField(v, key, c.end_date);
    } else if (key == "auto_renew") {
      if (!v.is_boolean()) return Bad(key, "must be true or false");
      c.auto_renew = v.get<bool>();
    } else if (key == "renewal_months") {
      s = OptIntField(v, key, 1, 120, c.renewal_months);
    } else if (key == "notice_days") {
      s = OptIntField(v, key, 0, 3650, c.notice_days);
    } else if (key == "value_cents") {
      s = OptIntField(v, key, 0, int64_t{1} << 53, c.value_cents);
    } else if (key == "currency") {
      if (v.is_null()) {
        c.currency.clear();
      } else if (!v.is_string() || !IsCurrency(v.get<std::string>())) {
        return Bad(key, "must be an ISO 4217 code such as EUR, or null");
      } else {
        c.currency = v.get<std::string>();
      }
    } else if (key == "tags") {
      if (!v.is_array() || v.size() > 50) return Bad(key, "must be a list of at most 50 tags");
      std::set<std::string> tags;
      for (const auto& t : v) {
        std::string tag;
        RETURN_IF_ERROR(TextField(t, "tags", 1, 50, tag));
        tags.insert(std::move(tag));
      }
      c.tags.assign(tags.begin(), tags.end());
    } else if (key == "custom") {
      custom = &v;  // after the loop: the required-field check needs it even when absent
    } else {
      return InvalidArgument("unknown or read-only field \"" + key + "\"");
    }
    RETURN_IF_ERROR(s);
  }
  RETURN_IF_ERROR(ApplyCustom(fields, *custom, change == Change::kCreate, c.custom));
  if (c.title.empty()) return Bad("title", "is required");
  if (!c.start_date.empty() && !c.end_date.empty() && c.end_date < c.start_date) {
    return Bad("end_date", "must not be before start_date");
  }
  if (c.value_cents.has_value() != !c.currency.empty()) {
    return Bad("currency", "and value_cents go together");
  }
  return Status::Ok();
}

Status ContractService::CheckOwner(store::Session& s, int64_t tenant_id, int64_t owner_id) {
  ASSIGN_OR_RETURN(auto rows, s.Query("SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2 AND "
                                      "disabled = 0",
                                      {owner_id, tenant_id}));
  if (rows.empty()) return Bad("owner_id", "must be an enabled user of this tenant");
  return Status::Ok();
}

Status ContractService::Record(store::Session& s, const audit::Actor& by, std::string action,
                               int64_t id, nlohmann::json details) {
  audit::Event e{.action = std::move(action), .target = "contract:" + std::to_string(id)};
  e.details = std::move(details);
  e.actor = by;
  return audit_.Append(s, e);
}

Result<Contract> ContractService::Create(const audit::Actor& by, int64_t tenant_id,
                                         int64_t creator_id, const nlohmann::json& body) {
  const std::string now = FormatRfc3339(clock_.Now());
  Contract stored;
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    // The definitions as of this transaction: none can change before it commits.
    ASSIGN_OR_RETURN(const auto fields, ReadCustomFields(s, tenant_id));
    Contract c;
    RETURN_IF_ERROR(ApplyFields(body, fields, Change::kCreate, c));
    if (c.owner_id == 0) c.owner_id = creator_id;
    RETURN_IF_ERROR(CheckOwner(s, tenant_id, c.owner_id));
    ASSIGN_OR_RETURN(const std::string counterparty_key, FoldForMatching(c.counterparty));
    ASSIGN_OR_RETURN(
        auto rows,
        s.Query("INSERT INTO contracts (tenant_id, title, counterparty, type, status, owner_id, "
                "start_date, end_date, auto_renew, renewal_months, notice_days, value_cents, "
                "currency, tags, custom, version, created_at, updated_at, counterparty_key) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, "
                "$16, $16, $17) RETURNING id, tenant_id, title, counterparty, type, status, "
                "owner_id, start_date, end_date, auto_renew, renewal_months, notice_days, "
                "value_cents, currency, tags, custom, version, created_at, updated_at, "
                "deleted_at",
                {tenant_id, c.title, c.counterparty, c.type, c.status, c.owner_id, c.start_date,
                 c.end_date, int64_t{c.auto_renew ? 1 : 0}, OrNull(c.renewal_months),
                 OrNull(c.notice_days), OrNull(c.value_cents), c.currency,
                 nlohmann::json(c.tags).dump(), c.custom.dump(), now, counterparty_key}));
    if (rows.size() != 1) return Internal("INSERT RETURNING gave no row");
    ASSIGN_OR_RETURN(stored, FromRow(rows[0]));
    RETURN_IF_ERROR(WriteTags(s, stored, /*fresh=*/true));
    return Record(s, by, "contract.create", stored.id, {{"title", stored.title}});
  }));
  return stored;
}

Result<Contract> ContractService::Get(int64_t tenant_id, int64_t id, bool include_trash) {
  Contract found;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(found, ReadIn(s, tenant_id, id));
    return Status::Ok();
  }));
  if (!include_trash && !found.deleted_at.empty()) return NotFound("no such contract");
  return found;
}

Result<Page> ContractService::List(int64_t tenant_id, const ListQuery& q) {
  static constexpr std::array<std::string_view, 4> kSorts = {"id", "title", "end_date",
                                                             "updated_at"};
  if (std::find(kSorts.begin(), kSorts.end(), q.sort) == kSorts.end()) {
    return Bad("sort", "must be id, title, end_date or updated_at");
  }
  if (q.limit < 1 || q.limit > 200) return Bad("limit", "must be 1-200");
  if (!q.status.empty() && q.status != "draft" && q.status != "active" &&
      q.status != "terminated" && q.status != "expired") {
    return Bad("status", "must be draft, active, terminated or expired");
  }
  for (const auto* d : {&q.end_from, &q.end_to}) {
    if (!d->empty() && !IsIsoDate(*d)) return Bad("end_date", "bounds must be YYYY-MM-DD");
  }
  // No stored counterparty or tag is longer: a longer filter is a mistake, not a search.
  RETURN_IF_ERROR(CheckText(q.counterparty, "counterparty", 0, 500));
  RETURN_IF_ERROR(CheckText(q.tag, "tag", 0, 50));
  CursorPos after;
  if (!q.cursor.empty()) {
    ASSIGN_OR_RETURN(after, DecodeCursor(q.cursor, q.sort));
  }
  std::string counterparty;
  if (!q.counterparty.empty()) {
    ASSIGN_OR_RETURN(const std::string folded, FoldForMatching(q.counterparty));
    counterparty = store::LikeContaining(folded);
  }
  Page page;
  RETURN_IF_ERROR(db_.Read([&](store::Session& s) -> Status {
    // One literal statement per sort column (SQL is never assembled at run time); every
    // value is a bound parameter. $9 is the cursor's sort value, $10 its id.
    auto run = [&](store::Sql sql, store::Value after_value) {
      return s.Query(
          sql, {tenant_id, int64_t{q.trash ? 1 : 0}, q.status, q.owner_id, counterparty, q.tag,
                q.end_from, q.end_to, std::move(after_value), after.id, q.limit + 1});
    };
    Result<std::vector<store::Row>> rows = Status::Ok();
    if (q.sort == "title") {
      rows = run(PACTUM_CONTRACT_LIST("title"), after.value);
    } else if (q.sort == "end_date") {
      rows = run(PACTUM_CONTRACT_LIST("end_date"), after.value);
    } else if (q.sort == "updated_at") {
      rows = run(PACTUM_CONTRACT_LIST("updated_at"), after.value);
    } else {
      rows = run(PACTUM_CONTRACT_LIST("id"), after.id);
    }
    if (!rows.ok()) return rows.status();
    for (const auto& r : *rows) {
      ASSIGN_OR_RETURN(Contract c, FromRow(r));
      page.contracts.push_back(std::move(c));
    }
    return Status::Ok();
  }));
  if (static_cast<int64_t>(page.contracts.size()) > q.limit) {
    page.contracts.pop_back();
    const Contract& last = page.contracts.back();
    const std::string value = q.sort == "title"        ? last.title
                              : q.sort == "end_date"   ? last.end_date
                              : q.sort == "updated_at" ? last.updated_at
                                                       : std::string();
    page.next_cursor = EncodeCursor(q.sort, value, last.id);
  }
  return page;
}

Result<Contract> ContractService::ReadIn(store::Session& s, int64_t tenant_id, int64_t id) {
  ASSIGN_OR_RETURN(auto rows, s.Query("SELECT id, tenant_id, title, counterparty, type, status, "
                                      "owner_id, start_date, end_date, auto_renew, "
                                      "renewal_months, notice_days, value_cents, currency, "
                                      "tags, custom, version, created_at, updated_at, "
                                      "deleted_at FROM contracts WHERE tenant_id = $1 AND "
                                      "id = $2",
                                      {tenant_id, id}));
  if (rows.empty()) return NotFound("no such contract");
  return FromRow(rows[0]);
}

namespace {

Status NotOwner() {
  return Status(StatusCode::kPermissionDenied, "you can change only the contracts you own")
      .WithReason("not_owner");
}

}  // namespace

Result<Contract> ContractService::Update(const audit::Actor& by, int64_t tenant_id, int64_t id,
                                         int64_t if_version, const nlohmann::json& body,
                                         int64_t only_owner) {
  Contract updated;
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(updated, ReadIn(s, tenant_id, id));
    if (!updated.deleted_at.empty()) return NotFound("no such contract");
    if (only_owner > 0 && updated.owner_id != only_owner) return NotOwner();
    if (updated.version != if_version) {
      return Status(StatusCode::kFailedPrecondition,
                    "the contract changed since version " + std::to_string(if_version) +
                        "; it is at version " + std::to_string(updated.version))
          .WithReason("version_mismatch");
    }
    const int64_t owner_before = updated.owner_id;
    const std::vector<std::string> tags_before = updated.tags;
    ASSIGN_OR_RETURN(const auto fields, ReadCustomFields(s, tenant_id));
    RETURN_IF_ERROR(ApplyFields(body, fields, Change::kUpdate, updated));
    if (updated.owner_id != owner_before) {
      RETURN_IF_ERROR(CheckOwner(s, tenant_id, updated.owner_id));
    }
    updated.version += 1;
    updated.updated_at = FormatRfc3339(clock_.Now());
    ASSIGN_OR_RETURN(const std::string counterparty_key, FoldForMatching(updated.counterparty));
    ASSIGN_OR_RETURN(
        const int64_t changed,
        s.Execute("UPDATE contracts SET title = $1, counterparty = $2, type = $3, status = $4, "
                  "owner_id = $5, start_date = $6, end_date = $7, auto_renew = $8, "
                  "renewal_months = $9, notice_days = $10, value_cents = $11, currency = $12, "
                  "tags = $13, custom = $14, version = $15, updated_at = $16, "
                  "counterparty_key = $20 WHERE id = $17 AND tenant_id = $19 AND version = $18 "
                  "AND deleted_at IS NULL",
                  {updated.title,
                   updated.counterparty,
                   updated.type,
                   updated.status,
                   updated.owner_id,
                   updated.start_date,
                   updated.end_date,
                   int64_t{updated.auto_renew ? 1 : 0},
                   OrNull(updated.renewal_months),
                   OrNull(updated.notice_days),
                   OrNull(updated.value_cents),
                   updated.currency,
                   nlohmann::json(updated.tags).dump(),
                   updated.custom.dump(),
                   updated.version,
                   updated.updated_at,
                   id,
                   if_version,
                   tenant_id,
                   counterparty_key}));
    if (changed != 1) {  // another writer got there first (engines without one write lock)
      return Status(StatusCode::kFailedPrecondition, "the contract changed meanwhile")
          .WithReason("version_mismatch");
    }
    if (updated.tags != tags_before) RETURN_IF_ERROR(WriteTags(s, updated, /*fresh=*/false));
    auto fields_changed = nlohmann::json::array();
    for (const auto& [key, value] : body.items()) fields_changed.push_back(key);
    return Record(s, by, "contract.update", id,
                  {{"fields", std::move(fields_changed)}, {"version", updated.version}});
  }));
  return updated;
}

Status ContractService::Trash(const audit::Actor& by, int64_t tenant_id, int64_t id,
                              int64_t only_owner) {
  const int64_t now = UnixSeconds(clock_.Now());
  return db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(const Contract c, ReadIn(s, tenant_id, id));
    if (!c.deleted_at.empty()) return NotFound("no such contract");
    if (only_owner > 0 && c.owner_id != only_owner) return NotOwner();
    RETURN_IF_ERROR(s.Execute("UPDATE contracts SET deleted_at = $1, version = version + 1 WHERE "
                              "tenant_id = $2 AND id = $3",
                              {now, tenant_id, id})
                        .status());
    return Record(s, by, "contract.delete", id);
  });
}

Result<Contract> ContractService::Restore(const audit::Actor& by, int64_t tenant_id, int64_t id,
                                          int64_t only_owner) {
  const auto now = clock_.Now();
  // RFC 3339 UTC times compare as text.
  const std::string cutoff = FormatRfc3339(now - std::chrono::hours(24 * kTrashDays));
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(const Contract c, ReadIn(s, tenant_id, id));
    if (c.deleted_at.empty() || c.deleted_at <= cutoff) {
      return NotFound("no such contract in the trash");
    }
    if (only_owner > 0 && c.owner_id != only_owner) return NotOwner();
    // A definition may have been removed while the contract was in the trash (removal
    // counts only contracts outside it): values without a field do not come back.
    ASSIGN_OR_RETURN(const auto fields, ReadCustomFields(s, tenant_id));
    RETURN_IF_ERROR(
        s.Execute("UPDATE contracts SET deleted_at = NULL, version = version + 1, "
                  "updated_at = $1, custom = $4 WHERE tenant_id = $2 AND id = $3",
                  {FormatRfc3339(now), tenant_id, id, KeepDefined(fields, c.custom).dump()})
            .status());
    return Record(s, by, "contract.restore", id);
  }));
  return Get(tenant_id, id);
}

Result<Purged> ContractService::PurgeTrash() {
  const int64_t cutoff = UnixSeconds(clock_.Now()) - kTrashDays * 86400;
  Purged purged;
  RETURN_IF_ERROR(db_.Write([&](store::Session& s) -> Status {
    ASSIGN_OR_RETURN(auto docs, s.Query("DELETE FROM documents WHERE contract_id IN (SELECT id "
                                        "FROM contracts WHERE deleted_at IS NOT NULL AND "
                                        "deleted_at <= $1) RETURNING blob_id",
                                        {cutoff}));
    purged.blob_ids.reserve(docs.size());
    for (const auto& r : docs) purged.blob_ids.push_back(r.Text(0));
    RETURN_IF_ERROR(s.Execute("DELETE FROM contract_tags WHERE contract_id IN (SELECT id FROM "
                              "contracts WHERE deleted_at IS NOT NULL AND deleted_at <= $1)",
                              {cutoff})
                        .status());
    ASSIGN_OR_RETURN(auto rows, s.Query("DELETE FROM contracts WHERE deleted_at IS NOT NULL AND "
                                        "deleted_at <= $1 RETURNING id, tenant_id",
                                        {cutoff}));
    purged.contract_ids.reserve(rows.size());
    for (const auto& r : rows) {
      purged.contract_ids.push_back(r.Int(0));
      RETURN_IF_ERROR(Record(s, audit::Actor::System(r.Int(1)), "contract.purge", r.Int(0)));
    }
    return Status::Ok();
  }));
  return purged;
}

}  // namespace pactum::contract
