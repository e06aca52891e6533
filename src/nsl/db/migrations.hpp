#pragma once

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nsl/db/database.hpp"

namespace nsl::db {

/// One schema version: its SQL per dialect, applied in one transaction.
struct Migration {
  int version;
  std::string name;
  std::map<Dialect, std::string> sql;
};

/// The platform's own versions: 1 (the guide's schema: storage_data, oracle_requests,
/// audit_logs), 3 (chain watcher state) and 7 (jobs). Services and identity bring theirs; the
/// application joins them all into one history (compose_migrations).
std::vector<Migration> platform_migrations();

/// One history from the versions of several owners, oldest first. A version given twice, or one
/// without SQLite and PostgreSQL SQL, is a programming error (std::logic_error).
std::vector<Migration> compose_migrations(const std::vector<std::vector<Migration>>& parts);

/// A version recorded in schema_migrations.
struct AppliedMigration {
  int version;
  std::string name;
  std::string checksum;
  std::string applied_at;
};

/// Where a database stands against the migrations this build knows.
struct MigrationStatus {
  int current = 0;
  int latest = 0;
  std::vector<AppliedMigration> applied;
  std::vector<int> pending;
};

/// Reports the schema version of a database against `all`. Throws DatabaseError if the recorded
/// history does not match this build (a changed migration, or a database newer than the build).
/// Pending: every version of `all` not applied, including one older than the newest applied (a
/// module added later with a version below it).
MigrationStatus migration_status(Connection& c, const std::vector<Migration>& all);

/// Applies pending migrations up to `target` (default: latest), each in its own write
/// transaction that first re-reads the version, so that several processes starting at once
/// apply each migration exactly once. `progress` is called before each migration.
/// Returns the versions applied by this call.
std::vector<int> migrate(Connection& c, const std::vector<Migration>& all, std::optional<int> target = std::nullopt,
                         const std::function<void(const Migration&)>& progress = {});

/// Hex SHA-256 of a migration's SQL for a dialect (detects edits to applied migrations).
std::string migration_checksum(const Migration& m, Dialect d);

}  // namespace nsl::db
