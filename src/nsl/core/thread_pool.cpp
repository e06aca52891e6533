#include "nsl/core/thread_pool.hpp"

#include <pthread.h>

#include <latch>
#include <memory>

#include <boost/asio/post.hpp>

namespace nsl {

ThreadPool::ThreadPool(std::string name, std::size_t threads, metrics::Registry& registry)
    : name_(std::move(name)),
      threads_(threads == 0 ? 1 : threads),
      pool_(threads_),
      completed_(registry.counter("nsl_threadpool_tasks_total", "Tasks completed by a blocking-work thread pool.", {"pool"})
                     .with({name_})) {
  // Name the threads so that top/perf/gdb show which pool is busy.
  // Each naming task waits for the others, so every thread takes exactly one.
  const std::string thread_name = ("nsl-" + name_).substr(0, 15);
  auto started = std::make_shared<std::latch>(static_cast<std::ptrdiff_t>(threads_));
  for (std::size_t i = 0; i < threads_; ++i) {
    asio::post(pool_, [thread_name, started] {
      pthread_setname_np(pthread_self(), thread_name.c_str());
      started->arrive_and_wait();
    });
  }
  registry.add_collector([this](std::vector<metrics::Registry::Sample>& out) {
    out.push_back({"nsl_threadpool_queue_depth",
                   "Tasks waiting for a thread in a blocking-work pool.",
                   metrics::Type::gauge,
                   {{"pool", name_}},
                   static_cast<double>(queued())});
    out.push_back({"nsl_threadpool_busy_threads",
                   "Threads of a blocking-work pool running a task.",
                   metrics::Type::gauge,
                   {{"pool", name_}},
                   static_cast<double>(busy_.load())});
    out.push_back({"nsl_threadpool_threads",
                   "Threads in a blocking-work pool.",
                   metrics::Type::gauge,
                   {{"pool", name_}},
                   static_cast<double>(threads_)});
  });
}

ThreadPool::~ThreadPool() { join(); }

void ThreadPool::post(std::function<void()> f) {
  queued_.fetch_add(1, std::memory_order_relaxed);
  asio::post(pool_, [this, f = std::move(f)] {
    Busy busy(*this);
    f();
  });
}

void ThreadPool::join() { pool_.join(); }

}  // namespace nsl
