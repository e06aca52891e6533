#include "nsl/db/migrations.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace nsl::db {
namespace {

constexpr const char* kCreateHistory = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  checksum   TEXT NOT NULL,
  applied_at TEXT NOT NULL
);
)sql";

// Timestamps are stored as RFC 3339 UTC text with milliseconds, which sorts chronologically.
constexpr const char* kV1Sqlite = R"sql(
CREATE TABLE storage_data (
  id             TEXT PRIMARY KEY,
  user_address   TEXT NOT NULL CHECK (length(user_address) <= 42),
  key            TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 256),
  value          TEXT NOT NULL CHECK (json_valid(value)),
  encrypted      INTEGER NOT NULL DEFAULT 0 CHECK (encrypted IN (0, 1)),
  access_level   TEXT NOT NULL DEFAULT 'private' CHECK (length(access_level) <= 20),
  size_bytes     INTEGER NOT NULL,
  created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  accessed_count INTEGER NOT NULL DEFAULT 0,
  last_accessed  TEXT,
  expires_at     TEXT,
  metadata       TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
  UNIQUE (user_address, key)
);
CREATE INDEX idx_storage_user_address ON storage_data(user_address);
CREATE INDEX idx_storage_key ON storage_data(key);
CREATE INDEX idx_storage_created_at ON storage_data(created_at);
CREATE INDEX idx_storage_expires_at ON storage_data(expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE oracle_requests (
  id                TEXT PRIMARY KEY,
  request_id        TEXT NOT NULL UNIQUE CHECK (length(request_id) <= 100),
  user_address      TEXT NOT NULL CHECK (length(user_address) <= 42),
  url               TEXT NOT NULL,
  json_path         TEXT CHECK (json_path IS NULL OR length(json_path) <= 500),
  callback_contract TEXT CHECK (callback_contract IS NULL OR length(callback_contract) <= 42),
  status            TEXT NOT NULL DEFAULT 'pending' CHECK (length(status) <= 20),
  result            TEXT CHECK (result IS NULL OR json_valid(result)),
  error             TEXT,
  gas_used          TEXT,
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  completed_at      TEXT,
  metadata          TEXT CHECK (metadata IS NULL OR json_valid(metadata))
);
CREATE INDEX idx_oracle_request_id ON oracle_requests(request_id);
CREATE INDEX idx_oracle_user_address ON oracle_requests(user_address);
CREATE INDEX idx_oracle_status ON oracle_requests(status);
CREATE INDEX idx_oracle_created_at ON oracle_requests(created_at);

CREATE TABLE audit_logs (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  event_type        TEXT NOT NULL CHECK (length(event_type) <= 50),
  user_address      TEXT CHECK (user_address IS NULL OR length(user_address) <= 42),
  service_name      TEXT NOT NULL CHECK (length(service_name) <= 50),
  method_name       TEXT NOT NULL CHECK (length(method_name) <= 100),
  request_id        TEXT CHECK (request_id IS NULL OR length(request_id) <= 100),
  correlation_id    TEXT CHECK (correlation_id IS NULL OR length(correlation_id) <= 100),
  ip_address        TEXT,
  user_agent        TEXT,
  request_data      TEXT CHECK (request_data IS NULL OR json_valid(request_data)),
  response_data     TEXT CHECK (response_data IS NULL OR json_valid(response_data)),
  status_code       INTEGER,
  error_message     TEXT,
  execution_time_ms INTEGER,
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_audit_event_type ON audit_logs(event_type);
CREATE INDEX idx_audit_user_address ON audit_logs(user_address);
CREATE INDEX idx_audit_service ON audit_logs(service_name, method_name);
CREATE INDEX idx_audit_created_at ON audit_logs(created_at);
CREATE INDEX idx_audit_request_id ON audit_logs(request_id);
)sql";

// Chain watchers: a persisted cursor per (chain, watcher), the hashes of recently processed
// blocks to detect reorganisations, and the logs delivered from them to announce their removal.
constexpr const char* kV3Sqlite = R"sql(
CREATE TABLE chain_cursors (
  chain      TEXT NOT NULL,
  name       TEXT NOT NULL,
  next_block INTEGER NOT NULL,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (chain, name)
);
CREATE TABLE chain_seen_blocks (
  chain  TEXT NOT NULL,
  name   TEXT NOT NULL,
  number INTEGER NOT NULL,
  hash   TEXT NOT NULL,
  PRIMARY KEY (chain, name, number)
);
CREATE TABLE chain_delivered_logs (
  chain        TEXT NOT NULL,
  name         TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  log_index    INTEGER NOT NULL,
  log          TEXT NOT NULL CHECK (json_valid(log)),
  PRIMARY KEY (chain, name, block_number, log_index)
);
)sql";

