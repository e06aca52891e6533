#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "nsl/db/database.hpp"

namespace nsl::db {

/// PostgreSQL: creates the monthly audit_logs partitions (audit_logs_YYYY_MM) from the month of
/// `now` to `months_ahead` months later, moving into each any rows the default partition holds
/// for it. Safe to run on several replicas at once. Returns the partitions it created; nothing on
/// SQLite, whose audit_logs is one table.
std::vector<std::string> ensure_audit_partitions(Connection& c, std::chrono::system_clock::time_point now, int months_ahead = 2);

/// What one retention pass removed (guide §17.2).
struct RetentionReport {
  std::int64_t storage_expired = 0;             // storage_data rows past expires_at
  std::int64_t audit_rows = 0;                  // audit records deleted row by row
  std::int64_t identity_expired = 0;            // expired sign-in nonces, refresh tokens and revocations
  std::vector<std::string> partitions_dropped;  // whole monthly audit partitions dropped
};

/// Removes expired storage_data, expired wallet sign-in nonces, refresh tokens and access-token
/// revocations (the tokens they name have expired), and audit records older than `audit_days` days: on PostgreSQL by
/// dropping each monthly partition whose every record is older (and deleting such rows from the
/// default partition), on SQLite by deleting the rows.
RetentionReport apply_retention(Connection& c, std::chrono::system_clock::time_point now, int audit_days);

}  // namespace nsl::db
