#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>

#include "nsl/core/batcher.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/db/database.hpp"

namespace nsl::db {

/// Group commit for single-statement writes: concurrent writers share one transaction and one
/// flush (see Batcher), with up to `leaders` batches in flight (one committing while the next is
/// sent). Each caller resumes once its own statement's outcome is known.
class GroupCommit {
 public:
  struct Item {
    const Statement* statement = nullptr;
    std::optional<Result> result;
    std::exception_ptr error;
    bool done() const { return result.has_value(); }
  };
  /// Executes a batch on a database thread: sets result or error on every item.
  using Execute = Batcher<Item>::Execute;

  /// Metrics: `nsl_db_group_commit_batch_size` (statements per transaction),
  /// `nsl_db_group_commit_queue_depth` (writes waiting for a transaction) and
  /// `nsl_db_write_duration_seconds` (from submission to commit).
  /// Up to `leaders` transactions at once; with `spill_after`, a second one only when the
  /// oldest waiting write has waited that long (see Batcher).
  GroupCommit(ThreadPool& pool, Execute execute, metrics::Registry& registry, std::size_t max_batch = 256, int leaders = 2,
              std::chrono::steady_clock::duration spill_after = {});

  /// Queues the statement and returns its result once committed, or rethrows its error.
  asio::awaitable<Result> submit(const Statement& statement);

 private:
  metrics::Histogram& duration_;
  Batcher<Item> batcher_;
};

}  // namespace nsl::db
