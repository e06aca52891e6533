#include "nsl/db/maintenance.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <cstdio>
#include <ctime>

namespace nsl::db {
namespace {

struct Month {
  int year;
  int month;  // 1..12
  Month next() const { return month == 12 ? Month{year + 1, 1} : Month{year, month + 1}; }
  std::string name() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "audit_logs_%04d_%02d", year, month);
    return buf;
  }
  std::string start() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-01T00:00:00.000Z", year, month);
    return buf;
  }
};

Month month_of(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return {tm.tm_year + 1900, tm.tm_mon + 1};
}

// "audit_logs_YYYY_MM" exactly.
bool parse_partition(const std::string& name, Month& out) {
  constexpr std::string_view kPrefix = "audit_logs_";
  if (name.size() != kPrefix.size() + 7 || !name.starts_with(kPrefix) || name[kPrefix.size() + 4] != '_') return false;
  int y = 0, m = 0;
  const char* year = name.data() + kPrefix.size();
  if (std::from_chars(year, year + 4, y).ptr != year + 4 || std::from_chars(year + 5, year + 7, m).ptr != year + 7) return false;
  if (m < 1 || m > 12) return false;
  out = {y, m};
  return true;
}

std::vector<std::string> partitions(Connection& c) {
  const auto rows = c.query(
      "SELECT child.relname FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid "
      "JOIN pg_class parent ON parent.oid = i.inhparent "
      "WHERE parent.relname = 'audit_logs' AND parent.relnamespace = current_schema()::regnamespace");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < rows.rows.size(); ++i) out.push_back(rows.get<std::string>(i, 0));
  return out;
}

}  // namespace

std::vector<std::string> ensure_audit_partitions(Connection& c, std::chrono::system_clock::time_point now, int months_ahead) {
  std::vector<std::string> created;
  if (c.dialect() != Dialect::postgres) return created;
  const auto existing = partitions(c);
  Month m = month_of(now);
  for (int i = 0; i <= months_ahead; ++i, m = m.next()) {
    const auto name = m.name();
    if (std::find(existing.begin(), existing.end(), name) != existing.end()) continue;
    const auto from = m.start(), to = m.next().start();
    c.begin_write();
    try {
      // Rows the default partition caught for this month move into the new partition.
      c.exec_script(
          "CREATE TEMP TABLE nsl_audit_move ON COMMIT DROP AS SELECT * FROM audit_logs_default "
          "WHERE created_at >= '" +
          from + "' AND created_at < '" + to +
          "';"
          "DELETE FROM audit_logs_default WHERE created_at >= '" +
          from + "' AND created_at < '" + to +
          "';"
          "CREATE TABLE " +
          name + " PARTITION OF audit_logs FOR VALUES FROM ('" + from + "') TO ('" + to +
          "');"
          "INSERT INTO audit_logs SELECT * FROM nsl_audit_move;");
      c.commit();
      created.push_back(name);
    } catch (const DatabaseError& e) {
      c.rollback();
      // Another replica created it first.
      if (e.kind() != DatabaseError::Kind::schema && e.kind() != DatabaseError::Kind::busy &&
          e.kind() != DatabaseError::Kind::unique_violation) {
        throw;
      }
    }
  }
  return created;
}

bool RetentionReport::any() const {
  return audit_rows > 0 || !partitions_dropped.empty() ||
         std::any_of(removed.begin(), removed.end(), [](const Removed& r) { return r.rows > 0; });
}

RetentionReport apply_retention(Connection& c, std::chrono::system_clock::time_point now, int audit_days,
                                const std::vector<Retention>& rules) {
  RetentionReport report;
  for (const auto& rule : rules) report.removed.push_back({rule.key, rule.what, rule.apply(c, now)});
  const auto cutoff_time = now - std::chrono::hours(24) * audit_days;
  const auto cutoff = utc_text(cutoff_time);
  if (c.dialect() == Dialect::postgres) {
    for (const auto& name : partitions(c)) {
      Month m{};
      if (!parse_partition(name, m)) continue;
      if (m.next().start() <= cutoff) {  // every record in it is older than the cutoff
        c.exec_script("DROP TABLE IF EXISTS " + name);
        report.partitions_dropped.push_back(name);
      }
    }
    report.audit_rows = c.query("DELETE FROM audit_logs_default WHERE created_at < $1", {cutoff}).affected;
  } else {
    report.audit_rows = c.query("DELETE FROM audit_logs WHERE created_at < $1", {cutoff}).affected;
  }
  return report;
}

}  // namespace nsl::db
