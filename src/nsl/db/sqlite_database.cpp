#include "nsl/db/sqlite_database.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <string>
#include <unordered_map>

namespace nsl::db {
namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

struct DbDeleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbDeleter>;

DatabaseError error_from(sqlite3* db, int rc, std::string_view context) {
  const int ext = db ? sqlite3_extended_errcode(db) : rc;
  std::string msg = std::string(context) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  auto kind = DatabaseError::Kind::other;
  if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
    kind = DatabaseError::Kind::unique_violation;
  else if ((rc & 0xFF) == SQLITE_CONSTRAINT)
    kind = DatabaseError::Kind::constraint;
  else if ((rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED)
    kind = DatabaseError::Kind::busy;
  else if ((rc & 0xFF) == SQLITE_CANTOPEN || (rc & 0xFF) == SQLITE_IOERR || (rc & 0xFF) == SQLITE_FULL ||
           (rc & 0xFF) == SQLITE_READONLY)
    kind = DatabaseError::Kind::unavailable;
  return DatabaseError(kind, msg);
}

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(DbPtr db) : db_(std::move(db)) {}

  Dialect dialect() const noexcept override { return Dialect::sqlite; }

  void exec_script(std::string_view sql) override {
    std::string s(sql);
    char* err = nullptr;
    const int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      auto e = error_from(db_.get(), rc, "script");
      throw DatabaseError(e.kind(), "script: " + msg);
    }
  }

  Result query(std::string_view sql, const std::vector<Value>& params) override {
    Prepared& prepared = prepare(sql);
    sqlite3_stmt* stmt = prepared.stmt.get();
    // Reset on every exit path so the cached statement releases its read/write locks.
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    bind(prepared, params);
    Result result;
    const int ncol = sqlite3_column_count(stmt);
    result.columns.reserve(static_cast<std::size_t>(ncol));
    for (int i = 0; i < ncol; ++i) result.columns.emplace_back(sqlite3_column_name(stmt, i));
    while (true) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) throw error_from(db_.get(), rc, "step");
      auto& row = result.rows.emplace_back();
      row.reserve(static_cast<std::size_t>(ncol));
      for (int i = 0; i < ncol; ++i) row.push_back(column(stmt, i));
    }
    result.affected = sqlite3_changes64(db_.get());
    return result;
  }

  void begin_write() override { simple("BEGIN IMMEDIATE"); }
  void commit() override { simple("COMMIT"); }
  void rollback() override {
    if (!sqlite3_get_autocommit(db_.get())) simple("ROLLBACK");
  }
  bool in_transaction() const noexcept override { return !sqlite3_get_autocommit(db_.get()); }

 private:
  void simple(const char* sql) {
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throw error_from(db_.get(), rc, sql);
  }

  // A cached statement with the index of each of its `$N` parameters (0: not used).
  struct Prepared {
    StmtPtr stmt;
    std::vector<int> index;
  };
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  Prepared& prepare(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* raw = nullptr;
    const int rc =
        sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) throw error_from(db_.get(), rc, "prepare");
    Prepared prepared{StmtPtr(raw), {}};
    for (int i = 1, n = sqlite3_bind_parameter_count(raw); i <= n; ++i) {
      prepared.index.push_back(sqlite3_bind_parameter_index(raw, ("$" + std::to_string(i)).c_str()));
    }
    if (cache_.size() > 256) cache_.clear();
    return cache_.emplace(std::string(sql), std::move(prepared)).first->second;
  }

  void bind(Prepared& prepared, const std::vector<Value>& params) {
    sqlite3_stmt* stmt = prepared.stmt.get();
    const int expected = sqlite3_bind_parameter_count(stmt);
    if (static_cast<int>(params.size()) < expected) {
      throw DatabaseError(DatabaseError::Kind::other,
                          "statement expects " + std::to_string(expected) + " parameters, got " + std::to_string(params.size()));
    }
    for (std::size_t i = 0; i < params.size() && i < prepared.index.size(); ++i) {
      const int idx = prepared.index[i];
      if (idx == 0) continue;  // parameter not used by this statement
      int rc = SQLITE_OK;
      const Value& v = params[i];
      switch (v.index()) {
        case 0:
          rc = sqlite3_bind_null(stmt, idx);
          break;
        case 1:
          rc = sqlite3_bind_int64(stmt, idx, std::get<std::int64_t>(v));
          break;
        case 2:
          rc = sqlite3_bind_double(stmt, idx, std::get<double>(v));
          break;
        case 3: {
          const auto& s = std::get<std::string>(v);
          rc = sqlite3_bind_text64(stmt, idx, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
          break;
        }
        case 4: {
          const auto& b = std::get<Blob>(v).bytes;
          rc = sqlite3_bind_blob64(stmt, idx, b.data(), b.size(), SQLITE_STATIC);
          break;
        }
      }
      if (rc != SQLITE_OK) throw error_from(db_.get(), rc, "bind $" + std::to_string(i + 1));
    }
  }

  static Value column(sqlite3_stmt* stmt, int i) {
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_INTEGER:
        return std::int64_t{sqlite3_column_int64(stmt, i)};
      case SQLITE_FLOAT:
        return sqlite3_column_double(stmt, i);
      case SQLITE_TEXT: {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)));
      }
      case SQLITE_BLOB: {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
        return Blob{std::string(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)))};
      }
      default:
        return nullptr;
    }
  }

  DbPtr db_;
  std::unordered_map<std::string, Prepared, TextHash, std::equal_to<>> cache_;
};

}  // namespace

