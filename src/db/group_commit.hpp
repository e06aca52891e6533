#pragma once

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/core/thread_pool.hpp"
#include "nsl/db/database.hpp"

namespace nsl::db {

/// Group commit for single-statement writes. Callers enqueue a statement and await its outcome
/// on their own thread; up to `leaders` database threads at a time take every statement queued
/// so far (up to `max_batch`) and execute them together, so concurrent writers share one
/// transaction and one flush, and two batches can be in flight (one committing while the next
/// is sent). Each caller resumes once its own statement's outcome is known.
class GroupCommit {
 public:
  struct Item {
    const Statement* statement = nullptr;
    std::optional<Result> result;
    std::exception_ptr error;
  };
  /// Executes a batch on a database thread: sets result or error on every item.
  using Execute = std::function<void(std::vector<Item*>&)>;

  GroupCommit(ThreadPool& pool, Execute execute, std::size_t max_batch = 256, int leaders = 2)
      : pool_(pool), execute_(std::move(execute)), max_batch_(max_batch), max_leaders_(leaders) {}

  /// Queues the statement and returns its result once committed, or rethrows its error.
  asio::awaitable<Result> submit(const Statement& statement);

 private:
  struct Queued;
  void lead();

  ThreadPool& pool_;
  Execute execute_;
  std::size_t max_batch_;
  int max_leaders_;
  std::mutex mutex_;
  std::deque<std::shared_ptr<Queued>> queue_;
  int leaders_ = 0;
};

}  // namespace nsl::db
