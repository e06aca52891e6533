#include "nsl/db/database.hpp"

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace nsl::db {
namespace {

const char* type_name(const Value& v) {
  switch (v.index()) {
    case 0:
      return "NULL";
    case 1:
      return "integer";
    case 2:
      return "real";
    case 3:
      return "text";
    case 4:
      return "blob";
  }
  return "unknown";
}

}  // namespace

void Connection::insert_rows(std::string_view table, const std::vector<std::string>& columns,
                             const std::vector<std::vector<Value>>& rows) {
  std::string sql = "INSERT INTO " + std::string(table) + " (";
  std::string values = ") VALUES (";
  for (std::size_t c = 0; c < columns.size(); ++c) {
    sql += (c ? ", " : "") + columns[c];
    values += (c ? ", $" : "$") + std::to_string(c + 1);
  }
  sql += values + ")";
  for (const auto& row : rows) {
    if (row.size() != columns.size()) throw std::invalid_argument("insert_rows: a row does not match the columns");
  }
  if (rows.empty()) return;
  // Inside an open transaction a savepoint makes the rows all or nothing without ending it.
  const bool nested = in_transaction();
  if (nested) {
    exec_script("SAVEPOINT nsl_insert_rows");
  } else {
    begin_write();
  }
  try {
    for (const auto& row : rows) (void)query(sql, row);
    if (nested) {
      exec_script("RELEASE nsl_insert_rows");
    } else {
      commit();
    }
  } catch (...) {
    if (nested) {
      exec_script("ROLLBACK TO nsl_insert_rows; RELEASE nsl_insert_rows");
    } else {
      rollback();
    }
    throw;
  }
}

const char* dialect_name(Dialect d) noexcept { return d == Dialect::sqlite ? "sqlite" : "postgres"; }

std::string utc_text(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(((ms % 1000) + 1000) % 1000));
  return buf;
}

std::string utc_now_text(std::chrono::system_clock::duration offset) {
  return utc_text(std::chrono::system_clock::now() + offset);
}

template <class T>
T Result::get(std::size_t row, std::size_t column) const {
  const Value& v = rows.at(row).at(column);
  if constexpr (std::is_same_v<T, double>) {
    if (auto i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  }
  if constexpr (std::is_same_v<T, bool>) {
    if (auto i = std::get_if<std::int64_t>(&v)) return *i != 0;
  } else {
    if (auto p = std::get_if<T>(&v)) return *p;
  }
  throw DatabaseError(DatabaseError::Kind::schema, "column " + columns.at(column) + " holds " + type_name(v));
}

template <class T>
std::optional<T> Result::get_optional(std::size_t row, std::size_t column) const {
  if (is_null(row, column)) return std::nullopt;
  return get<T>(row, column);
}

template std::int64_t Result::get<std::int64_t>(std::size_t, std::size_t) const;
template double Result::get<double>(std::size_t, std::size_t) const;
template bool Result::get<bool>(std::size_t, std::size_t) const;
template std::string Result::get<std::string>(std::size_t, std::size_t) const;
template Blob Result::get<Blob>(std::size_t, std::size_t) const;
template std::optional<std::int64_t> Result::get_optional<std::int64_t>(std::size_t, std::size_t) const;
template std::optional<double> Result::get_optional<double>(std::size_t, std::size_t) const;
template std::optional<bool> Result::get_optional<bool>(std::size_t, std::size_t) const;
template std::optional<std::string> Result::get_optional<std::string>(std::size_t, std::size_t) const;
template std::optional<Blob> Result::get_optional<Blob>(std::size_t, std::size_t) const;

}  // namespace nsl::db
