// The Redis client and the two-level cache against a real redis-server (NSL_TEST_REDIS, started
// by scripts/test.sh with scripts/redis.sh; NSL_TEST_REDIS_DIR and NSL_TEST_REDIS_SCRIPT let the
// fault tests stop and start it).

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <map>
#include <random>
#include <thread>

#include "nsl/cache/cache.hpp"
#include "nsl/cache/redis.hpp"
#include "nsl/core/testing/child_process.hpp"

namespace nsl::cache {
namespace {

using namespace std::chrono_literals;

const char* redis_spec() { return std::getenv("NSL_TEST_REDIS"); }

// An io_context on two threads that tests hand coroutines to.
class Loop {
 public:
  Loop() : guard_(asio::make_work_guard(ioc_)) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~Loop() {
    guard_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }
  asio::any_io_executor executor() { return ioc_.get_executor(); }
  template <class T>
  T run(asio::awaitable<T> aw) {
    std::promise<T> p;
    auto f = p.get_future();
    asio::co_spawn(ioc_, std::move(aw), [&p](std::exception_ptr e, T v) {
      if (e)
        p.set_exception(e);
      else
        p.set_value(std::move(v));
    });
    return f.get();
  }
  void run(asio::awaitable<void> aw) {
    std::promise<void> p;
    auto f = p.get_future();
    asio::co_spawn(ioc_, std::move(aw), [&p](std::exception_ptr e) {
      if (e)
        p.set_exception(e);
      else
        p.set_value();
    });
    f.get();
  }

 private:
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

std::string unique_prefix() {
  std::random_device rd;
  return "t" + std::to_string(::getpid()) + "_" + std::to_string(rd()) + ":";
}

void redis_script(const char* action) {
  const std::string cmd =
      std::string(std::getenv("NSL_TEST_REDIS_SCRIPT")) + " " + action + " " + std::getenv("NSL_TEST_REDIS_DIR") + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;  // NOLINT(cert-env33-c): the project's own script
}

TEST(RedisConnectionString, ReadsTheGuidesFormAndUris) {
  const auto a =
      parse_redis_connection_string("redis-service:6380,abortConnect=false,ssl=false,password=s3cret,defaultDatabase=3");
  EXPECT_EQ(a.host, "redis-service");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.password, "s3cret");
  EXPECT_EQ(a.database, 3);
  const auto b = parse_redis_connection_string("redis://:pw@10.0.0.5:6379/2");
  EXPECT_EQ(b.host, "10.0.0.5");
  EXPECT_EQ(b.password, "pw");
  EXPECT_EQ(b.database, 2);
  EXPECT_EQ(b.describe().find("pw"), std::string::npos);
  EXPECT_THROW(parse_redis_connection_string("h:1,ssl=true"), std::invalid_argument);
  EXPECT_THROW(parse_redis_connection_string("h:1,colour=blue"), std::invalid_argument);
  EXPECT_THROW(parse_redis_connection_string("h:99999"), std::invalid_argument);
}

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!redis_spec()) GTEST_SKIP() << "NSL_TEST_REDIS is not set (scripts/test.sh starts redis-server)";
    options_ = parse_redis_connection_string(redis_spec());
    options_.key_prefix = unique_prefix();
  }
  std::unique_ptr<RedisClient> client(RedisOptions o) {
    auto c = std::make_unique<RedisClient>(loop_.executor(), o, registry_, log::Logger{});
    return c;
  }
  bool wait_connected(RedisClient& c, std::chrono::milliseconds timeout = 10s) {
    return nsl::testing::wait_until([&] { return c.connected(); }, timeout);
  }
  metrics::Registry registry_;  // outlives the loop, whose coroutines update its metrics
  Loop loop_;
  RedisOptions options_;
};

