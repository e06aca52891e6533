#pragma once

// Where a chain test keeps the watchers' state: SQLite by default, or a PostgreSQL schema of its
// own when NSL_TEST_DB_BACKEND=postgres (with NSL_TEST_PG_URL), so the watchers run on both.

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "nsl/db/postgres.hpp"
#include "nsl/db/sqlite_database.hpp"

namespace nsl::testing {

inline std::string test_database_spec(const std::filesystem::path& dir) {
  const char* backend = std::getenv("NSL_TEST_DB_BACKEND");
  if (backend && std::string(backend) == "postgres") {
    std::random_device rd;
    return std::string(std::getenv("NSL_TEST_PG_URL")) + "?search_path=w_" + std::to_string(rd() % 1000000000u);
  }
  return (dir / "nsl.db").string();
}

inline std::unique_ptr<db::Database> open_test_database(const std::string& spec, metrics::Registry& registry) {
  if (db::looks_like_postgres(spec)) {
    auto o = db::parse_pg_connection_string(spec);
    o.min_pool = 1;
    o.max_pool = 4;
    return std::make_unique<db::PgDatabase>(o, registry, log::Logger{});
  }
  return std::make_unique<db::SqliteDatabase>(db::SqliteOptions{spec, 2, 5000}, registry);
}

/// CREATE TABLE with an auto-numbered first column `n` and 64-bit integer columns, in the
/// connection's dialect. `columns` is written with INTEGER.
inline std::string numbered_table(db::Connection& c, const std::string& name, std::string columns) {
  if (c.dialect() != db::Dialect::postgres)
    return "CREATE TABLE " + name + " (n INTEGER PRIMARY KEY AUTOINCREMENT, " + columns + ")";
  for (auto pos = columns.find("INTEGER"); pos != std::string::npos; pos = columns.find("INTEGER", pos)) {
    columns.replace(pos, 7, "BIGINT");
  }
  return "CREATE TABLE " + name + " (n BIGSERIAL PRIMARY KEY, " + columns + ")";
}

}  // namespace nsl::testing
