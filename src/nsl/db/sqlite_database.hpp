#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "nsl/core/metrics.hpp"
#include "nsl/core/thread_pool.hpp"
#include "nsl/db/database.hpp"
#include "nsl/db/group_commit.hpp"

namespace nsl::db {

/// The embedded default: SQLite in WAL mode with synchronous=FULL, a fixed pool of connections
/// and a thread pool ("db") of the same size, so blocking SQLite calls never run on IO threads.
class SqliteDatabase final : public Database {
 public:
  /// Opens (creating the file and its directory if needed) and configures every connection.
  /// Throws DatabaseError naming the path when it cannot.
  SqliteDatabase(SqliteOptions options, metrics::Registry& registry);
  ~SqliteDatabase() override;

  Dialect dialect() const noexcept override { return Dialect::sqlite; }
  std::string describe() const override { return "sqlite:" + options_.path; }
  asio::awaitable<void> with_connection(std::function<void(Connection&)> fn) override;
  void with_connection_blocking(const std::function<void(Connection&)>& fn) override;
  asio::awaitable<Result> write(Statement statement) override;

  /// Opens a single connection configured like the pool's (used by tests and tools).
  static std::unique_ptr<Connection> open(const SqliteOptions& options);

 private:
  class Lease;
  void execute_batch(std::vector<GroupCommit::Item*>& batch);
  std::unique_ptr<Connection> acquire();
  void release(std::unique_ptr<Connection> c);

  SqliteOptions options_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  GroupCommit group_;
  ThreadPool pool_;
};

}  // namespace nsl::db
