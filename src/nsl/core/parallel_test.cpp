#include "nsl/core/parallel.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace nsl {
namespace {

using namespace std::chrono_literals;

// Runs `aw` on an io_context served by several threads, as the server's is.
void run_on_threads(asio::awaitable<void> aw, std::exception_ptr& error) {
  asio::io_context ioc;
  asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e) { error = e; });
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads) t.join();
}

TEST(ForEachBounded, RunsEveryIndexOnceAndNeverMoreThanTheLimitAtOnce) {
  constexpr std::size_t kCount = 200;
  std::vector<int> runs(kCount, 0);
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};
  std::exception_ptr error;
  run_on_threads(
      [&]() -> asio::awaitable<void> {
        co_await for_each_bounded(kCount, 7, [&](std::size_t i) -> asio::awaitable<void> {
          const int now = ++in_flight;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {}
          asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
          co_await t.async_wait(asio::use_awaitable);
          ++runs[i];
          --in_flight;
        });
      }(),
      error);
  ASSERT_FALSE(error);
  for (std::size_t i = 0; i < kCount; ++i) EXPECT_EQ(runs[i], 1) << i;
  EXPECT_EQ(most.load(), 7);  // the timers overlap, so the limit is reached, and never passed
}

TEST(ForEachBounded, RethrowsTheFirstFailureAfterEveryTaskFinished) {
  std::vector<int> runs(50, 0);
  std::exception_ptr error;
  run_on_threads(
      [&]() -> asio::awaitable<void> {
        co_await for_each_bounded(runs.size(), 4, [&](std::size_t i) -> asio::awaitable<void> {
          runs[i] = 1;
          if (i == 9 || i == 30) throw std::runtime_error("task " + std::to_string(i));
          co_return;
        });
      }(),
      error);
  ASSERT_TRUE(error);
  try {
    std::rethrow_exception(error);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "task 9");
  }
  for (int r : runs) EXPECT_EQ(r, 1);  // the others still ran
}

TEST(ForEachBounded, NothingToDoReturnsAtOnce) {
  std::exception_ptr error;
  bool called = false;
  run_on_threads(
      [&]() -> asio::awaitable<void> {
        co_await for_each_bounded(0, 4, [&](std::size_t) -> asio::awaitable<void> {
          called = true;
          co_return;
        });
      }(),
      error);
  EXPECT_FALSE(error);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace nsl
