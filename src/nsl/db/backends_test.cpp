// The database contract, run on every backend: SQLite always, PostgreSQL when NSL_TEST_PG_URL
// names a server (scripts/test.sh starts one). Each PostgreSQL test works in its own schema.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "nsl/core/testing/child_process.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/core/testing/temp_dir.hpp"
#include "nsl/db/jobs.hpp"
#include "nsl/db/maintenance.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/db/postgres.hpp"
#include "nsl/db/sqlite_database.hpp"
#include "nsl/db/testing/backend.hpp"

namespace nsl::db {
namespace {

using namespace std::chrono_literals;
using nsl::testing::run_sync;

using testing::open;
using testing::pg_url;
using testing::random_schema;
using testing::Target;

// The platform's versions and a table of the tests' own, with a unique and a check constraint.
const std::vector<Migration>& test_schema() {
  static const auto all = [] {
    const std::string people =
        "CREATE TABLE people (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, "
        "role TEXT NOT NULL CHECK (role IN ('admin', 'user')), disabled INTEGER NOT NULL DEFAULT 0);";
    return compose_migrations(
        {platform_migrations(), {{100, "tests: people", {{Dialect::sqlite, people}, {Dialect::postgres, people}}}}});
  }();
  return all;
}

class Backend : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    target_.backend = GetParam();
    if (target_.backend == "postgres") {
      if (!pg_url()) GTEST_SKIP() << "NSL_TEST_PG_URL is not set (scripts/test.sh starts a PostgreSQL server)";
      target_.pg = parse_pg_connection_string(std::string(pg_url()) + "?search_path=" + random_schema());
    }
    target_.sqlite_path = (dir_.path() / "nsl.db").string();
    db_ = open(target_, registry_);
    db_->with_connection_blocking([](Connection& c) { migrate(c, test_schema()); });
  }
  void TearDown() override {
    if (db_ && target_.backend == "postgres") {
      db_->with_connection_blocking([&](Connection& c) { c.exec_script("DROP SCHEMA " + target_.pg.search_path + " CASCADE"); });
    }
    db_.reset();
  }
  bool postgres() const { return target_.backend == "postgres"; }
  template <class F>
  auto sync(F f) {
    return db_->with_connection_blocking(f);
  }

  nsl::testing::TempDir dir_{"backend"};
  metrics::Registry registry_;
  Target target_;
  std::unique_ptr<Database> db_;
};

TEST_P(Backend, ReadsBackEveryValueTypeTheSameWay) {
  const std::string binary("\x00\x01\xff\x7f", 4);
  const auto now = utc_now_text();
  db_->with_connection_blocking([&](Connection& c) {
    c.exec_script(postgres() ? "CREATE TABLE vt (i BIGINT, r DOUBLE PRECISION, s TEXT, b BYTEA, n TEXT, t TIMESTAMPTZ, "
                               "f BOOLEAN, j JSONB, small INTEGER)"
                             : "CREATE TABLE vt (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT, t TEXT, f INTEGER, j TEXT, "
                               "small INTEGER)");
    const auto ins = c.query("INSERT INTO vt VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                             {std::int64_t{-9007199254740993}, 2.5, std::string("h\xC3\xA9 'q' \\"), Blob{binary}, nullptr, now,
                              std::int64_t{1}, std::string(R"({"b":[1,2],"a":"x"})"), std::int64_t{7}});
    EXPECT_EQ(ins.affected, 1);
    const auto r = c.query("SELECT i, r, s, b, n, t, f, j, small, t < $1 FROM vt", {utc_now_text(1h)});
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.get<std::int64_t>(0, 0), -9007199254740993);
    EXPECT_DOUBLE_EQ(r.get<double>(0, 1), 2.5);
    EXPECT_EQ(r.get<std::string>(0, 2), "h\xC3\xA9 'q' \\");
    EXPECT_EQ(r.get<Blob>(0, 3).bytes, binary);
    EXPECT_FALSE(r.get_optional<std::string>(0, 4));
    EXPECT_EQ(r.get<std::string>(0, 5), now);  // RFC 3339 with milliseconds on both
    EXPECT_TRUE(r.get<bool>(0, 6));
    EXPECT_EQ(nlohmann::json::parse(r.get<std::string>(0, 7)), nlohmann::json::parse(R"({"a":"x","b":[1,2]})"));
    EXPECT_EQ(r.get<std::int64_t>(0, 8), 7);
    EXPECT_TRUE(r.get<bool>(0, 9));
  });
}

