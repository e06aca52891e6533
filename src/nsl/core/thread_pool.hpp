#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>

#include "nsl/core/asio.hpp"
#include "nsl/core/metrics.hpp"

namespace nsl {

/// A named pool of threads for blocking work (SQLite, blocking driver calls, heavy crypto, file
/// IO), so that IO threads never block. Its queue depth and busy threads are exported as
/// `nsl_threadpool_queue_depth{pool}` and `nsl_threadpool_busy_threads{pool}`.
class ThreadPool {
 public:
  ThreadPool(std::string name, std::size_t threads, metrics::Registry& registry);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Runs `f` on one of the pool's threads; the awaiting coroutine resumes on its own executor
  /// with f's result, or with f's exception rethrown.
  template <class F>
  asio::awaitable<std::invoke_result_t<F&>> run(F f) {
    using R = std::invoke_result_t<F&>;
    queued_.fetch_add(1, std::memory_order_relaxed);
    // Only void crosses co_spawn; a result travels through a named optional in this frame,
    // which outlives the awaited task (GCC 12 mishandles class-type results of co_spawn).
    std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
    co_await asio::co_spawn(
        pool_.get_executor(),
        [this, &f, &result]() -> asio::awaitable<void> {
          Busy busy(*this);
          if constexpr (std::is_void_v<R>) {
            f();
          } else {
            result.emplace(f());
          }
          co_return;
        },
        asio::use_awaitable);
    if constexpr (!std::is_void_v<R>) co_return std::move(*result);
  }

  /// Runs `f` on one of the pool's threads without waiting for it.
  void post(std::function<void()> f);

  /// The pool's executor (objects that must outlive their callers' executors bind to it).
  asio::thread_pool::executor_type executor() noexcept { return pool_.get_executor(); }

  const std::string& name() const noexcept { return name_; }
  std::size_t size() const noexcept { return threads_; }
  /// Tasks submitted and not yet started.
  std::size_t queued() const noexcept { return queued_.load(std::memory_order_relaxed); }
  /// Waits for queued work to finish and joins the threads.
  void join();

 private:
  struct Busy {
    explicit Busy(ThreadPool& p) : pool(p) {
      pool.queued_.fetch_sub(1, std::memory_order_relaxed);
      pool.busy_.fetch_add(1, std::memory_order_relaxed);
    }
    ~Busy() {
      pool.busy_.fetch_sub(1, std::memory_order_relaxed);
      pool.completed_.inc();
    }
    ThreadPool& pool;
  };

  std::string name_;
  std::size_t threads_;
  asio::thread_pool pool_;
  std::atomic<std::size_t> queued_{0};
  std::atomic<std::size_t> busy_{0};
  metrics::Counter& completed_;
};

}  // namespace nsl
