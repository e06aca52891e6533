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
  const auto lower = to_lower(cs);
  if (lower.starts_with("postgres://") || lower.starts_with("postgresql://") || lower.find("host=") != std::string::npos) {
    throw StartupError(
        "ConnectionStrings:DefaultConnection names a PostgreSQL server, but this build has no PostgreSQL backend yet; "
        "leave it empty to use the embedded SQLite database (Database:SqlitePath)");
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
      "ConnectionStrings:DefaultConnection is not understood: use \"Data Source=PATH\" for SQLite, or leave it empty");
}

std::unique_ptr<Database> open_database(const config::Settings& settings, metrics::Registry& registry) {
  const auto target = database_target(settings);
  try {
    return std::make_unique<SqliteDatabase>(target.sqlite, registry);
  } catch (const DatabaseError& e) {
    throw StartupError("cannot open the SQLite database at " + target.sqlite.path + ": " + e.what());
  }
}

}  // namespace nsl::db
