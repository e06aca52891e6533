#include "nsl/db/migrations.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "nsl/core/testing/temp_dir.hpp"
#include "nsl/db/sqlite_database.hpp"

namespace nsl::db {
namespace {

class MigrationsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Connection> open(const std::string& name) { return SqliteDatabase::open({(dir_ / name).string(), 1, 10000}); }
  // The schema as SQLite stores it (tables, indexes, their SQL), minus the history table.
  static std::vector<std::vector<Value>> schema(Connection& c) {
    return c
        .query(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY type, name")
        .rows;
  }
  nsl::testing::TempDir dir_{"migrations"};
};

TEST_F(MigrationsTest, HistoriesAreComposedInVersionOrderAndAVersionClaimedTwiceIsRefused) {
  const auto sql = [](const char* text) {
    return std::map<Dialect, std::string>{{Dialect::sqlite, text}, {Dialect::postgres, text}};
  };
  const auto all = compose_migrations({platform_migrations(), {{2, "two", sql("SELECT 2")}, {9, "nine", sql("SELECT 9")}}});
  std::vector<int> versions;
  for (const auto& m : all) versions.push_back(m.version);
  EXPECT_EQ(versions, (std::vector<int>{1, 2, 3, 7, 9}));
  EXPECT_THROW(compose_migrations({platform_migrations(), {{3, "three again", sql("SELECT 3")}}}), std::logic_error);
  EXPECT_THROW(compose_migrations({{{5, "sqlite only", {{Dialect::sqlite, "SELECT 5"}}}}}), std::logic_error);
}

TEST_F(MigrationsTest, AVersionAddedBelowTheNewestAppliedIsAppliedToo) {
  // A module added later may bring a version older than one a database has already applied.
  const auto sql = [](const char* text) {
    return std::map<Dialect, std::string>{{Dialect::sqlite, text}, {Dialect::postgres, text}};
  };
  auto c = open("late.db");
  migrate(*c, platform_migrations());
  const auto later = compose_migrations({platform_migrations(), {{2, "late module", sql("CREATE TABLE late (x INTEGER)")}}});
  const auto status = migration_status(*c, later);
  EXPECT_EQ(status.current, 7);
  EXPECT_EQ(status.pending, std::vector<int>{2});
  EXPECT_EQ(migrate(*c, later), std::vector<int>{2});
  EXPECT_TRUE(migration_status(*c, later).pending.empty());
  EXPECT_EQ(c->query("SELECT count(*) FROM late").get<std::int64_t>(0, 0), 0);
}

TEST_F(MigrationsTest, FromEmptyCreatesTheGuideSchema) {
  auto c = open("empty.db");
  const auto applied = migrate(*c, platform_migrations());
  EXPECT_EQ(applied.size(), platform_migrations().size());
  const auto status = migration_status(*c, platform_migrations());
  EXPECT_EQ(status.current, platform_migrations().back().version);
  EXPECT_TRUE(status.pending.empty());
  // The guide's tables with their columns (§9.1.2; the Storage service adds deleted_at and
  // shared_with in versions of its own).
  auto columns = [&](const char* table) {
    std::vector<std::string> out;
    for (const auto& row : c->query(std::string("SELECT name FROM pragma_table_info('") + table + "')").rows)
      out.push_back(std::get<std::string>(row[0]));
    return out;
  };
  EXPECT_EQ(columns("storage_data"),
            (std::vector<std::string>{"id", "user_address", "key", "value", "encrypted", "access_level", "size_bytes",
                                      "created_at", "updated_at", "accessed_count", "last_accessed", "expires_at", "metadata"}));
  EXPECT_EQ(columns("oracle_requests"),
            (std::vector<std::string>{"id", "request_id", "user_address", "url", "json_path", "callback_contract", "status",
                                      "result", "error", "gas_used", "created_at", "completed_at", "metadata"}));
  EXPECT_EQ(columns("audit_logs"),
            (std::vector<std::string>{"id", "event_type", "user_address", "service_name", "method_name", "request_id",
                                      "correlation_id", "ip_address", "user_agent", "request_data", "response_data",
                                      "status_code", "error_message", "execution_time_ms", "created_at"}));
  // Constraints of the guide hold: unique (user_address, key), JSON values only.
  c->query("INSERT INTO storage_data (id, user_address, key, value, size_bytes) VALUES ('1', 'NA', 'k', '{\"a\":1}', 7)");
  EXPECT_THROW(c->query("INSERT INTO storage_data (id, user_address, key, value, size_bytes) VALUES ('2', 'NA', 'k', '1', 1)"),
               DatabaseError);
  EXPECT_THROW(
      c->query("INSERT INTO storage_data (id, user_address, key, value, size_bytes) VALUES ('3', 'NA', 'k2', 'not json', 8)"),
      DatabaseError);
  // Defaults of the guide.
  const auto row = c->query("SELECT encrypted, access_level, accessed_count, created_at FROM storage_data WHERE id = '1'");
  EXPECT_EQ(row.get<std::int64_t>(0, 0), 0);
  EXPECT_EQ(row.get<std::string>(0, 1), "private");
  EXPECT_EQ(row.get<std::int64_t>(0, 2), 0);
  EXPECT_EQ(row.get<std::string>(0, 3).size(), 24u);  // 2026-11-29T01:02:03.456Z
}

TEST_F(MigrationsTest, FromEachEarlierVersionReachesTheSameSchemaAndKeepsData) {
  auto fresh = open("fresh.db");
  migrate(*fresh, platform_migrations());
  const auto expected = schema(*fresh);
  for (const auto& start : platform_migrations()) {
    SCOPED_TRACE("starting at version " + std::to_string(start.version));
    auto c = open("from-" + std::to_string(start.version) + ".db");
    const auto done = migrate(*c, platform_migrations(), start.version);
    EXPECT_EQ(done.back(), start.version);
    EXPECT_EQ(migration_status(*c, platform_migrations()).current, start.version);
    c->query("INSERT INTO storage_data (id, user_address, key, value, size_bytes) VALUES ('keep', 'NA', 'k', '[1]', 3)");
    migrate(*c, platform_migrations());
    EXPECT_EQ(migration_status(*c, platform_migrations()).current, platform_migrations().back().version);
    EXPECT_EQ(schema(*c), expected);
    EXPECT_EQ(c->query("SELECT value FROM storage_data WHERE id = 'keep'").get<std::string>(0, 0), "[1]");
  }
}

TEST_F(MigrationsTest, RunningAgainAppliesNothing) {
  auto c = open("again.db");
  migrate(*c, platform_migrations());
  EXPECT_TRUE(migrate(*c, platform_migrations()).empty());
}

TEST_F(MigrationsTest, FailedMigrationRollsBackEntirely) {
  auto all = platform_migrations();
  all.push_back({all.back().version + 1,
                 "broken",
                 {{Dialect::sqlite, "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);"}}});
  auto c = open("broken.db");
  EXPECT_THROW(migrate(*c, all), DatabaseError);
  const auto status = migration_status(*c, all);
  EXPECT_EQ(status.current, platform_migrations().back().version);  // the good ones stayed
  EXPECT_TRUE(c->query("SELECT name FROM sqlite_master WHERE name = 'half_done'").empty());
}

TEST_F(MigrationsTest, AnEditedAppliedMigrationIsRefused) {
  auto c = open("edited.db");
  migrate(*c, platform_migrations());
  auto all = platform_migrations();
  all[0].sql[Dialect::sqlite] += "\n-- edited";
  try {
    migration_status(*c, all);
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_NE(std::string(e.what()).find("migration 1 was changed"), std::string::npos);
  }
}

TEST_F(MigrationsTest, ADatabaseNewerThanTheBuildIsRefused) {
  auto c = open("newer.db");
  migrate(*c, platform_migrations());
  c->query("INSERT INTO schema_migrations VALUES (999, 'future', 'x', '2030-01-01T00:00:00.000Z')");
  try {
    migration_status(*c, platform_migrations());
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_NE(std::string(e.what()).find("version 999"), std::string::npos);
  }
}

TEST_F(MigrationsTest, ProcessesMigratingAtOnceApplyEachVersionOnce) {
  const auto path = (dir_ / "race.db").string();
  std::vector<std::thread> threads;
  std::atomic<int> total{0};
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        auto c = SqliteDatabase::open({path, 1, 20000});
        total += static_cast<int>(migrate(*c, platform_migrations()).size());
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(total.load(), static_cast<int>(platform_migrations().size()));
  auto c = open("race.db");
  EXPECT_EQ(c->query("SELECT count(*) FROM schema_migrations").get<std::int64_t>(0, 0),
            static_cast<std::int64_t>(platform_migrations().size()));
}

}  // namespace
}  // namespace nsl::db
