#pragma once

// The relational store, behind an interface so SQLite (embedded default) and PostgreSQL
// (scale-out) serve the same callers. SQL text is always a compile-time literal (`Sql`
// cannot be built from a runtime string) with $1, $2 ... placeholders, which both engines
// understand; values travel only through typed binding. Dialect-neutral SQL only: no
// engine-specific functions in callers (use RETURNING, not last-insert-id).
//
// Thread-safety: a Database is shared by all threads. A Session is valid only inside the
// callback it was passed to, on that thread.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace pactum::store {

// A SQL statement known at compile time.
class Sql {
 public:
  consteval Sql(const char* text) : text_(text) {}  // NOLINT(google-explicit-constructor)
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
};

using Blob = std::vector<uint8_t>;
using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;

class Row {
 public:
  friend class RowOfValues;
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(values_.at(i)); }
  // Typed accessors; a NULL or a different type reads as 0 / "" (the schema decides types).
  int64_t Int(size_t i) const;
  double Real(size_t i) const;
  std::string Text(size_t i) const;
  Blob Bytes(size_t i) const;

 private:
  std::vector<Value> values_;
};

// One result row of Session::QueryEach, read in place: valid only during the callback it
// was passed to. Same conversions as Row; Text and Bytes point into the engine's buffers.
class RowView {
 public:
  virtual ~RowView() = default;
  virtual int64_t Int(size_t i) const = 0;
  virtual std::string_view Text(size_t i) const = 0;
  virtual std::span<const uint8_t> Bytes(size_t i) const = 0;
};

class Session {
 public:
  virtual ~Session() = default;
  // Runs a statement and returns all result rows.
  virtual Result<std::vector<Row>> Query(Sql sql, std::initializer_list<Value> params = {}) = 0;
  // Runs a statement and calls `fn` with each result row in turn, without collecting
  // them (long scans: nothing is allocated per row). An error from `fn` stops the
  // statement and is returned. The default goes through Query.
  virtual Status QueryEach(Sql sql, std::initializer_list<Value> params,
                           const std::function<Status(const RowView&)>& fn);
  // Runs a statement and returns the number of rows it changed.
  virtual Result<int64_t> Execute(Sql sql, std::initializer_list<Value> params = {}) = 0;
};

struct DatabaseInfo {
  std::string engine;      // "sqlite" | "postgresql"
  int schema_version = 0;  // highest applied migration
};

class ChangeCapture;  // store/change_capture.h

class Database {
 public:
  virtual ~Database() = default;

  // Runs `fn` in a read-only transaction on a pooled connection (a consistent snapshot).
  virtual Status Read(const std::function<Status(Session&)>& fn) = 0;

  // Runs `fn` in one write transaction. Writes are serialized; the transaction commits
  // when `fn` returns OK and rolls back otherwise (its Status is returned). Blocking: call
  // from worker threads, never from an I/O thread.
  // Errors: kAlreadyExists on a unique-constraint violation, kUnavailable when the
  // database is locked past the busy timeout or unreachable, kDataLoss on corruption.
  virtual Status Write(const std::function<Status(Session&)>& fn) = 0;

  // OK when the database answers a trivial query.
  virtual Status Ping() = 0;

  virtual DatabaseInfo Info() const = 0;

  // The engine's capture of its committed changes, for backups; nullptr when it offers
  // none.
  virtual ChangeCapture* Changes() { return nullptr; }
};

}  // namespace pactum::store
