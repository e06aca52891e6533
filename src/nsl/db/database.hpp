#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/core/errors.hpp"

namespace nsl::db {

/// SQL dialects the migrations are written for.
enum class Dialect { sqlite, postgres };
const char* dialect_name(Dialect d) noexcept;

/// A UTC time as the database stores and returns it on every dialect: RFC 3339 with
/// milliseconds ("2026-11-29T06:30:00.123Z"), which sorts chronologically as text. Repositories
/// bind times computed here rather than calling a dialect's clock function.
std::string utc_text(std::chrono::system_clock::time_point t);
/// utc_text(now + offset).
std::string utc_now_text(std::chrono::system_clock::duration offset = {});

/// Raw bytes, bound and read as a BLOB / bytea (text is bound as std::string).
struct Blob {
  std::string bytes;
  bool operator==(const Blob&) const = default;
};

/// One parameter or column value.
using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string, Blob>;

/// The rows a statement returned, with the number of rows it changed.
struct Result {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
  std::int64_t affected = 0;

  bool empty() const noexcept { return rows.empty(); }
  /// Whether the value at (row, column) is SQL NULL.
  bool is_null(std::size_t row, std::size_t column) const {
    return std::holds_alternative<std::nullptr_t>(rows.at(row).at(column));
  }
  /// The value at (row, column) as T; throws DatabaseError on a type mismatch.
  template <class T>
  T get(std::size_t row, std::size_t column) const;
  /// Like get() but std::nullopt for SQL NULL.
  template <class T>
  std::optional<T> get_optional(std::size_t row, std::size_t column) const;
};

/// A failure reported by the database. `kind` lets repositories turn it into a domain error
/// (unique violation → Conflict, lost connection → Unavailable). The message may contain SQL
/// and is therefore only ever logged, never sent to a client.
class DatabaseError : public DependencyError {
 public:
  /// busy: a conflict (serialization failure, deadlock, lock wait); unavailable: the server
  /// cannot be reached; exhausted: no pooled connection became free in time; timeout: a statement
  /// ran past `Command Timeout`. All four are transient (HTTP 503); only busy and unavailable are
  /// retried.
  enum class Kind { constraint, unique_violation, busy, unavailable, exhausted, timeout, schema, other };
  DatabaseError(Kind kind, const std::string& message)
      : DependencyError("database",
                        kind == Kind::busy || kind == Kind::unavailable || kind == Kind::exhausted || kind == Kind::timeout,
                        message),
        kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

/// The shape of a single-row `INSERT … VALUES (…)` that may share one statement with others of the
/// same shape. Group commit on PostgreSQL sends concurrent writes of one shape as one multi-row
/// INSERT: PostgreSQL then sets up one statement for all of them instead of one each (pgbench,
/// 26 upserts into storage_data in one transaction: 1.32 ms as 26 pipelined statements, 0.96 ms as
/// one). All statements of one shape have the same parameters.
struct RowShape {
  std::string head;  ///< everything before the row, up to and including VALUES
  std::string row;   ///< the row, "($1, $2, …)"; `$` appears only in its placeholders
  std::string tail;  ///< what follows the rows (ON CONFLICT …); it must start RETURNING with the key
  /// Positions (0-based) of the parameters that identify a row; the statement returns them as its
  /// first columns, in this order. Two rows with the same key never share a statement.
  std::vector<std::size_t> key;
};

/// One statement with its parameters.
struct Statement {
  std::string sql;
  std::vector<Value> params;
  /// Set by insert_row: `sql` is one row of this shape.
  std::shared_ptr<const RowShape> shape = {};

