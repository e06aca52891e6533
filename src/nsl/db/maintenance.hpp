#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nsl/db/database.hpp"

namespace nsl::db {

/// PostgreSQL: creates the monthly audit_logs partitions (audit_logs_YYYY_MM) from the month of
/// `now` to `months_ahead` months later, moving into each any rows the default partition holds
/// for it. Safe to run on several replicas at once. Returns the partitions it created; nothing on
/// SQLite, whose audit_logs is one table.
std::vector<std::string> ensure_audit_partitions(Connection& c, std::chrono::system_clock::time_point now, int months_ahead = 2);

/// A module's share of retention (guide §17.2): `apply` deletes what has expired at `now` and
/// returns how many rows it removed.
struct Retention {
  std::string key;   // its field in the "retention applied" log line: storage_expired
  std::string what;  // its line in `nsl retention run`: expired storage entries removed
  std::function<std::int64_t(Connection&, std::chrono::system_clock::time_point now)> apply;
};

/// What one retention pass removed.
struct RetentionReport {
  struct Removed {
    std::string key;
    std::string what;
    std::int64_t rows = 0;
  };
  std::vector<Removed> removed;                 // by each rule, in the order given
  std::int64_t audit_rows = 0;                  // audit records deleted row by row
  std::vector<std::string> partitions_dropped;  // whole monthly audit partitions dropped
  /// Whether anything at all was removed.
  bool any() const;
};

/// Applies each module's `rules`, then removes audit records older than `audit_days` days: on
/// PostgreSQL by dropping each monthly partition whose every record is older (and deleting such
/// rows from the default partition), on SQLite by deleting the rows.
RetentionReport apply_retention(Connection& c, std::chrono::system_clock::time_point now, int audit_days,
                                const std::vector<Retention>& rules);

}  // namespace nsl::db