TEST_F(RedisTest, CommandsArePipelinedFromManyCoroutines) {
  auto c = client(options_);
  c->start();
  ASSERT_TRUE(wait_connected(*c));
  const auto key = options_.key_prefix + "counter";
  std::vector<std::future<void>> done;
  for (int i = 0; i < 8; ++i) {
    done.push_back(std::async(std::launch::async, [&] {
      for (int j = 0; j < 250; ++j) loop_.run(c->command({"INCR", key}));
    }));
  }
  for (auto& d : done) d.get();
  const auto r = loop_.run(c->command({"GET", key}));
  EXPECT_EQ(r.str, "2000");
  EXPECT_EQ(loop_.run(c->command({"GET", key + "-absent"})).type, Reply::Type::nil);
  try {
    loop_.run(c->command({"NOSUCHCOMMAND"}));
    ADD_FAILURE() << "an error reply was not an error";
  } catch (const RedisError& e) {
    EXPECT_FALSE(e.transient());
  }
  c->stop();
}

TEST_F(RedisTest, AWrongPasswordNeverConnects) {
  auto o = options_;
  o.password = "wrong";
  auto c = client(o);
  c->start();
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(c->connected());
  try {
    loop_.run(c->command({"PING"}));
    ADD_FAILURE() << "a command ran without a connection";
  } catch (const RedisError& e) {
    EXPECT_TRUE(e.transient());
  }
  c->stop();
}

// A key-value "database" the cache sits in front of.
struct FakeDatabase {
  std::mutex m;
  std::map<std::string, std::string> rows;
  std::atomic<int> reads{0};
  Cache::Loader loader(const std::string& key) {
    return [this, key]() -> asio::awaitable<std::optional<std::string>> {
      ++reads;
      std::lock_guard lock(m);
      const auto it = rows.find(key);
      co_return it == rows.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  }
  void put(const std::string& key, const std::string& value) {
    std::lock_guard lock(m);
    rows[key] = value;
  }
};

class CacheTest : public RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    if (IsSkipped()) return;
    CacheOptions co;
    co.lease = 300ms;
    for (const char* id : {"replica-a", "replica-b"}) {
      auto& r = redis_.emplace_back(client(options_));
      auto& c = caches_.emplace_back(std::make_unique<Cache>(r.get(), co, id, registry_, log::Logger{}));
      c->start(loop_.executor());
      r->start();
    }
    for (auto& r : redis_) ASSERT_TRUE(wait_connected(*r));
    ASSERT_TRUE(nsl::testing::wait_until([&] { return caches_[0]->l1_usable() && caches_[1]->l1_usable(); }, 5s));
  }
  void TearDown() override {
    for (auto& c : caches_) c->stop();
    for (auto& r : redis_) r->stop();
    std::this_thread::sleep_for(50ms);
  }
  std::optional<std::string> read(int replica, const std::string& key) {
    return loop_.run(caches_[static_cast<std::size_t>(replica)]->get(key, db_.loader(key)));
  }
  // The value through get_decoded, decoded as a number (counted in decodes_).
  std::shared_ptr<const int> read_number(int replica, const std::string& key) {
    return loop_.run(
        caches_[static_cast<std::size_t>(replica)]->get_decoded<int>(key, db_.loader(key), [this](const std::string& text) {
          ++decodes_;
          return std::stoi(text);
        }));
  }
  void write(int replica, const std::string& key, const std::string& value) {
    auto& c = *caches_[static_cast<std::size_t>(replica)];
    loop_.run(c.before_write(key));
    db_.put(key, value);
    loop_.run(c.after_write(key));
  }
  FakeDatabase db_;
  std::atomic<int> decodes_{0};
  std::vector<std::unique_ptr<RedisClient>> redis_;
  std::vector<std::unique_ptr<Cache>> caches_;
};

TEST_F(CacheTest, ReadsComeFromL1ThenL2ThenTheDatabase) {
  db_.put("k", "v1");
  EXPECT_EQ(read(0, "k"), "v1");  // database, then stored in L2 and A's L1
  EXPECT_EQ(db_.reads.load(), 1);
  EXPECT_EQ(read(1, "k"), "v1");  // B: from L2
  EXPECT_EQ(read(1, "k"), "v1");  // B: from L1
  EXPECT_EQ(read(0, "k"), "v1");
  EXPECT_EQ(db_.reads.load(), 1);
  const auto text = registry_.render();
  EXPECT_NE(text.find("nsl_cache_requests_total{level=\"l2\"} 1"), std::string::npos) << text;
  EXPECT_EQ(read(0, "absent"), std::nullopt);
}

