#include "nsl/db/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "nsl/core/ids.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/db/sqlite_database.hpp"

namespace nsl::db {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kSqliteSuffix = ".sqlite.gz";
constexpr const char* kPgSuffix = ".pgdump";

bool ends_with(const std::string& s, std::string_view tail) { return s.size() >= tail.size() && s.ends_with(tail); }

// UTC time to the millisecond: names sort in time order and two backups never collide.
std::string stamp() {
  auto t = utc_now_text();  // 2026-11-29T06:30:00.123Z
  std::string out;
  for (char c : t) {
    if (c != '-' && c != ':' && c != '.') out.push_back(c);
  }
  return out;  // 20261129T063000123Z
}

std::string human_bytes(std::uint64_t n) {
  char buf[64];
  if (n >= 1 << 20)
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  return buf;
}

// --- PostgreSQL client tools -----------------------------------------------------------------

std::string pg_tool(const std::string& name) {
  if (const char* dir = std::getenv("NSL_PG_BIN")) return (fs::path(dir) / name).string();
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    if (fs::exists(e.path() / "bin" / name)) found.push_back(e.path() / "bin" / name);
  }
  std::sort(found.begin(), found.end());
  if (!found.empty()) return found.back().string();
  return name;  // from PATH
}

// Runs a PostgreSQL tool with the connection in its environment (never on its command line, where
// `ps` would show the password); each stderr line goes to `line`. Returns the exit status and
// the last lines of stderr.
std::pair<int, std::string> run_pg_tool(const PgOptions& o, const std::string& database, std::vector<std::string> args,
                                        const std::function<void(const std::string&)>& line) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(pipe_fds[1], 2);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::setenv("PGHOST", o.host.c_str(), 1);
    ::setenv("PGPORT", std::to_string(o.port).c_str(), 1);
    ::setenv("PGUSER", o.username.c_str(), 1);
    ::setenv("PGDATABASE", database.c_str(), 1);
    if (!o.password.empty()) ::setenv("PGPASSWORD", o.password.c_str(), 1);
    if (!o.ssl_mode.empty()) ::setenv("PGSSLMODE", o.ssl_mode.c_str(), 1);
    ::setenv("PGCONNECT_TIMEOUT", std::to_string(o.timeout_s).c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string pending, tail;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) {
    pending.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      const auto text = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (line) line(text);
      tail += text + "\n";
      if (tail.size() > 2000) tail.erase(0, tail.size() - 2000);
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  tail += pending;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), tail};
}

void require_ok(const std::pair<int, std::string>& r, const std::string& what) {
  if (r.first != 0) throw std::runtime_error(what + " failed (exit " + std::to_string(r.first) + "): " + r.second);
}

// The schema a custom-format dump holds (from its table of contents).
std::string dumped_schema(const PgOptions& o, const std::string& file) {
  std::string listing;
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    const std::string tool = pg_tool("pg_restore");
    ::execl(tool.c_str(), tool.c_str(), "--list", file.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) listing.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  (void)o;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error(file + " is not a readable pg_dump archive");
  // "; ... SCHEMA - neo_service_layer owner" lines name the schema.
  const auto pos = listing.find(" SCHEMA - ");
  if (pos == std::string::npos) throw std::runtime_error(file + " holds no schema");
  const auto start = pos + 10;
  return listing.substr(start, listing.find(' ', start) - start);
}

// --- SQLite --------------------------------------------------------------------------------

void gzip_file(const fs::path& from, const fs::path& to) {
  std::FILE* in = std::fopen(from.c_str(), "rb");
  if (!in) throw std::runtime_error("cannot read " + from.string());
  gzFile out = gzopen(to.c_str(), "wb6");
  if (!out) {
    std::fclose(in);
    throw std::runtime_error("cannot write " + to.string());
  }
  char buf[1 << 16];
  std::size_t n;
  bool ok = true;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0)
    ok = ok && gzwrite(out, buf, static_cast<unsigned>(n)) == static_cast<int>(n);
  std::fclose(in);
  ok = gzclose(out) == Z_OK && ok;
  if (!ok) throw std::runtime_error("cannot write " + to.string());
}

