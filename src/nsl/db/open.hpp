#pragma once

#include <memory>

#include "nsl/core/config.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/db/database.hpp"
#include "nsl/db/postgres.hpp"

namespace nsl::db {

/// Where the configuration says the data lives.
struct DatabaseTarget {
  Dialect dialect = Dialect::sqlite;
  SqliteOptions sqlite;
  PgOptions postgres;
};

/// Reads `ConnectionStrings:DefaultConnection` and `Database`: empty (the embedded default) or
/// `Data Source=PATH` selects SQLite; `Host=...;Database=...` or `postgresql://...` selects
/// PostgreSQL. Throws StartupError naming what is wrong.
DatabaseTarget database_target(const config::Settings& settings);

/// Opens the database the configuration names. Throws StartupError with a clear message.
std::unique_ptr<Database> open_database(const config::Settings& settings, metrics::Registry& registry, log::Logger log = {});

}  // namespace nsl::db
