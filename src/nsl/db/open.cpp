#include "nsl/db/open.hpp"

#include "nsl/core/strings.hpp"
#include "nsl/db/sqlite_database.hpp"

namespace nsl::db {

DatabaseTarget database_target(const config::Settings& settings) {
  DatabaseTarget target;
  target.sqlite.path = settings.database.sqlite_path;
  target.sqlite.pool_size = settings.database.pool_size;
  target.sqlite.busy_timeout_ms = settings.database.busy_timeout_ms;
  const std::string& cs = settings.connection_strings.default_connection;
  if (trim(cs).empty()) return target;
  if (looks_like_postgres(cs)) {
    try {
      target.postgres = parse_pg_connection_string(cs);
    } catch (const std::invalid_argument& e) {
      throw StartupError(std::string("ConnectionStrings:DefaultConnection: ") + e.what());
    }
    target.dialect = Dialect::postgres;
    return target;
  }
  for (auto item : split(cs, ";")) {
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const auto key = to_lower(trim(item.substr(0, eq)));
    if (key == "data source" || key == "datasource" || key == "filename") {
      target.sqlite.path = std::string(trim(item.substr(eq + 1)));
      return target;
    }
  }
  throw StartupError(
      "ConnectionStrings:DefaultConnection is not understood: use \"Host=...;Database=...;Username=...;Password=...\" "
      "or postgresql://user:password@host:port/database for PostgreSQL, \"Data Source=PATH\" for SQLite, or leave it "
      "empty for the embedded SQLite database");
}

std::unique_ptr<Database> open_database(const config::Settings& settings, metrics::Registry& registry, log::Logger log) {
  const auto target = database_target(settings);
  if (target.dialect == Dialect::postgres) {
    try {
      return std::make_unique<PgDatabase>(target.postgres, registry, std::move(log));
    } catch (const DatabaseError& e) {
      throw StartupError(std::string("cannot open the PostgreSQL database: ") + e.what());
    }
  }
  try {
    return std::make_unique<SqliteDatabase>(target.sqlite, registry);
  } catch (const DatabaseError& e) {
    throw StartupError("cannot open the SQLite database at " + target.sqlite.path + ": " + e.what());
  }
}

}  // namespace nsl::db