void gunzip_file(const fs::path& from, const fs::path& to) {
  gzFile in = gzopen(from.c_str(), "rb");
  if (!in) throw std::runtime_error("cannot read " + from.string());
  std::FILE* out = std::fopen(to.c_str(), "wb");
  if (!out) {
    gzclose(in);
    throw std::runtime_error("cannot write " + to.string());
  }
  char buf[1 << 16];
  int n;
  bool ok = true;
  while ((n = gzread(in, buf, sizeof buf)) > 0)
    ok = ok && std::fwrite(buf, 1, static_cast<std::size_t>(n), out) == static_cast<std::size_t>(n);
  int gz_status = Z_OK;
  gzerror(in, &gz_status);
  const bool read_ok = n == 0 && gz_status == Z_OK;
  gzclose(in);
  ok = std::fclose(out) == 0 && ok;
  if (!read_ok) throw std::runtime_error(from.string() + " is damaged (gzip data does not decompress)");
  if (!ok) throw std::runtime_error("cannot write " + to.string());
}

// Copies a live SQLite database page by page with the online backup API.
void sqlite_snapshot(const std::string& source, const fs::path& to, const Progress& progress) {
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  if (sqlite3_open_v2(source.c_str(), &src, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const std::string msg = src ? sqlite3_errmsg(src) : "out of memory";
    sqlite3_close(src);
    throw std::runtime_error("cannot open " + source + ": " + msg);
  }
  sqlite3_busy_timeout(src, 5000);
  if (sqlite3_open(to.c_str(), &dst) != SQLITE_OK) {
    sqlite3_close(src);
    sqlite3_close(dst);
    throw std::runtime_error("cannot create " + to.string());
  }
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  int rc = b ? SQLITE_OK : SQLITE_ERROR;
  int last_tenth = -1;
  while (b && (rc = sqlite3_backup_step(b, 256)) != SQLITE_DONE) {
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    const int total = sqlite3_backup_pagecount(b);
    const int done = total - sqlite3_backup_remaining(b);
    const int tenth = total ? done * 10 / total : 10;
    if (progress && tenth != last_tenth) progress("copied " + std::to_string(done) + " of " + std::to_string(total) + " pages");
    last_tenth = tenth;
    if (rc != SQLITE_OK) sqlite3_sleep(20);
  }
  if (b) sqlite3_backup_finish(b);
  const std::string msg = sqlite3_errmsg(dst);
  sqlite3_close(dst);
  sqlite3_close(src);
  if (rc != SQLITE_DONE) throw std::runtime_error("SQLite backup failed: " + msg);
}

// An identifier in double quotes, as both dialects read it (a backup's names are not trusted).
std::string quote_identifier(const std::string& name) {
  std::string out = "\"";
  for (const char ch : name) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

// Every table of the backup, whichever module made it, by name (PostgreSQL partitions are counted
// in their parent table).
std::vector<std::pair<std::string, std::int64_t>> count_rows(Connection& c) {
  const auto tables =
      c.query(c.dialect() == Dialect::postgres
                  ? "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"
                  : "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1");
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (std::size_t i = 0; i < tables.rows.size(); ++i) {
    auto table = tables.get<std::string>(i, 0);
    const auto n = c.query("SELECT count(*) FROM " + quote_identifier(table)).get<std::int64_t>(0, 0);
    out.emplace_back(std::move(table), n);
  }
  return out;
}

void prune(const BackupOptions& options, const std::string& keep_path, std::vector<std::string>& removed) {
  std::vector<fs::path> backups;
  for (const auto& e : fs::directory_iterator(options.directory)) {
    const auto name = e.path().filename().string();
    if (name.starts_with("nsl-") && (ends_with(name, kSqliteSuffix) || ends_with(name, kPgSuffix))) backups.push_back(e.path());
  }
  std::sort(backups.begin(), backups.end(), [](const fs::path& a, const fs::path& b) { return a.filename() > b.filename(); });
  const auto max_age = std::chrono::hours(24) * options.max_age_days;
  const auto now = fs::file_time_type::clock::now();
  for (std::size_t i = 0; i < backups.size(); ++i) {
    if (backups[i].string() == keep_path) continue;
    const bool too_many = static_cast<int>(i) >= options.keep;
    const bool too_old = now - fs::last_write_time(backups[i]) > max_age;
    if (too_many || too_old) {
      fs::remove(backups[i]);
      removed.push_back(backups[i].string());
    }
  }
}

}  // namespace

BackupResult backup(const DatabaseTarget& target, const BackupOptions& options, const Progress& progress) {
  const auto started = Clock::now();
  fs::create_directories(options.directory);
  const bool pg = target.dialect == Dialect::postgres;
  const fs::path final_path = fs::path(options.directory) / ("nsl-" + stamp() + (pg ? kPgSuffix : kSqliteSuffix));
  const fs::path partial = fs::path(final_path.string() + ".partial");
  try {
    if (pg) {
      const auto& o = target.postgres;
      if (progress) progress("dumping schema " + o.search_path + " of " + o.describe() + " with pg_dump");
      require_ok(run_pg_tool(o, o.database,
                             {pg_tool("pg_dump"), "--format=custom", "--compress=6", "--no-owner", "--verbose",
                              "--schema=" + o.search_path, "--file=" + partial.string()},
                             [&](const std::string& l) {
                               if (progress && l.find("dumping contents of table") != std::string::npos) progress(l);
                             }),
                 "pg_dump");
    } else {
      if (!fs::exists(target.sqlite.path)) throw std::runtime_error("there is no database at " + target.sqlite.path);
      const fs::path copy = fs::path(final_path.string() + ".sqlite.partial");
      if (progress) progress("copying " + target.sqlite.path + " with the SQLite online backup API");
      sqlite_snapshot(target.sqlite.path, copy, progress);
      if (progress) progress("compressing " + human_bytes(fs::file_size(copy)));
      try {
        gzip_file(copy, partial);
      } catch (...) {
        fs::remove(copy);
        throw;
      }
      fs::remove(copy);
    }
    fs::rename(partial, final_path);
  } catch (...) {
    std::error_code ec;
    fs::remove(partial, ec);
    throw;
  }
  BackupResult result;
  result.path = final_path.string();
  result.bytes = fs::file_size(final_path);
  prune(options, result.path, result.removed);
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

void restore(const DatabaseTarget& target, const std::string& file, bool force, const Progress& progress) {
  if (!fs::exists(file)) throw std::runtime_error("no backup at " + file);
  const bool pg_file = ends_with(file, kPgSuffix);
  const bool pg = target.dialect == Dialect::postgres;
  if (pg_file != pg) {
    throw std::runtime_error(std::string("this is a ") + (pg_file ? "PostgreSQL" : "SQLite") +
                             " backup and the configuration names a " + (pg ? "PostgreSQL" : "SQLite") + " database");
  }
  if (pg) {
    const auto& o = target.postgres;
    const auto schema = dumped_schema(o, file);
    if (schema != o.search_path) {
      throw std::runtime_error("the backup holds schema " + schema + " and the configuration names schema " + o.search_path);
    }
    auto c = PgDatabase::open(o);
    const auto existing =
        c->query("SELECT count(*) FROM pg_tables WHERE schemaname = $1", {o.search_path}).get<std::int64_t>(0, 0);
    if (existing > 0 && !force) {
      throw std::runtime_error("schema " + o.search_path + " already holds " + std::to_string(existing) +
                               " tables; pass --force to replace them with the backup");
    }
    if (existing > 0) c->exec_script("DROP SCHEMA " + o.search_path + " CASCADE");
    c.reset();
    if (progress) progress("restoring " + file + " into " + o.describe());
    require_ok(run_pg_tool(o, o.database,
                           {pg_tool("pg_restore"), "--no-owner", "--single-transaction", "--exit-on-error", "--verbose",
                            "--dbname=" + o.database, file},
                           [&](const std::string& l) {
                             if (progress && l.find("processing data for table") != std::string::npos) progress(l);
                           }),
               "pg_restore");
    return;
  }
  const fs::path db_path = target.sqlite.path;
  if (fs::exists(db_path) && fs::file_size(db_path) > 0 && !force) {
    throw std::runtime_error(db_path.string() + " exists; stop every server using it and pass --force to replace it");
  }
  if (db_path.has_parent_path()) fs::create_directories(db_path.parent_path());
  const fs::path staged = fs::path(db_path.string() + ".restore");
  if (progress) progress("decompressing " + file);
  gunzip_file(file, staged);
  {
    SqliteOptions so;
    so.path = staged.string();
    auto c = SqliteDatabase::open(so);
    const auto check = c->query("PRAGMA integrity_check").get<std::string>(0, 0);
    if (check != "ok") {
      fs::remove(staged);
      throw std::runtime_error("the backup fails SQLite's integrity check: " + check);
    }
    c->exec_script("PRAGMA wal_checkpoint(TRUNCATE);");
  }
  std::error_code ec;
  fs::remove(staged.string() + "-wal", ec);
  fs::remove(staged.string() + "-shm", ec);
  fs::remove(db_path.string() + "-wal", ec);
  fs::remove(db_path.string() + "-shm", ec);
  fs::rename(staged, db_path);
  if (progress) progress("restored " + db_path.string());
}

VerifyReport verify_backup(const DatabaseTarget& target, const std::string& file, const std::vector<Migration>& all,
                           const Progress& progress) {
  if (!fs::exists(file)) throw std::runtime_error("no backup at " + file);
  VerifyReport report;
  if (ends_with(file, kPgSuffix)) {
    if (target.dialect != Dialect::postgres) {
      throw std::runtime_error(
          "verifying a PostgreSQL backup needs a PostgreSQL server: configure ConnectionStrings:DefaultConnection");
    }
    PgOptions scratch = target.postgres;
    scratch.search_path = dumped_schema(scratch, file);
    scratch.database = target.postgres.database + "_verify_" + random_uuid().substr(0, 8);
    auto admin = PgDatabase::open(target.postgres);
    try {
      admin->exec_script("CREATE DATABASE " + scratch.database);
    } catch (const DatabaseError& e) {
      throw std::runtime_error(std::string("cannot create the scratch database (the role needs CREATEDB): ") + e.what());
    }
    struct Drop {
      Connection& admin;
      std::string name;
      ~Drop() {
        try {
          admin.exec_script("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (...) {}
      }
    } drop{*admin, scratch.database};
    if (progress) progress("restoring " + file + " into scratch database " + scratch.database);
    require_ok(run_pg_tool(scratch, scratch.database,
                           {pg_tool("pg_restore"), "--no-owner", "--single-transaction", "--exit-on-error",
                            "--dbname=" + scratch.database, file},
                           {}),
               "pg_restore");
    auto c = PgDatabase::open(scratch);
    report.schema_version = migration_status(*c, all).current;
    report.counts = count_rows(*c);
    report.integrity = "ok";
    return report;
  }
  if (!ends_with(file, kSqliteSuffix)) throw std::runtime_error(file + " is not an nsl backup (.sqlite.gz or .pgdump)");
  const fs::path scratch = fs::temp_directory_path() / ("nsl-verify-" + random_uuid() + ".db");
  struct Remove {
    fs::path p;
    ~Remove() {
      std::error_code ec;
      for (const char* s : {"", "-wal", "-shm"}) fs::remove(p.string() + s, ec);
    }
  } remove{scratch};
  if (progress) progress("decompressing " + file + " into " + scratch.string());
  gunzip_file(file, scratch);
  SqliteOptions so;
  so.path = scratch.string();
  auto c = SqliteDatabase::open(so);
  report.integrity = c->query("PRAGMA integrity_check").get<std::string>(0, 0);
  report.schema_version = migration_status(*c, all).current;
  report.counts = count_rows(*c);
  return report;
}

}  // namespace nsl::db
