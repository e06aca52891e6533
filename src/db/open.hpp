#pragma once

#include <memory>

#include "nsl/core/config.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/db/database.hpp"

namespace nsl::db {

/// Where the configuration says the data lives.
struct DatabaseTarget {
  Dialect dialect = Dialect::sqlite;
  SqliteOptions sqlite;
};

/// Reads `ConnectionStrings:DefaultConnection` and `Database`: empty (the embedded default) or
/// `Data Source=PATH` selects SQLite; a PostgreSQL connection string is recognised and refused
/// with a StartupError until the PostgreSQL backend exists.
DatabaseTarget database_target(const config::Settings& settings);

/// Opens the database the configuration names. Throws StartupError with a clear message.
std::unique_ptr<Database> open_database(const config::Settings& settings, metrics::Registry& registry);

}  // namespace nsl::db
