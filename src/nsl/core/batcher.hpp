#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <boost/asio/experimental/concurrent_channel.hpp>

#include "nsl/core/asio.hpp"
#include "nsl/core/thread_pool.hpp"

namespace nsl {

/// Batching across a thread boundary. Callers queue an item and await its outcome on their own
/// executor; up to `leaders` threads of `pool` at a time take everything queued so far (up to
/// `max_batch` items) and hand it to `execute` as one batch, so concurrent callers share one
/// round trip (a commit, a request to the enclave) while the next batch is being gathered.
///
/// `Item` carries the request and its outcome, and has `bool done() const` and
/// `std::exception_ptr error`. `execute` completes every item it can; an item it leaves undone
/// gets the exception `execute` threw, or else the one `not_executed` makes.
template <class Item>
class Batcher {
 public:
  using Execute = std::function<void(std::vector<Item*>&)>;
  using NotExecuted = std::function<std::exception_ptr()>;

  /// Called with the size of each batch as it is taken (metrics).
  using OnBatch = std::function<void(std::size_t)>;

  /// With `spill_after` zero, up to `leaders` batches run at once whenever items are waiting.
  /// Otherwise one runs at a time, and another leader joins only when the oldest waiting item has
  /// waited `spill_after`: the first is stuck (a lock wait, a slow commit), and the others should
  /// not all wait behind it.
  Batcher(ThreadPool& pool, Execute execute, std::size_t max_batch, int leaders, NotExecuted not_executed = {},
          OnBatch on_batch = {}, std::chrono::steady_clock::duration spill_after = {})
      : pool_(pool),
        execute_(std::move(execute)),
        not_executed_(std::move(not_executed)),
        on_batch_(std::move(on_batch)),
        max_batch_(max_batch),
        max_leaders_(leaders),
        spill_after_(spill_after) {}

  /// Items queued and not yet taken into a batch.
  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

  /// Queues `item` and returns it once its batch has run (its outcome set by `execute`).
  asio::awaitable<Item> submit(Item item) {
    // The caller awaits a channel bound to the pool (not to the caller's executor, which may be
    // gone when the leader lets go of its reference).
    auto q = std::make_shared<Queued>(std::move(item), pool_.executor());
    bool lead_now = false;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(q);
      if (leaders_ == 0 || (leaders_ < max_leaders_ && (spill_after_ == std::chrono::steady_clock::duration::zero() ||
                                                        q->enqueued - queue_.front()->enqueued >= spill_after_))) {
        ++leaders_;
        lead_now = true;
      }
    }
    if (lead_now) pool_.post([this] { lead(); });
    co_await q->done.async_receive(asio::as_tuple(asio::use_awaitable));
    co_return std::move(q->item);
  }

 private:
  struct Queued {
    Queued(Item i, const asio::any_io_executor& ex) : item(std::move(i)), done(ex, 1) {}
    Item item;
    std::chrono::steady_clock::time_point enqueued = std::chrono::steady_clock::now();
    asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
  };

  void lead() {
    while (true) {
      std::vector<std::shared_ptr<Queued>> batch;
      {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) {
          --leaders_;
          return;
        }
        while (!queue_.empty() && batch.size() < max_batch_) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      if (on_batch_) on_batch_(batch.size());
      std::vector<Item*> items;
      items.reserve(batch.size());
      for (auto& q : batch) items.push_back(&q->item);
      std::exception_ptr failed;
      try {
        execute_(items);
      } catch (...) {
        failed = std::current_exception();
      }
      for (auto& q : batch) {
        if (!q->item.done() && !q->item.error) {
          q->item.error = failed          ? failed
                          : not_executed_ ? not_executed_()
                                          : std::make_exception_ptr(std::runtime_error("the batch did not run this item"));
        }
        q->done.try_send(boost::system::error_code{});
      }
    }
  }

  ThreadPool& pool_;
  Execute execute_;
  NotExecuted not_executed_;
  OnBatch on_batch_;
  std::size_t max_batch_;
  int max_leaders_;
  std::chrono::steady_clock::duration spill_after_;
  mutable std::mutex mutex_;
  std::deque<std::shared_ptr<Queued>> queue_;
  int leaders_ = 0;
};

}  // namespace nsl
