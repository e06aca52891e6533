#include "nsl/db/sqlite_database.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "nsl/core/testing/run_sync.hpp"
#include "nsl/core/testing/temp_dir.hpp"

namespace nsl::db {
namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.path = (dir_.path() / "sub" / "nsl.db").string();  // the directory is created on open
    options_.pool_size = 3;
  }

  nsl::testing::TempDir dir_{"sqlite"};
  SqliteOptions options_;
  metrics::Registry registry_;
};

TEST_F(SqliteTest, OpensInWalModeWithFullSync) {
  auto c = SqliteDatabase::open(options_);
  EXPECT_EQ(c->query("PRAGMA journal_mode").get<std::string>(0, 0), "wal");
  EXPECT_EQ(c->query("PRAGMA synchronous").get<std::int64_t>(0, 0), 2);  // FULL
  EXPECT_EQ(c->query("PRAGMA foreign_keys").get<std::int64_t>(0, 0), 1);
}

TEST_F(SqliteTest, BindsAndReadsEveryValueType) {
  auto c = SqliteDatabase::open(options_);
  c->exec_script("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)");
  const std::string binary("\x00\x01\xff", 3);
  auto ins = c->query("INSERT INTO t VALUES ($1, $2, $3, $4, $5)",
                      {std::int64_t{-42}, 2.5, std::string("h\xC3\xA9"), Blob{binary}, nullptr});
  EXPECT_EQ(ins.affected, 1);
  auto r = c->query("SELECT i, r, s, b, n FROM t WHERE i = $1", {std::int64_t{-42}});
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.columns, (std::vector<std::string>{"i", "r", "s", "b", "n"}));
  EXPECT_EQ(r.get<std::int64_t>(0, 0), -42);
  EXPECT_DOUBLE_EQ(r.get<double>(0, 1), 2.5);
  EXPECT_EQ(r.get<std::string>(0, 2), "h\xC3\xA9");
  EXPECT_EQ(r.get<Blob>(0, 3).bytes, binary);
  EXPECT_FALSE(r.get_optional<std::string>(0, 4));
  EXPECT_THROW(r.get<std::string>(0, 0), DatabaseError);
}

TEST_F(SqliteTest, PlaceholdersMayRepeatAndComeOutOfOrder) {
  auto c = SqliteDatabase::open(options_);
  auto r = c->query("SELECT $2 || '-' || $1 || '-' || $2", {std::string("a"), std::string("b")});
  EXPECT_EQ(r.get<std::string>(0, 0), "b-a-b");
}

TEST_F(SqliteTest, ConstraintViolationsAreTyped) {
  auto c = SqliteDatabase::open(options_);
  c->exec_script("CREATE TABLE u (k TEXT PRIMARY KEY, v INTEGER NOT NULL CHECK (v > 0))");
  c->query("INSERT INTO u VALUES ('a', 1)");
  try {
    c->query("INSERT INTO u VALUES ('a', 2)");
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), DatabaseError::Kind::unique_violation);
  }
  try {
    c->query("INSERT INTO u VALUES ('b', -1)");
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), DatabaseError::Kind::constraint);
  }
  // A failed statement leaves the cached statement usable.
  EXPECT_EQ(c->query("SELECT count(*) FROM u").get<std::int64_t>(0, 0), 1);
}

TEST_F(SqliteTest, TransactionsCommitOrRollBack) {
  SqliteDatabase db(options_, registry_);
  db.with_connection_blocking([](Connection& c) { c.exec_script("CREATE TABLE t (v INTEGER)"); });
  nsl::testing::run_sync([&]() -> asio::awaitable<int> {
    co_await db.transaction([](Connection& c) { c.query("INSERT INTO t VALUES (1)"); });
    try {
      co_await db.transaction([](Connection& c) {
        c.query("INSERT INTO t VALUES (2)");
        throw std::runtime_error("abort");
      });
    } catch (const std::runtime_error&) {}
    co_return 0;
  }());
  const auto n = nsl::testing::run_sync(
      db.run([](Connection& c) { return c.query("SELECT group_concat(v) FROM t").get<std::string>(0, 0); }));
  EXPECT_EQ(n, "1");
}

TEST_F(SqliteTest, WorkRunsOnTheDbPoolNotTheCaller) {
  SqliteDatabase db(options_, registry_);
  const auto caller = std::this_thread::get_id();
  const auto worker = nsl::testing::run_sync(db.run([](Connection&) { return std::this_thread::get_id(); }));
  EXPECT_NE(worker, caller);
  const auto text = registry_.render();
  EXPECT_NE(text.find("nsl_threadpool_tasks_total{pool=\"db\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("nsl_threadpool_queue_depth{pool=\"db\"} 0"), std::string::npos) << text;
}

TEST_F(SqliteTest, ConcurrentWritersAllCommit) {
  SqliteDatabase db(options_, registry_);
  db.with_connection_blocking([](Connection& c) { c.exec_script("CREATE TABLE t (v INTEGER)"); });
  asio::io_context ioc;
  int done = 0;
  for (int i = 0; i < 60; ++i) {
    asio::co_spawn(ioc, db.transaction([i](Connection& c) { c.query("INSERT INTO t VALUES ($1)", {std::int64_t{i}}); }),
                   [&](std::exception_ptr e) {
                     EXPECT_FALSE(e);
                     ++done;
                   });
  }
  ioc.run();
  EXPECT_EQ(done, 60);
  db.with_connection_blocking(
      [](Connection& c) { EXPECT_EQ(c.query("SELECT count(*), sum(v) FROM t").get<std::int64_t>(0, 1), 60 * 59 / 2); });
}

TEST_F(SqliteTest, UnopenablePathFailsClearly) {
  options_.path = "/proc/nsl-cannot-create/x.db";
  try {
    SqliteDatabase::open(options_);
    FAIL();
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), DatabaseError::Kind::unavailable);
    EXPECT_NE(std::string(e.what()).find("/proc/nsl-cannot-create"), std::string::npos);
  }
}

}  // namespace
}  // namespace nsl::db
