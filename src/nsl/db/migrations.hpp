#pragma once

#include <functional>
#include <map>
#include <optional>
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

/// The project's one migration history, oldest first.
const std::vector<Migration>& migrations();

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

/// Reports the schema version of a database. Throws DatabaseError if the recorded history does
/// not match this build (a changed migration, or a database newer than the build).
MigrationStatus migration_status(Connection& c, const std::vector<Migration>& all = migrations());

/// Applies pending migrations up to `target` (default: latest), each in its own write
/// transaction that first re-reads the version, so that several processes starting at once
/// apply each migration exactly once. `progress` is called before each migration.
/// Returns the versions applied by this call.
std::vector<int> migrate(Connection& c, std::optional<int> target = std::nullopt,
                         const std::function<void(const Migration&)>& progress = {},
                         const std::vector<Migration>& all = migrations());

/// Hex SHA-256 of a migration's SQL for a dialect (detects edits to applied migrations).
std::string migration_checksum(const Migration& m, Dialect d);

}  // namespace nsl::db
