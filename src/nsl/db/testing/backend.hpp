#pragma once

// Test helper: a fresh, migrated database on one backend: a SQLite file in a temporary
// directory, or a schema of its own on the PostgreSQL server named by NSL_TEST_PG_URL
// (scripts/test.sh starts one), dropped at the end. Tests of a service run on both:
//
//   class MyTest : public ::testing::TestWithParam<std::string> { ... db::testing::TestDatabase db_{GetParam()}; };
//   INSTANTIATE_TEST_SUITE_P(Db, MyTest, ::testing::Values("sqlite", "postgres"));
//
// Without NSL_TEST_PG_URL the PostgreSQL cases skip (`available()` is false).

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "nsl/core/testing/temp_dir.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/db/postgres.hpp"
#include "nsl/db/sqlite_database.hpp"

namespace nsl::db::testing {

inline const char* pg_url() { return std::getenv("NSL_TEST_PG_URL"); }

inline std::string random_schema() {
  std::random_device rd;
  return "t_" + std::to_string(::getpid()) + "_" + std::to_string(rd() % 1000000000u);
}

/// Where one test's data lives. Several Database objects opened on one target act as replicas.
struct Target {
  std::string backend;  // "sqlite" | "postgres"
  std::string sqlite_path;
  PgOptions pg;
};

inline std::unique_ptr<Database> open(const Target& t, metrics::Registry& registry, int pool = 4) {
  if (t.backend == "postgres") {
    auto o = t.pg;
    o.max_pool = pool;
    o.min_pool = 1;
    return std::make_unique<PgDatabase>(o, registry, log::Logger{});
  }
  SqliteOptions o;
  o.path = t.sqlite_path;
  o.pool_size = pool;
  return std::make_unique<SqliteDatabase>(o, registry);
}

/// A database on `backend` migrated to `schema` (the platform's versions unless told), removed
/// when the object goes.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& backend, const std::vector<Migration>& schema = platform_migrations(), int pool = 4) {
    target_.backend = backend;
    target_.sqlite_path = (dir_.path() / "nsl.db").string();
    if (backend == "postgres") {
      if (!pg_url()) return;
      target_.pg = parse_pg_connection_string(std::string(pg_url()) + "?search_path=" + random_schema());
    }
    db_ = open(target_, registry_, pool);
    db_->with_connection_blocking([&](Connection& c) { migrate(c, schema); });
  }
  ~TestDatabase() {
    if (db_ && target_.backend == "postgres") {
      db_->with_connection_blocking([&](Connection& c) { c.exec_script("DROP SCHEMA " + target_.pg.search_path + " CASCADE"); });
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  /// False for PostgreSQL when NSL_TEST_PG_URL is not set: the test should skip.
  bool available() const { return db_ != nullptr; }
  Database& operator*() { return *db_; }
  Database* operator->() { return db_.get(); }
  const Target& target() const { return target_; }
  metrics::Registry& registry() { return registry_; }

 private:
  nsl::testing::TempDir dir_{"db"};
  metrics::Registry registry_;
  Target target_;
  std::unique_ptr<Database> db_;
};

}  // namespace nsl::db::testing
