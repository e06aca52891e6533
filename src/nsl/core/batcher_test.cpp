#include "nsl/core/batcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <thread>

namespace nsl {
namespace {

using namespace std::chrono_literals;

struct Job {
  int id = 0;
  bool ran = false;
  std::exception_ptr error;
  bool done() const { return ran; }
};

// A batcher whose first batch blocks until released, and which records every batch's ids.
class BatcherTest : public ::testing::Test {
 protected:
  std::unique_ptr<Batcher<Job>> make(int leaders, std::chrono::steady_clock::duration spill_after) {
    return std::make_unique<Batcher<Job>>(
        pool_,
        [this](std::vector<Job*>& batch) {
          std::unique_lock lock(mutex_);
          std::vector<int> ids;
          for (auto* j : batch) ids.push_back(j->id);
          batches_.push_back(ids);
          changed_.notify_all();
          if (ids.front() == 1) changed_.wait(lock, [this] { return released_; });
          for (auto* j : batch) j->ran = true;
        },
        16, leaders, nullptr, nullptr, spill_after);
  }
  // Submits job `id` on the io_context; `finished` counts it once its batch has run.
  void submit(Batcher<Job>& b, int id) {
    asio::co_spawn(
        ioc_,
        [&b, id, this]() -> asio::awaitable<void> {
          Job j;
          j.id = id;
          const auto out = co_await b.submit(std::move(j));
          if (out.ran) ++finished_;
        },
        asio::detached);
    ioc_.poll();
  }
  bool wait_batches(std::size_t n, std::chrono::milliseconds limit = 2000ms) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, limit, [&] { return batches_.size() >= n; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  void finish(int expected) {
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (finished_ < expected && std::chrono::steady_clock::now() < deadline) {
      ioc_.poll();
      ioc_.restart();
      std::this_thread::sleep_for(1ms);
    }
  }

  metrics::Registry registry_;
  ThreadPool pool_{"test", 4, registry_};
  asio::io_context ioc_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<int>> batches_;
  bool released_ = false;
  std::atomic<int> finished_{0};
};

TEST_F(BatcherTest, EagerLeadersRunASecondBatchAtOnceBesideABlockedOne) {
  auto b = make(2, {});
  submit(*b, 1);
  ASSERT_TRUE(wait_batches(1));
  submit(*b, 2);
  ASSERT_TRUE(wait_batches(2));  // beside the blocked first batch
  EXPECT_EQ(batches_[1], std::vector<int>{2});
  release();
  finish(2);
  EXPECT_EQ(finished_, 2);
}

TEST_F(BatcherTest, WithSpillASecondLeaderJoinsOnlyOnceTheOldestHasWaitedThatLong) {
  auto b = make(2, 150ms);
  submit(*b, 1);
  ASSERT_TRUE(wait_batches(1));
  submit(*b, 2);
  submit(*b, 3);
  EXPECT_FALSE(wait_batches(2, 100ms));  // 2 and 3 wait behind the running batch
  std::this_thread::sleep_for(100ms);    // job 2 has now waited over 150 ms
  submit(*b, 4);
  ASSERT_TRUE(wait_batches(2));
  EXPECT_EQ(batches_[1], (std::vector<int>{2, 3, 4}));  // everything waiting, in one batch
  release();
  finish(4);
  EXPECT_EQ(finished_, 4);
  // Without a stuck batch, one leader takes what queued meanwhile.
  submit(*b, 5);
  finish(5);
  EXPECT_EQ(batches_.back(), std::vector<int>{5});
}

}  // namespace
}  // namespace nsl