// PostgreSQL: the guide's §9.1.2 schema with its types (UUID, JSONB, TIMESTAMPTZ, INET), in the
// schema named by the connection's search path. audit_logs is partitioned by month; the server
// creates the partitions ahead of time (ensure_audit_partitions) and a default partition catches
// anything outside them, so no audit record is ever refused.
constexpr const char* kV1Postgres = R"sql(
CREATE TABLE storage_data (
  id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_address   VARCHAR(42) NOT NULL,
  key            VARCHAR(256) NOT NULL CHECK (length(key) >= 1),
  value          JSONB NOT NULL,
  encrypted      BOOLEAN NOT NULL DEFAULT false,
  access_level   VARCHAR(20) NOT NULL DEFAULT 'private',
  size_bytes     INTEGER NOT NULL,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
  accessed_count INTEGER NOT NULL DEFAULT 0,
  last_accessed  TIMESTAMPTZ,
  expires_at     TIMESTAMPTZ,
  metadata       JSONB,
  UNIQUE (user_address, key)
);
CREATE INDEX idx_storage_user_address ON storage_data(user_address);
CREATE INDEX idx_storage_key ON storage_data(key);
CREATE INDEX idx_storage_created_at ON storage_data(created_at);
CREATE INDEX idx_storage_expires_at ON storage_data(expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE oracle_requests (
  id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  request_id        VARCHAR(100) UNIQUE NOT NULL,
  user_address      VARCHAR(42) NOT NULL,
  url               TEXT NOT NULL,
  json_path         VARCHAR(500),
  callback_contract VARCHAR(42),
  status            VARCHAR(20) NOT NULL DEFAULT 'pending',
  result            JSONB,
  error             TEXT,
  gas_used          NUMERIC(20, 8),
  created_at        TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
  completed_at      TIMESTAMPTZ,
  metadata          JSONB
);
CREATE INDEX idx_oracle_request_id ON oracle_requests(request_id);
CREATE INDEX idx_oracle_user_address ON oracle_requests(user_address);
CREATE INDEX idx_oracle_status ON oracle_requests(status);
CREATE INDEX idx_oracle_created_at ON oracle_requests(created_at);

CREATE TABLE audit_logs (
  id                BIGSERIAL,
  event_type        VARCHAR(50) NOT NULL,
  user_address      VARCHAR(42),
  service_name      VARCHAR(50) NOT NULL,
  method_name       VARCHAR(100) NOT NULL,
  request_id        VARCHAR(100),
  correlation_id    VARCHAR(100),
  ip_address        INET,
  user_agent        TEXT,
  request_data      JSONB,
  response_data     JSONB,
  status_code       INTEGER,
  error_message     TEXT,
  execution_time_ms INTEGER,
  created_at        TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_audit_event_type ON audit_logs(event_type);
CREATE INDEX idx_audit_user_address ON audit_logs(user_address);
CREATE INDEX idx_audit_service ON audit_logs(service_name, method_name);
CREATE INDEX idx_audit_created_at ON audit_logs(created_at);
CREATE INDEX idx_audit_request_id ON audit_logs(request_id);
CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT;
)sql";

constexpr const char* kV3Postgres = R"sql(
CREATE TABLE chain_cursors (
  chain      TEXT NOT NULL,
  name       TEXT NOT NULL,
  next_block BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (chain, name)
);
CREATE TABLE chain_seen_blocks (
  chain  TEXT NOT NULL,
  name   TEXT NOT NULL,
  number BIGINT NOT NULL,
  hash   TEXT NOT NULL,
  PRIMARY KEY (chain, name, number)
);
CREATE TABLE chain_delivered_logs (
  chain        TEXT NOT NULL,
  name         TEXT NOT NULL,
  block_number BIGINT NOT NULL,
  log_index    BIGINT NOT NULL,
  log          JSONB NOT NULL,
  PRIMARY KEY (chain, name, block_number, log_index)
);
)sql";