  /// A one-row INSERT of `shape` (see RowShape).
  static Statement insert_row(std::shared_ptr<const RowShape> shape, std::vector<Value> params) {
    auto sql = shape->head + shape->row + shape->tail;
    return Statement{std::move(sql), std::move(params), std::move(shape)};
  }
};

/// One connection, used by one thread at a time. Placeholders are written `$1`, `$2`, ... in
/// every dialect, so a statement reads the same on SQLite and PostgreSQL.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const noexcept = 0;
  /// Runs one or more statements without parameters (migrations).
  virtual void exec_script(std::string_view sql) = 0;
  /// Runs one statement; prepared statements are cached per connection.
  virtual Result query(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  /// Starts a transaction that takes the write lock at once (SQLite BEGIN IMMEDIATE).
  virtual void begin_write() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  /// Whether a transaction is open on this connection.
  virtual bool in_transaction() const noexcept = 0;
  /// Runs every statement in one write transaction: all of them or, when one fails (its error
  /// is thrown), none. PostgreSQL sends them in one pipeline: one round trip for the lot.
  virtual void execute_all(const std::vector<Statement>& statements);
  /// Appends rows (values in `columns` order, bound as query's parameters are) to `table`, in the
  /// open transaction or in one of their own: all of them or, when one is refused (its error is
  /// thrown), none.
  /// PostgreSQL streams them with COPY (no statement to plan; measured in the server, PostgreSQL's
  /// CPU per audit row fell from about 13.4 µs with 64-row INSERTs to about 10.5 µs); SQLite runs
  /// one prepared INSERT per row. `table` and `columns` are
  /// identifiers written by the caller, never input.
  virtual void insert_rows(std::string_view table, const std::vector<std::string>& columns,
                           const std::vector<std::vector<Value>>& rows);
};

inline void Connection::execute_all(const std::vector<Statement>& statements) {
  begin_write();
  try {
    for (const auto& s : statements) (void)query(s.sql, s.params);
    commit();
  } catch (...) {
    rollback();
    throw;
  }
}

/// A database: a pool of connections and a named pool of threads to use them on, so that
/// callers on IO threads only ever await. Implementations: SQLite (embedded default).
class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const noexcept = 0;
  /// A description safe to log and show in /health (no password).
  virtual std::string describe() const = 0;
  /// Runs fn with a pooled connection on the database's thread pool.
  virtual asio::awaitable<void> with_connection(std::function<void(Connection&)> fn) = 0;
  /// Runs fn with a pooled connection on the calling thread (CLI commands, startup).
  virtual void with_connection_blocking(const std::function<void(Connection&)>& fn) = 0;
  /// Runs one write statement as its own unit of work, committed together with the writes other
  /// callers submit at the same moment (group commit: one transaction and one flush for many
  /// writes). Returns only after its commit; a failing statement fails alone.
  virtual asio::awaitable<Result> write(Statement statement) = 0;
  /// One round trip without retries, for readiness: throws DatabaseError if the database does
  /// not answer now.
  virtual asio::awaitable<void> probe() {
    co_await with_connection([](Connection& c) { (void)c.query("SELECT 1"); });
  }

  /// Runs fn(Connection&) on the pool and returns its result.
  template <class F>
  asio::awaitable<std::invoke_result_t<F&, Connection&>> run(F f) {
    using R = std::invoke_result_t<F&, Connection&>;
    if constexpr (std::is_void_v<R>) {
      co_await with_connection([&](Connection& c) { f(c); });
    } else {
      std::optional<R> out;
      co_await with_connection([&](Connection& c) { out.emplace(f(c)); });
      co_return std::move(*out);
    }
  }

  /// Runs fn inside one write transaction: committed if fn returns, rolled back if it throws.
  template <class F>
  asio::awaitable<std::invoke_result_t<F&, Connection&>> transaction(F f) {
    co_return co_await run([&](Connection& c) {
      c.begin_write();
      try {
        if constexpr (std::is_void_v<std::invoke_result_t<F&, Connection&>>) {
          f(c);
          c.commit();
        } else {
          auto r = f(c);
          c.commit();
          return r;
        }
      } catch (...) {
        c.rollback();
        throw;
      }
    });
  }
};

/// Settings of the embedded SQLite database.
struct SqliteOptions {
  std::string path;
  int pool_size = 4;
  int busy_timeout_ms = 5000;
};

}  // namespace nsl::db
