#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "nsl/db/migrations.hpp"
#include "nsl/db/open.hpp"

namespace nsl::db {

/// `nsl backup`: where backups go and how many are kept (guide §12.1.1 keeps 7 days).
struct BackupOptions {
  std::string directory = "backups";
  int keep = 7;           // newest backups kept in the directory
  int max_age_days = 30;  // older ones are removed even within `keep`; the new one always stays
};

struct BackupResult {
  std::string path;
  std::uint64_t bytes = 0;
  double seconds = 0;
  std::vector<std::string> removed;  // old backups pruned
};

/// Progress lines for long runs (printed by the commands on stderr).
using Progress = std::function<void(const std::string&)>;

/// A consistent, compressed snapshot: SQLite through its online backup API (readers and writers
/// carry on) then gzip, `nsl-YYYYMMDDTHHMMSSmmmZ.sqlite.gz`; PostgreSQL through pg_dump in its custom
/// (compressed) format, of the configured schema only, `nsl-YYYYMMDDTHHMMSSmmmZ.pgdump`. Written to a
/// temporary name and renamed when complete. Throws std::runtime_error saying what failed.
BackupResult backup(const DatabaseTarget& target, const BackupOptions& options, const Progress& progress);

/// Replaces the configured database with a backup (servers must be stopped). Refuses a database
/// that holds data unless `force`, and a backup of the other backend or of another schema.
void restore(const DatabaseTarget& target, const std::string& file, bool force, const Progress& progress);

/// What `nsl backup verify` found in a backup restored into a scratch database.
struct VerifyReport {
  int schema_version = 0;
  std::vector<std::pair<std::string, std::int64_t>> counts;  // every table, by name
  std::string integrity;                                     // "ok" or what is wrong
};

/// Restores a backup into a scratch database (a temporary SQLite file, or a scratch PostgreSQL
/// database created beside the configured one and dropped afterwards) and counts its rows.
VerifyReport verify_backup(const DatabaseTarget& target, const std::string& file, const std::vector<Migration>& all,
                           const Progress& progress);

}  // namespace nsl::db