// Background jobs shared by every replica: a job is leased by one replica at a time; a lease that
// expires (its holder died) makes the job available again.
constexpr const char* kV7Sqlite = R"sql(
CREATE TABLE jobs (
  id           TEXT PRIMARY KEY,
  queue        TEXT NOT NULL,
  payload      TEXT NOT NULL CHECK (json_valid(payload)),
  status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 5,
  run_at       TEXT NOT NULL,
  lease_owner  TEXT,
  lease_until  TEXT,
  result       TEXT CHECK (result IS NULL OR json_valid(result)),
  error        TEXT,
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at  TEXT
);
CREATE INDEX idx_jobs_ready ON jobs(queue, status, run_at);
)sql";

constexpr const char* kV7Postgres = R"sql(
CREATE TABLE jobs (
  id           TEXT PRIMARY KEY,
  queue        TEXT NOT NULL,
  payload      JSONB NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 5,
  run_at       TIMESTAMPTZ NOT NULL,
  lease_owner  TEXT,
  lease_until  TIMESTAMPTZ,
  result       JSONB,
  error        TEXT,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
  finished_at  TIMESTAMPTZ
);
CREATE INDEX idx_jobs_ready ON jobs(queue, status, run_at);
)sql";

std::string now_text(Connection&) { return utc_now_text(); }

// A fixed key for pg_advisory_lock: migrations of one database run one process at a time.
constexpr std::int64_t kMigrationLock = 0x6e736c2d6d696772;  // "nsl-migr"

// The schema the connection's search path names, created if missing (PostgreSQL).
void ensure_schema(Connection& c) {
  const auto schema = c.query("SELECT current_setting('search_path')").get<std::string>(0, 0);
  for (char ch : schema) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) {
      throw DatabaseError(DatabaseError::Kind::schema, "search_path must be one plain schema name, not " + schema);
    }
  }
  try {
    c.exec_script("CREATE SCHEMA IF NOT EXISTS " + schema);
  } catch (const DatabaseError& e) {
    // Two processes creating it at the same instant: the other one won.
    if (e.kind() != DatabaseError::Kind::unique_violation) throw;
  }
}

}  // namespace

std::vector<Migration> platform_migrations() {
  return {
      {1,
       "guide schema: storage_data, oracle_requests, audit_logs",
       {{Dialect::sqlite, kV1Sqlite}, {Dialect::postgres, kV1Postgres}}},
      {3,
       "chain watcher cursors, seen block hashes and delivered logs",
       {{Dialect::sqlite, kV3Sqlite}, {Dialect::postgres, kV3Postgres}}},
      {7, "jobs: leased background work shared by replicas", {{Dialect::sqlite, kV7Sqlite}, {Dialect::postgres, kV7Postgres}}},
  };
}

std::vector<Migration> compose_migrations(const std::vector<std::vector<Migration>>& parts) {
  std::vector<Migration> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  std::sort(all.begin(), all.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& m = all[i];
    if (m.version < 1 || (i > 0 && all[i - 1].version == m.version)) {
      throw std::logic_error("schema version " + std::to_string(m.version) + " is given twice (or is below 1): \"" + m.name +
                             "\"");
    }
    if (!m.sql.count(Dialect::sqlite) || !m.sql.count(Dialect::postgres)) {
      throw std::logic_error("schema version " + std::to_string(m.version) + " lacks SQL for a dialect");
    }
  }
  return all;
}

