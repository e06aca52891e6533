#include "nsl/db/group_commit.hpp"

#include <chrono>

namespace nsl::db {

GroupCommit::GroupCommit(ThreadPool& pool, Execute execute, metrics::Registry& registry, std::size_t max_batch, int leaders,
                         std::chrono::steady_clock::duration spill_after)
    : duration_(
          registry.histogram("nsl_db_write_duration_seconds", "Writes from submission to their group commit (queueing included).")
              .with({})),
      batcher_(
          pool, std::move(execute), max_batch, leaders,
          [] { return std::make_exception_ptr(DatabaseError(DatabaseError::Kind::other, "the write was not executed")); },
          [&sizes = registry
                        .histogram("nsl_db_group_commit_batch_size", "Writes committed together in one transaction.", {},
                                   {1, 2, 4, 8, 16, 32, 64, 128, 256})
                        .with({})](std::size_t n) { sizes.observe(static_cast<double>(n)); },
          spill_after) {
  registry.add_collector([this](std::vector<metrics::Registry::Sample>& out) {
    out.push_back({"nsl_db_group_commit_queue_depth",
                   "Writes waiting for a group-commit transaction.",
                   metrics::Type::gauge,
                   {},
                   static_cast<double>(batcher_.queued())});
  });
}

asio::awaitable<Result> GroupCommit::submit(const Statement& statement) {
  const auto start = std::chrono::steady_clock::now();
  Item item;
  item.statement = &statement;
  auto out = co_await batcher_.submit(std::move(item));
  duration_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (out.error) std::rethrow_exception(out.error);
  co_return std::move(*out.result);
}

}  // namespace nsl::db
