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

TEST_F(MigrationsTest, VersionsAreContiguousAndHaveSqliteSql) {
  int expected = 1;
  for (const auto& m : migrations()) {
    EXPECT_EQ(m.version, expected++);
    EXPECT_TRUE(m.sql.count(Dialect::sqlite)) << m.version;
    EXPECT_FALSE(m.name.empty());
  }
}

// Databases in the field recorded these checksums when they applied each version: a change to
// the SQL of an applied migration (or to how its parts are put together) makes every such database
// refuse to start. New versions are added here when they are released.
TEST_F(MigrationsTest, AppliedMigrationsKeepTheirChecksums) {
  struct Pinned {
    int version;
    const char* sqlite;
    const char* postgres;
  };
  const Pinned pinned[] = {
      {1, "6274779b2bef7683f9cac2a69a22d7f283040a1a604e8cd107797e08deec6a33",
       "800e5b8cb45477879652665c928dbda2accdf8fcd9893cfa2def38310e5221e5"},
      {2, "ddef3f7e90d9d82cd060d8ddacc0516b800b848a3106f3df64841e97ea2bb0ef",
       "5a566c9dcba75f57bce952a0ebd40484f08f57bc5d1474dc6e4aa6d16d44cd11"},
      {3, "c239ada83e781909c924f2fd41b2f189270775d9d8ef5f21eb6fdee8ad2e8672",
       "df5ac2a363c2e18eed61008638e33c9a8ecaede80e052a23950da9df2a5f1bc0"},
      {4, "522eb426f73a9cfca51df97ee9c678fe150b48e6cb9ce0e481bd7da297f8f37d",
       "8a06e0804ca4bc735d47224d1f2155b1950f190a7d803b2bfdadf4806b69e72b"},
      {5, "30a1f847e7fb53a5ca9d08cb2237358ad33c7fa180769f280caa7ac87710fc75",
       "312b3050a5f1a8126243332025dfdb643fb5f3957dcd3a7ddd0e030c5fbb76e4"},
      {6, "99a1d1bd5532aab80db31dd654ce2a16f2de217d6e0965211b681d82d2f82021",
       "3b506e1d336e32aa72a7070fb9f5305b57702a66cc252670367276d8707fa7d2"},
      {7, "14a14aa3fc0f5e85ff05eeb1e01e87c3467b27bbab1d87ddcb45edb88f4820e3",
       "9a4b475c98565caa3403801b3ce322902f172733d9d383af1ad18e97d7726a41"},
      {8, "bb16c918689157a5de7454cdfa62dcb17437de375205a00d993526ea7a3eea3c",
       "b9193cb2b38f77735cb394a2aace4e90afb2232e51631d40c8691974229c052c"},
      {9, "69fbeeeff3069f860d159cf1a6703c7da94b5d37c7e9b78571c711c654ac1d34",
       "69fbeeeff3069f860d159cf1a6703c7da94b5d37c7e9b78571c711c654ac1d34"},
      {10, "38c659618c260f102e1e704c9461526e4ba7af60fbdae2dcc961a39bdece43de",
       "11744d162b0e94a69186e0bc63a6825a9b97b72c79e273b36010771ae705a970"},
  };
  const auto& all = migrations();
  ASSERT_GE(all.size(), std::size(pinned));
  for (const auto& p : pinned) {
    const auto& m = all.at(static_cast<std::size_t>(p.version - 1));
    ASSERT_EQ(m.version, p.version);
    EXPECT_EQ(migration_checksum(m, Dialect::sqlite), p.sqlite) << "version " << p.version;
    EXPECT_EQ(migration_checksum(m, Dialect::postgres), p.postgres) << "version " << p.version;
  }
}

TEST_F(MigrationsTest, FromEmptyCreatesTheGuideSchema) {
  auto c = open("empty.db");
  const auto applied = migrate(*c);
  EXPECT_EQ(applied.size(), migrations().size());
  const auto status = migration_status(*c);
  EXPECT_EQ(status.current, migrations().back().version);
  EXPECT_TRUE(status.pending.empty());
  // The guide's tables with their columns (§9.1.2, plus deleted_at from §13.2.2/§17.2).
  auto columns = [&](const char* table) {
    std::vector<std::string> out;
    for (const auto& row : c->query(std::string("SELECT name FROM pragma_table_info('") + table + "')").rows)
      out.push_back(std::get<std::string>(row[0]));
    return out;
  };
  EXPECT_EQ(columns("storage_data"),
            (std::vector<std::string>{"id", "user_address", "key", "value", "encrypted", "access_level", "size_bytes",
                                      "created_at", "updated_at", "accessed_count", "last_accessed", "expires_at", "metadata",
                                      "deleted_at", "shared_with"}));
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
  migrate(*fresh);
  const auto expected = schema(*fresh);
  for (const auto& start : migrations()) {
    SCOPED_TRACE("starting at version " + std::to_string(start.version));
    auto c = open("from-" + std::to_string(start.version) + ".db");
    EXPECT_EQ(migrate(*c, start.version).size(), static_cast<std::size_t>(start.version));
    EXPECT_EQ(migration_status(*c).current, start.version);
    c->query("INSERT INTO storage_data (id, user_address, key, value, size_bytes) VALUES ('keep', 'NA', 'k', '[1]', 3)");
    migrate(*c);
    EXPECT_EQ(migration_status(*c).current, migrations().back().version);
    EXPECT_EQ(schema(*c), expected);
    EXPECT_EQ(c->query("SELECT value FROM storage_data WHERE id = 'keep'").get<std::string>(0, 0), "[1]");
  }
}

TEST_F(MigrationsTest, RunningAgainAppliesNothing) {
  auto c = open("again.db");
  migrate(*c);
  EXPECT_TRUE(migrate(*c).empty());
}

TEST_F(MigrationsTest, FailedMigrationRollsBackEntirely) {
  auto all = migrations();
  all.push_back({static_cast<int>(all.size()) + 1,
                 "broken",
                 {{Dialect::sqlite, "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);"}}});
  auto c = open("broken.db");
  EXPECT_THROW(migrate(*c, std::nullopt, {}, all), DatabaseError);
  const auto status = migration_status(*c, all);
  EXPECT_EQ(status.current, migrations().back().version);  // the good ones stayed
  EXPECT_TRUE(c->query("SELECT name FROM sqlite_master WHERE name = 'half_done'").empty());
}

TEST_F(MigrationsTest, AnEditedAppliedMigrationIsRefused) {
  auto c = open("edited.db");
  migrate(*c);
  auto all = migrations();
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
  migrate(*c);
  c->query("INSERT INTO schema_migrations VALUES (999, 'future', 'x', '2030-01-01T00:00:00.000Z')");
  try {
    migration_status(*c);
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
        total += static_cast<int>(migrate(*c).size());
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(total.load(), static_cast<int>(migrations().size()));
  auto c = open("race.db");
  EXPECT_EQ(c->query("SELECT count(*) FROM schema_migrations").get<std::int64_t>(0, 0),
            static_cast<std::int64_t>(migrations().size()));
}

}  // namespace
}  // namespace nsl::db
