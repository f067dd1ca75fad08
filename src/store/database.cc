#include "store/database.h"

namespace pactum::store {

int64_t Row::Int(size_t i) const {
  const auto& v = values_.at(i);
  if (const auto* p = std::get_if<int64_t>(&v)) return *p;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  return 0;
}

double Row::Real(size_t i) const {
  const auto& v = values_.at(i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  return 0;
}

std::string Row::Text(size_t i) const {
  const auto& v = values_.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* b = std::get_if<Blob>(&v)) return {b->begin(), b->end()};
  return {};
}

Blob Row::Bytes(size_t i) const {
  const auto& v = values_.at(i);
  if (const auto* b = std::get_if<Blob>(&v)) return *b;
  if (const auto* s = std::get_if<std::string>(&v)) return {s->begin(), s->end()};
  return {};
}

// A materialized Row seen through RowView, for Session::QueryEach's default.
class RowOfValues final : public RowView {
 public:
  explicit RowOfValues(const Row& row) : row_(row) {}
  int64_t Int(size_t i) const override { return row_.Int(i); }
  std::string_view Text(size_t i) const override {
    const auto& v = row_.values_.at(i);
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    if (const auto* b = std::get_if<Blob>(&v)) {
      return {reinterpret_cast<const char*>(b->data()), b->size()};
    }
    return {};
  }
  std::span<const uint8_t> Bytes(size_t i) const override {
    const auto& v = row_.values_.at(i);
    if (const auto* b = std::get_if<Blob>(&v)) return *b;
    if (const auto* s = std::get_if<std::string>(&v)) {
      return {reinterpret_cast<const uint8_t*>(s->data()), s->size()};
    }
    return {};
  }

 private:
  const Row& row_;
};

Status Session::QueryEach(Sql sql, std::initializer_list<Value> params,
                          const std::function<Status(const RowView&)>& fn) {
  ASSIGN_OR_RETURN(const std::vector<Row> rows, Query(sql, params));
  for (const Row& row : rows) RETURN_IF_ERROR(fn(RowOfValues(row)));
  return Status::Ok();
}

}  // namespace pactum::store
