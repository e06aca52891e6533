#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "nsl/db/database.hpp"

namespace nsl::db {

/// Group commit for single-statement writes. Callers on database threads submit a statement and
/// block; one of them (or `leaders` at a time) becomes the leader, takes every statement queued so far (up to
/// `max_batch`) and executes them together, so concurrent writers share one transaction and one
/// flush. Each caller returns once its own statement's outcome is known.
class GroupCommit {
 public:
  struct Item {
    const Statement* statement = nullptr;
    std::optional<Result> result;
    std::exception_ptr error;
    bool done = false;
  };
  /// Executes a batch: sets result or error on every item; must not throw.
  using Execute = std::function<void(std::vector<Item*>&)>;

  /// `leaders`: batches in flight at once (one may be committing while the next is sent).
  explicit GroupCommit(std::size_t max_batch = 256, int leaders = 2) : max_batch_(max_batch), max_leaders_(leaders) {}

  /// Blocks until `item` is done; returns its result or rethrows its error.
  Result submit(Item& item, const Execute& execute);

 private:
  std::size_t max_batch_;
  int max_leaders_;
  int leaders_ = 0;
  std::mutex mutex_;
  std::condition_variable done_;
  std::deque<Item*> queue_;
};

}  // namespace nsl::db
