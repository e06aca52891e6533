#pragma once

#include <cstddef>
#include <exception>
#include <optional>

#include "nsl/core/batcher.hpp"
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

  GroupCommit(ThreadPool& pool, Execute execute, std::size_t max_batch = 256, int leaders = 2)
      : batcher_(pool, std::move(execute), max_batch, leaders, [] {
          return std::make_exception_ptr(DatabaseError(DatabaseError::Kind::other, "the write was not executed"));
        }) {}

  /// Queues the statement and returns its result once committed, or rethrows its error.
  asio::awaitable<Result> submit(const Statement& statement);

 private:
  Batcher<Item> batcher_;
};

}  // namespace nsl::db