std::string migration_checksum(const Migration& m, Dialect d) {
  const auto it = m.sql.find(d);
  const std::string& sql = it == m.sql.end() ? std::string() : it->second;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(sql.data(), sql.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

MigrationStatus migration_status(Connection& c, const std::vector<Migration>& all) {
  if (c.dialect() == Dialect::postgres) ensure_schema(c);
  c.exec_script(kCreateHistory);
  MigrationStatus status;
  status.latest = all.empty() ? 0 : all.back().version;
  const auto rows = c.query("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version");
  for (std::size_t i = 0; i < rows.rows.size(); ++i) {
    AppliedMigration a{static_cast<int>(rows.get<std::int64_t>(i, 0)), rows.get<std::string>(i, 1), rows.get<std::string>(i, 2),
                       rows.get<std::string>(i, 3)};
    const auto known = std::find_if(all.begin(), all.end(), [&](const Migration& m) { return m.version == a.version; });
    if (known == all.end()) {
      throw DatabaseError(DatabaseError::Kind::schema, "the database has schema version " + std::to_string(a.version) +
                                                           ", which this build does not know (latest " +
                                                           std::to_string(status.latest) + "); run a newer nsl");
    }
    if (migration_checksum(*known, c.dialect()) != a.checksum) {
      throw DatabaseError(DatabaseError::Kind::schema,
                          "migration " + std::to_string(a.version) + " was changed after it was applied to this database");
    }
    status.current = std::max(status.current, a.version);
    status.applied.push_back(std::move(a));
  }
  for (const auto& m : all) {
    const bool done = std::any_of(status.applied.begin(), status.applied.end(),
                                  [&](const AppliedMigration& a) { return a.version == m.version; });
    if (!done) status.pending.push_back(m.version);
  }
  return status;
}

std::vector<int> migrate(Connection& c, const std::vector<Migration>& all, std::optional<int> target,
                         const std::function<void(const Migration&)>& progress) {
  std::vector<int> applied;
  const int goal = target.value_or(all.empty() ? 0 : all.back().version);
  // On PostgreSQL replicas starting together queue on an advisory lock (creating the schema and
  // the history table is not safe to race); SQLite's write lock does the same per migration.
  struct Unlock {
    Connection* c = nullptr;
    ~Unlock() {
      if (!c) return;
      try {
        c->query("SELECT pg_advisory_unlock($1)", {kMigrationLock});
      } catch (...) {
        // A lost connection releases the lock by itself.
      }
    }
  } unlock;
  if (c.dialect() == Dialect::postgres) {
    c.query("SELECT pg_advisory_lock($1)", {kMigrationLock});
    unlock.c = &c;
    ensure_schema(c);
  }
  for (const auto& m : all) {
    if (m.version > goal) break;
    c.begin_write();
    try {
      // Re-read inside the write transaction: another process may have applied it meanwhile.
      const auto status = migration_status(c, all);
      if (std::find(status.pending.begin(), status.pending.end(), m.version) == status.pending.end()) {
        c.rollback();
        continue;
      }
      const auto sql = m.sql.find(c.dialect());
      if (sql == m.sql.end()) {
        throw DatabaseError(DatabaseError::Kind::schema,
                            "migration " + std::to_string(m.version) + " has no " + dialect_name(c.dialect()) + " SQL");
      }
      if (progress) progress(m);
      c.exec_script(sql->second);
      c.query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
              {std::int64_t{m.version}, m.name, migration_checksum(m, c.dialect()), now_text(c)});
      c.commit();
      applied.push_back(m.version);
    } catch (...) {
      c.rollback();
      throw;
    }
  }
  return applied;
}

}  // namespace nsl::db