TEST_P(Backend, InsertRowsStoresEveryValueAsQueryWouldAndAllOrNothing) {
  const std::string binary("\x00\\x\t\n\xff", 6);
  // Text that COPY's format treats specially: its delimiters, its escapes and its NULL marker.
  const std::string tricky = "tab\there\\back\\N \\n\nline\rcr \xC3\xA9 'q' \"quote\" end\\";
  const std::vector<std::string> columns{"id", "i", "r", "s", "b", "t"};
  std::vector<std::vector<Value>> rows;
  for (std::int64_t k = 0; k < 3000; ++k) {  // several COPY chunks
    rows.push_back({k, -9007199254740993 + k, 0.1 * static_cast<double>(k), tricky + std::to_string(k), Blob{binary},
                    k % 2 ? Value(nullptr) : Value(std::string("\\N"))});
  }
  db_->with_connection_blocking([&](Connection& c) {
    c.exec_script(postgres()
                      ? "CREATE TABLE ir (id BIGINT PRIMARY KEY, i BIGINT NOT NULL, r DOUBLE PRECISION, s TEXT, b BYTEA, t TEXT)"
                      : "CREATE TABLE ir (id INTEGER PRIMARY KEY, i INTEGER NOT NULL, r REAL, s TEXT, b BLOB, t TEXT)");
    c.insert_rows("ir", columns, rows);
    const auto r = c.query("SELECT id, i, r, s, b, t FROM ir ORDER BY id");
    ASSERT_EQ(r.rows.size(), rows.size());
    for (std::size_t k = 0; k < rows.size(); k += 7) {
      EXPECT_EQ(r.get<std::int64_t>(k, 1), std::get<std::int64_t>(rows[k][1]));
      EXPECT_EQ(r.get<double>(k, 2), std::get<double>(rows[k][2]));  // exactly: written with 17 digits
      EXPECT_EQ(r.get<std::string>(k, 3), std::get<std::string>(rows[k][3]));
      EXPECT_EQ(r.get<Blob>(k, 4).bytes, binary);
      EXPECT_EQ(r.get_optional<std::string>(k, 5), k % 2 ? std::nullopt : std::optional<std::string>("\\N"));
    }
    // One refused row (a duplicate id, a NULL where none may be) stores none of its batch.
    for (const auto& bad : {Value(std::int64_t{5}), Value(nullptr)}) {
      std::vector<std::vector<Value>> more{{std::int64_t{10'000}, std::int64_t{1}, nullptr, nullptr, nullptr, nullptr},
                                           {std::int64_t{10'001}, std::int64_t{1}, nullptr, nullptr, nullptr, nullptr}};
      (bad.index() == 0 ? more[1][1] : more[1][0]) = bad;
      EXPECT_THROW(c.insert_rows("ir", columns, more), DatabaseError);
      EXPECT_EQ(c.query("SELECT count(*) FROM ir").get<std::int64_t>(0, 0), 3000);
    }
    EXPECT_THROW(c.insert_rows("ir", columns, {{std::int64_t{1}}}), std::invalid_argument);
    c.insert_rows("ir", columns, {});
    // Inside an open transaction the rows are part of it.
    c.begin_write();
    c.insert_rows("ir", columns, {{std::int64_t{20'000}, std::int64_t{2}, 1.5, std::string("x"), nullptr, nullptr}});
    c.rollback();
    EXPECT_EQ(c.query("SELECT count(*) FROM ir").get<std::int64_t>(0, 0), 3000);
    // And the connection is still usable after all that.
    c.insert_rows("ir", columns, {{std::int64_t{20'001}, std::int64_t{2}, 1.5, std::string("x"), nullptr, nullptr}});
    EXPECT_EQ(c.query("SELECT count(*) FROM ir").get<std::int64_t>(0, 0), 3001);
  });
}

TEST_P(Backend, ViolationsAreTypedAndLeaveTheConnectionUsable) {
  sync([&](Connection& c) {
    c.query("INSERT INTO people (id, name, kind, role) VALUES ('a1', 'alice', 'name', 'user')");
    try {
      c.query("INSERT INTO people (id, name, kind, role) VALUES ('a2', 'alice', 'name', 'user')");
      ADD_FAILURE() << "duplicate name accepted";
    } catch (const DatabaseError& e) {
      EXPECT_EQ(e.kind(), DatabaseError::Kind::unique_violation) << e.what();
      EXPECT_FALSE(e.transient());
    }
    try {
      c.query("INSERT INTO people (id, name, kind, role) VALUES ('a3', 'bob', 'name', 'emperor')");
      ADD_FAILURE() << "bad role accepted";
    } catch (const DatabaseError& e) {
      EXPECT_EQ(e.kind(), DatabaseError::Kind::constraint) << e.what();
    }
    EXPECT_EQ(c.query("SELECT count(*) FROM people").get<std::int64_t>(0, 0), 1);
  });
}

TEST_P(Backend, TransactionsCommitWholeOrNothing) {
  EXPECT_THROW(run_sync(db_->transaction([](Connection& c) {
                 c.query("INSERT INTO people (id, name, kind, role) VALUES ('x1', 'x1', 'name', 'user')");
                 throw std::runtime_error("changed my mind");
               })),
               std::runtime_error);
  run_sync(db_->transaction([](Connection& c) {
    c.query("INSERT INTO people (id, name, kind, role) VALUES ('y1', 'y1', 'name', 'user')");
    c.query("INSERT INTO people (id, name, kind, role) VALUES ('y2', 'y2', 'name', 'user')");
  }));
  const auto names = run_sync(db_->run([](Connection& c) { return c.query("SELECT name FROM people ORDER BY name"); }));
  ASSERT_EQ(names.rows.size(), 2u);
  EXPECT_EQ(names.get<std::string>(0, 0), "y1");
}

TEST_P(Backend, ExecuteAllRunsEveryStatementOrNoneAndNamesTheFailure) {
  const std::string insert = "INSERT INTO people (id, name, kind, role) VALUES ($1, $2, 'name', 'user')";
  std::vector<Statement> good;
  for (int i = 0; i < 50; ++i) good.push_back({insert, {"e" + std::to_string(i), "e" + std::to_string(i)}});
  sync([&](Connection& c) { c.execute_all(good); });
  // The 30th collides with a name written above: nothing of this lot stays.
  std::vector<Statement> bad;
  for (int i = 0; i < 40; ++i) bad.push_back({insert, {"f" + std::to_string(i), "f" + std::to_string(i)}});
  bad[29].params[1] = std::string("e7");
  try {
    sync([&](Connection& c) { c.execute_all(bad); });
    ADD_FAILURE() << "a duplicate name was accepted";
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), DatabaseError::Kind::unique_violation) << e.what();
  }
  const auto count = [&](const char* like) {
    return run_sync(db_->run([&](Connection& c) {
             return c.query("SELECT count(*) FROM people WHERE name LIKE $1", {std::string(like)});
           }))
        .get<std::int64_t>(0, 0);
  };
  EXPECT_EQ(count("e%"), 50);
  EXPECT_EQ(count("f%"), 0);
  // The connection is usable afterwards, inside and outside a transaction of its own.
  sync([&](Connection& c) { c.execute_all({{insert, {std::string("g1"), std::string("g1")}}}); });
  EXPECT_EQ(count("g%"), 1);
}

TEST_P(Backend, GroupCommitAcknowledgesEachWriteAfterItsCommitAndFailsOnlyTheBadOne) {
  constexpr int kWrites = 300;
  asio::io_context ioc;
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < kWrites; ++i) {
    asio::co_spawn(
        ioc,
        [&, i]() -> asio::awaitable<void> {
          // Write 150 repeats the name of write 50: it must fail alone.
          const std::string name = "acct-" + std::to_string(i == 150 ? 50 : i);
          const Statement s{"INSERT INTO people (id, name, kind, role) VALUES ($1, $2, 'name', 'user')",
                            {"id-" + std::to_string(i), name}};
          try {
            const auto r = co_await db_->write(s);
            if (r.affected == 1) ++ok;
          } catch (const DatabaseError& e) {
            EXPECT_EQ(e.kind(), DatabaseError::Kind::unique_violation);
            ++failed;
          }
        },
        asio::detached);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kWrites - 1);
  EXPECT_EQ(failed.load(), 1);
  const auto count = run_sync(db_->run([](Connection& c) { return c.query("SELECT count(*) FROM people"); }));
  EXPECT_EQ(count.get<std::int64_t>(0, 0), kWrites - 1);
}

// Writes of one RowShape share multi-row INSERTs on PostgreSQL; each still gets its own row back,
// two writes of one key never share a statement, and a failing write fails alone.
TEST_P(Backend, WritesOfOneShapeShareStatementsAndEachGetsItsOwnRow) {
  sync([&](Connection& c) {
    c.exec_script(
        "CREATE TABLE rows_t (k TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n < 1000), v TEXT, n2 INTEGER);"
        "CREATE TABLE statements_t (n INTEGER NOT NULL);"
        "INSERT INTO statements_t VALUES (0);");
    if (postgres()) {
      c.exec_script(
          "CREATE FUNCTION count_statement() RETURNS trigger LANGUAGE plpgsql AS "
          "$$ BEGIN UPDATE statements_t SET n = n + 1; RETURN NULL; END $$;"
          "CREATE TRIGGER rows_t_statements AFTER INSERT ON rows_t FOR EACH STATEMENT EXECUTE FUNCTION count_statement();");
    }
  });
  // $2 twice: placeholders are renumbered per row, every occurrence of them.
  const auto add = std::make_shared<const RowShape>(
      RowShape{"INSERT INTO rows_t (k, n, v, n2) VALUES ",
               "($1, $2, $3, $2)",
               " ON CONFLICT (k) DO UPDATE SET n = rows_t.n + excluded.n, v = excluded.v, n2 = rows_t.n2 + excluded.n2 "
               "RETURNING k, n, v, n2",
               {0}});
  const auto keep = std::make_shared<const RowShape>(RowShape{
      "INSERT INTO rows_t (k, n, v, n2) VALUES ", "($1, $2, $3, $2)", " ON CONFLICT (k) DO NOTHING RETURNING k, n", {0}});
  const auto statements = [&] {
    return run_sync(db_->run([](Connection& c) { return c.query("SELECT n FROM statements_t"); })).get<std::int64_t>(0, 0);
  };

  // 64 rows in one transaction: one statement on PostgreSQL.
  std::vector<Statement> first;
  for (int i = 0; i < 64; ++i) {
    first.push_back(Statement::insert_row(add, {"k" + std::to_string(i), std::int64_t{1}, "v" + std::to_string(i)}));
  }
  sync([&](Connection& c) { c.execute_all(first); });
  if (postgres()) {
    EXPECT_EQ(statements(), 1);
  }
  // A caller's list runs in its order: neighbours of one shape share statements, up to a key
  // written again. Three times {k5, k7}, then k5 seven times (the last with o1), all of them apply.
  std::vector<Statement> repeats;
  for (int i = 0; i < 3; ++i) {
    repeats.push_back(Statement::insert_row(add, {std::string("k5"), std::int64_t{1}, std::string("r")}));
    repeats.push_back(Statement::insert_row(add, {std::string("k7"), std::int64_t{2}, std::string("r")}));
  }
  for (int i = 0; i < 7; ++i)
    repeats.push_back(Statement::insert_row(add, {std::string("k5"), std::int64_t{1}, std::string("r")}));
  // Another statement between two rows sees the first and not the second.
  repeats.push_back(Statement::insert_row(add, {std::string("o1"), std::int64_t{1}, std::string("first")}));
  repeats.push_back({"UPDATE rows_t SET v = (SELECT count(*) FROM rows_t WHERE k LIKE 'o%') || ' then' WHERE k = 'o1'", {}});
  repeats.push_back(Statement::insert_row(add, {std::string("o2"), std::int64_t{1}, std::string("second")}));
  sync([&](Connection& c) { c.execute_all(repeats); });
  if (postgres()) {
    EXPECT_EQ(statements(), 1 + 3 + 6 + 1 + 1);  // the UPDATE is not an INSERT
  }
  const auto row = [&](const std::string& k) {
    return run_sync(db_->run([&](Connection& c) { return c.query("SELECT n, n2, v FROM rows_t WHERE k = $1", {k}); }));
  };
  EXPECT_EQ(row("k5").get<std::int64_t>(0, 0), 11);
  EXPECT_EQ(row("k5").get<std::int64_t>(0, 1), 11);
  EXPECT_EQ(row("k7").get<std::int64_t>(0, 0), 7);
  EXPECT_EQ(row("k63").get<std::string>(0, 2), "v63");
  EXPECT_EQ(row("o1").get<std::string>(0, 2), "1 then");
  EXPECT_EQ(row("o2").get<std::string>(0, 2), "second");

  // Concurrent group commits: 100 keys written 3 times each, plus 50 writes that keep existing
  // rows (no row back), plus one the CHECK refuses.
  constexpr int kKeys = 100;
  asio::io_context ioc;
  std::mutex m;
  std::map<std::string, std::vector<std::int64_t>> seen;  // n as each write saw it
  std::atomic<int> kept_empty{0}, refused{0}, other{0};
  for (int i = 0; i < 3 * kKeys + 51; ++i) {
    asio::co_spawn(
        ioc,
        [&, i]() -> asio::awaitable<void> {
          try {
            if (i < 3 * kKeys) {
              const auto k = "c" + std::to_string(i % kKeys);
              const auto s = Statement::insert_row(add, {k, std::int64_t{1}, std::string("x")});
              const auto r = co_await db_->write(s);
              EXPECT_EQ(r.rows.size(), 1u);
              EXPECT_EQ(r.affected, 1);
              EXPECT_EQ(r.get<std::string>(0, 0), k);
              std::lock_guard lock(m);
              seen[k].push_back(r.get<std::int64_t>(0, 1));
            } else if (i < 3 * kKeys + 50) {
              const auto s = Statement::insert_row(keep, {"k" + std::to_string(i % 64), std::int64_t{500}, std::string("no")});
              const auto r = co_await db_->write(s);
              if (r.empty() && r.affected == 0) ++kept_empty;
            } else {
              const auto s = Statement::insert_row(add, {std::string("c1"), std::int64_t{5000}, std::string("y")});
              (void)co_await db_->write(s);
            }
          } catch (const DatabaseError& e) {
            if (e.kind() == DatabaseError::Kind::constraint) {
              ++refused;
            } else {
              ++other;
            }
          }
        },
        asio::detached);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load(), 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(kept_empty.load(), 50);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kKeys));
  for (auto& [k, ns] : seen) {
    std::sort(ns.begin(), ns.end());
    EXPECT_EQ(ns, (std::vector<std::int64_t>{1, 2, 3})) << k;  // each write saw the row as it left it
    EXPECT_EQ(row(k).get<std::int64_t>(0, 0), 3) << k;
  }
  EXPECT_EQ(row("k1").get<std::string>(0, 2), "v1");  // kept
  if (postgres()) {
    // 350 writes succeeded here, each of them a statement of its own unless they shared some.
    const auto n = statements() - 12;
    EXPECT_LT(n, 3 * kKeys + 50) << "no writes shared a statement";
    std::printf("%lld statements for %d writes\n", static_cast<long long>(n), 3 * kKeys + 50);
  }
}

TEST_P(Backend, ReplicasMigratingAnEmptyDatabaseTogetherBothSucceed) {
  // A fresh target (not migrated by SetUp) opened by four "replicas" at once.
  Target fresh = target_;
  fresh.sqlite_path = (dir_.path() / "fresh.db").string();
  if (postgres()) fresh.pg.search_path = random_schema();
  std::vector<std::unique_ptr<Database>> replicas;
  for (int i = 0; i < 4; ++i) replicas.push_back(open(fresh, registry_, 1));
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  std::vector<std::vector<int>> applied(replicas.size());
  for (std::size_t i = 0; i < replicas.size(); ++i) {
    threads.emplace_back([&, i] {
      replicas[i]->with_connection_blocking([&](Connection& c) { applied[i] = migrate(c, test_schema()); });
      ++succeeded;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 4);
  std::size_t total = 0;
  for (const auto& a : applied) total += a.size();
  EXPECT_EQ(total, test_schema().size());  // every migration applied exactly once, by someone
  replicas[0]->with_connection_blocking([&](Connection& c) {
    EXPECT_EQ(migration_status(c, test_schema()).current, test_schema().back().version);
    EXPECT_EQ(c.query("SELECT count(*) FROM schema_migrations").get<std::int64_t>(0, 0),
              static_cast<std::int64_t>(test_schema().size()));
    if (postgres()) c.exec_script("DROP SCHEMA " + fresh.pg.search_path + " CASCADE");
  });
}

TEST_P(Backend, EveryJobIsLeasedByOneReplicaAtATime) {
  auto other = open(target_, registry_);
  JobQueue a(*db_, "replica-a"), b(*other, "replica-b");
  for (int i = 0; i < 60; ++i) run_sync(a.enqueue("q", R"({"n":)" + std::to_string(i) + "}"));
  std::mutex m;
  std::multiset<std::string> leased;
  auto drain = [&](JobQueue& q) {
    while (true) {
      const auto jobs = run_sync(q.lease("q", 4, 30s));
      if (jobs.empty()) return;
      for (const auto& j : jobs) {
        EXPECT_TRUE(run_sync(q.complete(j, R"({"by":")" + q.owner() + "\"}")));
        std::lock_guard lock(m);
        leased.insert(j.id);
      }
    }
  };
  std::thread ta([&] { drain(a); }), tb([&] { drain(b); });
  ta.join();
  tb.join();
  EXPECT_EQ(leased.size(), 60u);
  EXPECT_EQ(std::set<std::string>(leased.begin(), leased.end()).size(), 60u) << "a job was leased twice";
  const auto done = run_sync(db_->run([](Connection& c) { return c.query("SELECT count(*) FROM jobs WHERE status = 'done'"); }));
  EXPECT_EQ(done.get<std::int64_t>(0, 0), 60);
}

TEST_P(Backend, AnExpiredLeaseIsTakenOverAndTheStaleHolderCannotComplete) {
  auto other = open(target_, registry_);
  JobQueue a(*db_, "replica-a"), b(*other, "replica-b");
  run_sync(a.enqueue("q", "{}"));
  const auto first = run_sync(a.lease("q", 1, 200ms));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(run_sync(b.lease("q", 1, 30s)).empty()) << "a live lease was taken";
  std::this_thread::sleep_for(300ms);
  const auto second = run_sync(b.lease("q", 1, 30s));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 2);
  EXPECT_FALSE(run_sync(a.extend(first[0], 30s)));
  EXPECT_FALSE(run_sync(a.complete(first[0], R"({"by":"a"})")));
  EXPECT_TRUE(run_sync(b.complete(second[0], R"({"by":"b"})")));
  const auto row = run_sync(db_->run([](Connection& c) { return c.query("SELECT status, result, attempts FROM jobs"); }));
  EXPECT_EQ(row.get<std::string>(0, 0), "done");
  EXPECT_EQ(nlohmann::json::parse(row.get<std::string>(0, 1))["by"], "b");
}

TEST_P(Backend, FailedJobsRetryUntilTheirAttemptsAreUsed) {
  JobQueue q(*db_, "replica-a");
  run_sync(q.enqueue("q", "{}", 2));
  auto j = run_sync(q.lease("q", 1, 30s));
  ASSERT_EQ(j.size(), 1u);
  EXPECT_TRUE(run_sync(q.fail(j[0], "upstream 502", 0ms)));
  j = run_sync(q.lease("q", 1, 30s));
  ASSERT_EQ(j.size(), 1u);
  EXPECT_TRUE(run_sync(q.fail(j[0], "upstream 502 again", 0ms)));
  EXPECT_TRUE(run_sync(q.lease("q", 1, 30s)).empty());
  const auto row =
      run_sync(db_->run([](Connection& c) { return c.query("SELECT status, error, finished_at IS NOT NULL FROM jobs"); }));
  EXPECT_EQ(row.get<std::string>(0, 0), "failed");
  EXPECT_EQ(row.get<std::string>(0, 1), "upstream 502 again");
  EXPECT_TRUE(row.get<bool>(0, 2));
}

// The replica that dies: leases the job named in the environment, says so, and hangs.
TEST(BackendChild, LeaseAndHang) {
  const char* spec = std::getenv("NSL_JOB_CHILD");
  if (!spec) GTEST_SKIP() << "run by KilledHoldersJobIsFinishedOnceByAnotherReplica";
  Target t;
  t.backend = std::getenv("NSL_JOB_BACKEND");
  t.sqlite_path = spec;
  if (t.backend == "postgres") t.pg = parse_pg_connection_string(spec);
  metrics::Registry registry;
  auto db = open(t, registry);
  JobQueue q(*db, "doomed-replica");
  const auto jobs = run_sync(q.lease("q", 1, 1500ms));
  std::ofstream(std::getenv("NSL_JOB_SIGNAL")) << jobs.size();
  while (true) std::this_thread::sleep_for(1s);
}

TEST_P(Backend, AKilledHoldersJobIsFinishedOnceByAnotherReplica) {
  JobQueue survivor(*db_, "survivor");
  run_sync(survivor.enqueue("q", R"({"task":"fetch"})"));
  const auto signal = dir_.path() / "leased";
  const std::string spec = postgres() ? std::string(pg_url()) + "?search_path=" + target_.pg.search_path : target_.sqlite_path;
  const pid_t child = nsl::testing::spawn_test(
      "BackendChild.LeaseAndHang",
      {{"NSL_JOB_CHILD", spec}, {"NSL_JOB_BACKEND", target_.backend}, {"NSL_JOB_SIGNAL", signal.string()}});
  ASSERT_TRUE(
      nsl::testing::wait_until([&] { return std::filesystem::exists(signal) && std::filesystem::file_size(signal) > 0; }, 20s));
  EXPECT_TRUE(run_sync(survivor.lease("q", 1, 30s)).empty()) << "the job was leased while its holder lived";
  nsl::testing::kill_test(child, SIGKILL);
  std::vector<Job> mine;
  ASSERT_TRUE(nsl::testing::wait_until([&] { return !(mine = run_sync(survivor.lease("q", 1, 30s))).empty(); }, 10s));
  EXPECT_EQ(mine[0].attempt, 2);
  EXPECT_TRUE(run_sync(survivor.complete(mine[0], R"({"by":"survivor"})")));
  EXPECT_TRUE(run_sync(survivor.lease("q", 1, 30s)).empty());
  const auto row = run_sync(db_->run([](Connection& c) { return c.query("SELECT status, result, lease_owner FROM jobs"); }));
  ASSERT_EQ(row.rows.size(), 1u);
  EXPECT_EQ(row.get<std::string>(0, 0), "done");
  EXPECT_EQ(nlohmann::json::parse(row.get<std::string>(0, 1))["by"], "survivor");
  EXPECT_FALSE(row.get_optional<std::string>(0, 2));
}

TEST_P(Backend, RetentionRemovesExpiredStorageAndAuditOlderThanTheLimit) {
  const auto now = std::chrono::system_clock::now();
  const auto old = now - 400 * 24h;
  sync([&](Connection& c) {
    ensure_audit_partitions(c, old, 0);  // a partition for that month (PostgreSQL)
    const char* store =
        "INSERT INTO storage_data (id, user_address, key, value, size_bytes, expires_at) VALUES ($1, 'u', $2, '{}', 2, $3)";
    c.query(store, {std::string("00000000-0000-0000-0000-000000000001"), std::string("gone"), utc_text(now - 1min)});
    c.query(store, {std::string("00000000-0000-0000-0000-000000000002"), std::string("kept"), utc_text(now + 1h)});
    c.query(store, {std::string("00000000-0000-0000-0000-000000000003"), std::string("forever"), nullptr});
    const char* audit =
        "INSERT INTO audit_logs (event_type, service_name, method_name, created_at) VALUES ('api_request', 's', 'm', $1)";
    c.query(audit, {utc_text(old)});
    c.query(audit, {utc_text(now - 10 * 24h)});
    c.query(audit, {utc_text(now)});
  });
  // A module's rule, as the Storage service gives one.
  const std::vector<Retention> rules{
      {"expired", "expired entries removed", [](Connection& c, std::chrono::system_clock::time_point t) {
         return c.query("DELETE FROM storage_data WHERE expires_at < $1", {utc_text(t)}).affected;
       }}};
  const auto report = run_sync(db_->run([&](Connection& c) { return apply_retention(c, now, 30, rules); }));
  ASSERT_EQ(report.removed.size(), 1u);
  EXPECT_EQ(report.removed[0].key, "expired");
  EXPECT_EQ(report.removed[0].rows, 1);
  EXPECT_TRUE(report.any());
  if (postgres()) {
    EXPECT_EQ(report.partitions_dropped.size(), 1u);
  } else {
    EXPECT_EQ(report.audit_rows, 1);
  }
  sync([&](Connection& c) {
    EXPECT_EQ(c.query("SELECT count(*) FROM storage_data").get<std::int64_t>(0, 0), 2);
    EXPECT_EQ(c.query("SELECT count(*) FROM storage_data WHERE key = 'gone'").get<std::int64_t>(0, 0), 0);
    EXPECT_EQ(c.query("SELECT count(*) FROM audit_logs").get<std::int64_t>(0, 0), 2);
    EXPECT_EQ(
        c.query("SELECT count(*) FROM audit_logs WHERE created_at < $1", {utc_text(now - 30 * 24h)}).get<std::int64_t>(0, 0), 0);
  });
}

TEST_P(Backend, AuditRowsOutsideEveryPartitionAreKeptAndMovedWhenTheirPartitionIsCreated) {
  if (!postgres()) GTEST_SKIP() << "SQLite's audit_logs is not partitioned";
  const auto later = std::chrono::system_clock::now() + 200 * 24h;
  sync([&](Connection& c) {
    c.query("INSERT INTO audit_logs (event_type, service_name, method_name, created_at) VALUES ('api_request', 's', 'm', $1)",
            {utc_text(later)});
    EXPECT_EQ(c.query("SELECT tableoid::regclass::text FROM audit_logs").get<std::string>(0, 0), "audit_logs_default");
    const auto created = ensure_audit_partitions(c, later, 0);
    ASSERT_EQ(created.size(), 1u);
    EXPECT_EQ(c.query("SELECT tableoid::regclass::text FROM audit_logs").get<std::string>(0, 0), created[0]);
    EXPECT_TRUE(ensure_audit_partitions(c, later, 0).empty());  // idempotent
  });
}

INSTANTIATE_TEST_SUITE_P(Db, Backend, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// PostgreSQL specifics: the pool, lost connections, the connection string.

class Postgres : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!pg_url()) GTEST_SKIP() << "NSL_TEST_PG_URL is not set (scripts/test.sh starts a PostgreSQL server)";
    options_ = parse_pg_connection_string(std::string(pg_url()) + "?search_path=" + random_schema());
  }
  double metric(const std::string& name) {
    const auto text = registry_.render();
    const auto pos = text.find("\n" + name + " ");
    return pos == std::string::npos ? -1 : std::stod(text.substr(pos + name.size() + 2));
  }
  PgOptions options_;
  metrics::Registry registry_;
};

TEST_F(Postgres, PoolHonoursMaximumPoolSizeAndTimeout) {
  options_.max_pool = 2;
  options_.min_pool = 2;
  options_.timeout_s = 1;
  PgDatabase db(options_, registry_, log::Logger{});
  EXPECT_EQ(metric("nsl_db_pool_connections_total"), 2);
  std::atomic<int> holding{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i) {
    holders.emplace_back([&] {
      db.with_connection_blocking([&](Connection&) {
        ++holding;
        while (!release) std::this_thread::sleep_for(5ms);
      });
    });
  }
  ASSERT_TRUE(nsl::testing::wait_until([&] { return holding == 2; }, 5s));
  EXPECT_NE(registry_.render().find("nsl_db_pool_connections{state=\"busy\"} 2"), std::string::npos);
  const auto started = std::chrono::steady_clock::now();
  try {
    db.with_connection_blocking([](Connection&) {});
    ADD_FAILURE() << "a third connection was handed out";
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), DatabaseError::Kind::exhausted);
    EXPECT_TRUE(e.transient());
    EXPECT_NE(std::string(e.what()).find("Timeout"), std::string::npos) << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
  release = true;
  for (auto& t : holders) t.join();
  db.with_connection_blocking([](Connection& c) { EXPECT_EQ(c.query("SELECT 1").get<std::int64_t>(0, 0), 1); });
}

TEST_F(Postgres, ATerminatedSessionIsReplacedWithoutTheCallerNoticing) {
  options_.max_pool = 1;
  PgDatabase db(options_, registry_, log::Logger{});
  const auto pid = run_sync(db.run([](Connection& c) { return c.query("SELECT pg_backend_pid()").get<std::int64_t>(0, 0); }));
  auto admin = PgDatabase::open(options_);
  admin->query("SELECT pg_terminate_backend($1)", {pid});
  std::this_thread::sleep_for(100ms);
  const auto again = run_sync(db.run([](Connection& c) { return c.query("SELECT pg_backend_pid()").get<std::int64_t>(0, 0); }));
  EXPECT_NE(again, pid);
}

TEST_F(Postgres, OldConnectionsAreReplacedAndSlowStatementsTimeOut) {
  options_.max_pool = 1;
  options_.connection_lifetime_s = 1;
  options_.command_timeout_s = 1;
  PgDatabase db(options_, registry_, log::Logger{});
  auto pid = [&] {
    return run_sync(db.run([](Connection& c) { return c.query("SELECT pg_backend_pid()").get<std::int64_t>(0, 0); }));
  };
  const auto first = pid();
  EXPECT_EQ(pid(), first);  // reused within its lifetime
  std::this_thread::sleep_for(1100ms);
  (void)pid();  // returned past its lifetime: closed
  EXPECT_NE(pid(), first);
  const auto started = std::chrono::steady_clock::now();
  try {
    run_sync(db.run([](Connection& c) { c.query("SELECT pg_sleep(3)"); }));
    ADD_FAILURE() << "Command Timeout did not stop the statement";
  } catch (const DatabaseError& e) {
    EXPECT_EQ(e.kind(), DatabaseError::Kind::timeout) << e.what();
    EXPECT_TRUE(e.transient());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2500ms) << "a timed-out statement was retried";
}

TEST_F(Postgres, SerializationConflictsAreRetried) {
  PgDatabase db(options_, registry_, log::Logger{});
  db.with_connection_blocking([](Connection& c) {
    migrate(c, test_schema());
    c.query("INSERT INTO people (id, name, kind, role) VALUES ('c', 'counter', 'name', 'user')");
  });
  // 20 concurrent read-modify-write transactions on one row: SERIALIZABLE makes some fail, the
  // retries make every one count.
  asio::io_context ioc;
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i) {
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          co_await db.transaction([](Connection& c) {
            const auto n = c.query("SELECT disabled FROM people WHERE id = 'c'").get<std::int64_t>(0, 0);
            c.query("UPDATE people SET disabled = $1 WHERE id = 'c'", {n + 1});
          });
          ++done;
        },
        asio::detached);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads) t.join();
  // Every round of conflicts commits one contender and the jittered pauses spread the rest, so 10
  // retries carry all 20 (3 retries with short fixed pauses let only 4 through on a loaded machine).
  const auto n = run_sync(db.run([](Connection& c) { return c.query("SELECT disabled FROM people WHERE id = 'c'"); }));
  EXPECT_EQ(done.load(), 20);
  EXPECT_EQ(n.get<std::int64_t>(0, 0), 20);
  EXPECT_GT(metric("nsl_db_retries_total"), 0) << "no conflict was met, so nothing was tested";
  db.with_connection_blocking([&](Connection& c) { c.exec_script("DROP SCHEMA " + options_.search_path + " CASCADE"); });
}

TEST(PgConnectionString, ReadsTheGuidesFormAndUris) {
  const auto a = parse_pg_connection_string(
      "Host=postgres-service;Database=neoservicelayer;Username=neoservice;Password=\"p;w=rd\";Maximum Pool Size=100;"
      "Minimum Pool Size=10;Connection Lifetime=300;Timeout=7;Command Timeout=12;");
  EXPECT_EQ(a.host, "postgres-service");
  EXPECT_EQ(a.port, 5432);
  EXPECT_EQ(a.database, "neoservicelayer");
  EXPECT_EQ(a.username, "neoservice");
  EXPECT_EQ(a.max_pool, 100);
  EXPECT_EQ(a.min_pool, 10);
  EXPECT_EQ(a.connection_lifetime_s, 300);
  EXPECT_EQ(a.timeout_s, 7);
  EXPECT_EQ(a.command_timeout_s, 12);
  EXPECT_EQ(a.search_path, "neo_service_layer");
  EXPECT_EQ(a.password, "p;w=rd");
  EXPECT_EQ(a.describe().find("p;w"), std::string::npos);
  EXPECT_EQ(a.describe().find("rd"), std::string::npos);

  const auto b = parse_pg_connection_string(
      "postgresql://neo%40svc:s%2Fcret@db.local:6543/nsl?sslmode=require&search_path=tenant_a&Maximum%20Pool%20Size=8");
  EXPECT_EQ(b.username, "neo@svc");
  EXPECT_EQ(b.password, "s/cret");
  EXPECT_EQ(b.host, "db.local");
  EXPECT_EQ(b.port, 6543);
  EXPECT_EQ(b.database, "nsl");
  EXPECT_EQ(b.ssl_mode, "require");
  EXPECT_EQ(b.search_path, "tenant_a");
  EXPECT_EQ(b.max_pool, 8);
  EXPECT_EQ(b.describe().find("cret"), std::string::npos);
}

TEST(PgConnectionString, NamesTheKeyThatIsWrong) {
  auto message = [](const char* text) {
    try {
      parse_pg_connection_string(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("Host=h;Database=d;Username=u;Maximum Pool Size=lots").find("Maximum Pool Size"), std::string::npos);
  EXPECT_NE(message("Host=h;Database=d;Username=u;Colour=blue").find("colour"), std::string::npos);
  EXPECT_NE(message("Host=h;Username=u").find("Database"), std::string::npos);
  EXPECT_NE(message("Host=h;Database=d;Username=u;Search Path=a;DROP").find("not Key=Value"), std::string::npos);
  EXPECT_NE(message("Host=h;Database=d;Username=u;Search Path=a b").find("Search Path"), std::string::npos);
  EXPECT_NE(message("Host=h;Database=d;Username=u;Minimum Pool Size=5;Maximum Pool Size=2").find("Minimum"), std::string::npos);
  EXPECT_TRUE(looks_like_postgres("Host=h;Database=d"));
  EXPECT_TRUE(looks_like_postgres("postgresql://u@h/d"));
  EXPECT_FALSE(looks_like_postgres("Data Source=/var/lib/nsl.db"));
}

}  // namespace
}  // namespace nsl::db
