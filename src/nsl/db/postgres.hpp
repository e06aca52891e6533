#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/core/thread_pool.hpp"
#include "nsl/db/database.hpp"
#include "nsl/db/group_commit.hpp"

namespace nsl::db {

/// Settings of a PostgreSQL database, read from a connection string in either form:
/// `Host=...;Port=...;Database=...;Username=...;Password=...;Maximum Pool Size=100;...`
/// (the guide's, §6.1.1) or `postgresql://user:password@host:port/database?option=value`.
struct PgOptions {
  std::string host = "localhost";
  int port = 5432;
  std::string database;
  std::string username;
  std::string password;
  std::string search_path = "neo_service_layer";  // the schema every table lives in (guide §9.1.2)
  std::string ssl_mode;                           // empty: libpq's default
  std::string application_name = "nsl";
  int min_pool = 1;               // `Minimum Pool Size`: opened at start and kept
  int max_pool = 100;             // `Maximum Pool Size`: connections and database threads
  int connection_lifetime_s = 0;  // `Connection Lifetime`: older connections are closed on return; 0: never
  int timeout_s = 15;             // `Timeout`: connecting, and waiting for a free connection
  int command_timeout_s = 30;     // `Command Timeout`: the server-side statement_timeout; 0: none

  /// `postgresql://user@host:port/database (schema S)`: never the password.
  std::string describe() const;
};

/// Parses a connection string. Throws std::invalid_argument naming the key that is wrong.
PgOptions parse_pg_connection_string(std::string_view text);

/// True when a connection string names PostgreSQL rather than SQLite.
bool looks_like_postgres(std::string_view text);

/// PostgreSQL 15+ over libpq. Statements run on a thread pool ("db") as large as the connection
/// pool, so IO threads only ever await; each connection caches its prepared statements. Writes in
/// Connection::begin_write run SERIALIZABLE, which keeps the read-then-write repositories as safe
/// as on SQLite; serialization failures and deadlocks are retried up to 10 times after short random
/// pauses, lost connections 3 times (back-off up to 5 s) unless the outcome of a commit is unknown. The pool is exported as
/// `nsl_db_pool_connections{state}` and `nsl_db_pool_waiters`, and a warning is logged when more
/// than 80 % of `Maximum Pool Size` is busy.
class PgDatabase final : public Database {
 public:
  /// Connects `Minimum Pool Size` connections (retrying 3 times). Throws DatabaseError with a
  /// message that names the server but not the password.
  PgDatabase(PgOptions options, metrics::Registry& registry, log::Logger log);
  ~PgDatabase() override;

  Dialect dialect() const noexcept override { return Dialect::postgres; }
  std::string describe() const override { return options_.describe(); }
  asio::awaitable<void> with_connection(std::function<void(Connection&)> fn) override;
  void with_connection_blocking(const std::function<void(Connection&)>& fn) override;
  asio::awaitable<Result> write(Statement statement) override;
  asio::awaitable<void> probe() override;

  const PgOptions& options() const noexcept { return options_; }

  /// Opens one connection configured like the pool's (tests and tools).
  static std::unique_ptr<Connection> open(const PgOptions& options);

 private:
  struct Pooled;
  std::unique_ptr<Pooled> acquire();
  void release(std::unique_ptr<Pooled> c);
  void publish_gauges();
  template <class Run>
  void with_retries(const Run& run);
  void execute_batch(std::vector<GroupCommit::Item*>& batch);

  PgOptions options_;
  log::Logger log_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Pooled>> idle_;
  int total_ = 0;
  int busy_ = 0;
  int waiters_ = 0;
  std::chrono::steady_clock::time_point last_pressure_warning_{};
  metrics::Gauge& idle_gauge_;
  metrics::Gauge& busy_gauge_;
  metrics::Gauge& total_gauge_;
  metrics::Gauge& waiters_gauge_;
  metrics::Counter& retries_;
  GroupCommit group_;
  ThreadPool pool_;
};

}  // namespace nsl::db