class SqliteDatabase::Lease {
 public:
  explicit Lease(SqliteDatabase& db) : db_(db), conn_(db.acquire()) {}
  ~Lease() { db_.release(std::move(conn_)); }
  Connection& operator*() { return *conn_; }

 private:
  SqliteDatabase& db_;
  std::unique_ptr<Connection> conn_;
};

std::unique_ptr<Connection> SqliteDatabase::open(const SqliteOptions& options) {
  const std::filesystem::path path(options.path);
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      throw DatabaseError(DatabaseError::Kind::unavailable,
                          "cannot create directory " + path.parent_path().string() + ": " + ec.message());
    }
  }
  // No memory statistics: they take a process-wide mutex on every allocation, about a tenth of
  // the time of an audit row (the writer stores one per request). Must precede initialisation;
  // if something initialised SQLite first, the call is refused and nothing changes.
  static const bool configured = [] { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }();
  (void)configured;
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(options.path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) throw error_from(db.get(), rc, "open " + options.path);
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);
  auto conn = std::make_unique<SqliteConnection>(std::move(db));
  // WAL lets readers run beside the writer; FULL syncs the WAL on every commit, so an
  // acknowledged write survives a power cut. Switching a new file to WAL needs an exclusive
  // lock, and SQLite answers BUSY at once (without its busy handler) when several processes
  // open the same new database together, so that step is retried up to the busy timeout.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
  for (auto pause = std::chrono::milliseconds(2);; pause = std::min(pause * 2, std::chrono::milliseconds(100))) {
    try {
      conn->exec_script("PRAGMA journal_mode=WAL;");
      break;
    } catch (const DatabaseError& e) {
      if (e.kind() != DatabaseError::Kind::busy || std::chrono::steady_clock::now() >= give_up) throw;
      std::this_thread::sleep_for(pause);
    }
  }
  // Pages are read through a shared memory map (no copy per page read; the OS page cache is the
  // one cache all connections share), and each connection keeps 16 MiB of its own.
  conn->exec_script("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA mmap_size=1073741824; PRAGMA cache_size=-16384;");
  return conn;
}

SqliteDatabase::SqliteDatabase(SqliteOptions options, metrics::Registry& registry)
    : options_(std::move(options)),
      group_(
          pool_, [this](std::vector<GroupCommit::Item*>& batch) { execute_batch(batch); }, registry, 256, 1),
      pool_("db", static_cast<std::size_t>(options_.pool_size), registry) {
  for (int i = 0; i < options_.pool_size; ++i) idle_.push_back(open(options_));
}

SqliteDatabase::~SqliteDatabase() { pool_.join(); }

std::unique_ptr<Connection> SqliteDatabase::acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [&] { return !idle_.empty(); });
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return c;
}

void SqliteDatabase::release(std::unique_ptr<Connection> c) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(c));
  }
  available_.notify_one();
}

asio::awaitable<void> SqliteDatabase::with_connection(std::function<void(Connection&)> fn) {
  co_await pool_.run([this, &fn] {
    Lease lease(*this);
    fn(*lease);
  });
}

void SqliteDatabase::with_connection_blocking(const std::function<void(Connection&)>& fn) {
  Lease lease(*this);
  fn(*lease);
}

asio::awaitable<Result> SqliteDatabase::write(Statement statement) { co_return co_await group_.submit(statement); }

void SqliteDatabase::execute_batch(std::vector<GroupCommit::Item*>& batch) {
  Lease lease(*this);
  Connection& c = *lease;
  // One transaction for the batch; a savepoint per statement, so a failing one fails alone.
  c.begin_write();
  for (auto* b : batch) {
    c.exec_script("SAVEPOINT nsl_write");
    try {
      b->result = c.query(b->statement->sql, b->statement->params);
      c.exec_script("RELEASE nsl_write");
    } catch (...) {
      b->error = std::current_exception();
      c.exec_script("ROLLBACK TO nsl_write; RELEASE nsl_write");
    }
  }
  try {
    c.commit();
  } catch (...) {
    c.rollback();
    for (auto* b : batch) {
      b->result.reset();
      b->error = std::current_exception();
    }
  }
}

}  // namespace nsl::db