TEST_F(CacheTest, DecodedValuesAreMadeOncePerEntryAndFollowWrites) {
  db_.put("n", "41");
  const auto first = read_number(0, "n");
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 41);
  EXPECT_EQ(decodes_.load(), 1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(read_number(0, "n"), first);  // the same object, not decoded again
  EXPECT_EQ(decodes_.load(), 1);
  EXPECT_EQ(read(0, "n"), "41");        // the text is still there for get()
  EXPECT_EQ(*read_number(1, "n"), 41);  // B decodes its own (from L2)
  EXPECT_EQ(decodes_.load(), 2);
  write(1, "n", "42");
  EXPECT_EQ(*read_number(0, "n"), 42);
  EXPECT_EQ(*read_number(1, "n"), 42);
  EXPECT_EQ(decodes_.load(), 4);
  EXPECT_EQ(read_number(0, "absent"), nullptr);
  // A decoder that throws leaves nothing behind: the next read decodes again.
  db_.put("bad", "not a number");
  EXPECT_THROW(read_number(0, "bad"), std::invalid_argument);
  EXPECT_THROW(read_number(0, "bad"), std::invalid_argument);
  EXPECT_EQ(decodes_.load(), 6);
}

TEST_F(CacheTest, NoReplicaServesAValueOlderThanAnAcknowledgedWrite) {
  db_.put("k", "0");
  std::atomic<bool> stop{false};
  // Readers on both replicas keep loading and caching while the writes happen.
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      while (!stop) (void)read(r, "k");
    });
  }
  for (int i = 1; i <= 150; ++i) {
    write(i % 2, "k", std::to_string(i));
    // Acknowledged: both replicas must now answer with it (or something newer).
    for (int r = 0; r < 2; ++r) {
      const auto v = read(r, "k");
      ASSERT_TRUE(v);
      ASSERT_GE(std::stoi(*v), i) << "replica " << r << " served a value older than write " << i;
      const auto n = read_number(r, "k");
      ASSERT_TRUE(n);
      ASSERT_GE(*n, i) << "replica " << r << " served a decoded value older than write " << i;
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
}

TEST_F(CacheTest, WithRedisDownReadsComeFromTheDatabaseAndWritesAreRefusedUntilItReturns) {
  if (!std::getenv("NSL_TEST_REDIS_SCRIPT")) GTEST_SKIP() << "needs NSL_TEST_REDIS_SCRIPT and NSL_TEST_REDIS_DIR";
  db_.put("k", "before");
  EXPECT_EQ(read(0, "k"), "before");
  EXPECT_EQ(read(1, "k"), "before");
  redis_script("stop");
  ASSERT_TRUE(nsl::testing::wait_until([&] { return caches_[0]->degraded() && caches_[1]->degraded(); }, 5s));
  std::this_thread::sleep_for(400ms);  // past the lease: L1 is no longer trusted
  EXPECT_FALSE(caches_[1]->l1_usable());
  // A write cannot be announced: refused before anything is committed.
  try {
    loop_.run(caches_[0]->before_write("k"));
    ADD_FAILURE() << "a write was allowed with Redis down";
  } catch (const RedisError& e) {
    EXPECT_TRUE(e.transient());
  }
  db_.put("k", "changed-directly");  // what another path committed meanwhile
  const int reads = db_.reads.load();
  EXPECT_EQ(read(1, "k"), "changed-directly");  // served from the database
  EXPECT_GT(db_.reads.load(), reads);
  redis_script("start");
  ASSERT_TRUE(nsl::testing::wait_until([&] { return caches_[0]->l1_usable() && caches_[1]->l1_usable(); }, 15s));
  write(0, "k", "after");
  EXPECT_EQ(read(1, "k"), "after");
  const int before = db_.reads.load();
  EXPECT_EQ(read(0, "k"), "after");
  EXPECT_EQ(read(0, "k"), "after");
  EXPECT_LE(db_.reads.load(), before + 1) << "the cache did not come back";
}

}  // namespace
}  // namespace nsl::cache
