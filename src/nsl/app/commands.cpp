#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "nsl/app/commands.hpp"
#include "nsl/app/services.hpp"
#include "nsl/core/build_info.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/core/strings.hpp"
#include "nsl/db/backup.hpp"
#include "nsl/db/maintenance.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/db/open.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/enclave/attestation.hpp"
#include "nsl/services/identity/identity.hpp"

namespace nsl::app {

int migrate(const config::Source& source, bool status_only, std::optional<int> target) {
  const auto settings = config::load(source, service_settings());
  metrics::Registry registry;
  auto s = settings;
  s.database.pool_size = 1;
  auto database = db::open_database(s, registry);
  int code = 0;
  database->with_connection_blocking([&](db::Connection& c) {
    auto status = db::migration_status(c, schema_migrations());
    std::printf("database: %s\nschema version: %d (this build knows up to %d)\n", database->describe().c_str(), status.current,
                status.latest);
    if (status_only) {
      for (const auto& a : status.applied)
        std::printf("  applied  %3d  %s  (%s)\n", a.version, a.name.c_str(), a.applied_at.c_str());
      for (const auto& m : schema_migrations()) {
        if (std::find(status.pending.begin(), status.pending.end(), m.version) != status.pending.end())
          std::printf("  pending  %3d  %s\n", m.version, m.name.c_str());
      }
      return;
    }
    if (target && (*target < status.current || *target > status.latest)) {
      std::fprintf(stderr, "nsl migrate: --to %d is outside %d..%d (migrations only go forward)\n", *target, status.current,
                   status.latest);
      code = 2;
      return;
    }
    const auto applied = db::migrate(c, schema_migrations(), target, [](const db::Migration& m) {
      std::printf("applying %d: %s ...\n", m.version, m.name.c_str());
      std::fflush(stdout);
    });
    status = db::migration_status(c, schema_migrations());
    if (applied.empty())
      std::printf("nothing to apply; schema is at version %d\n", status.current);
    else
      std::printf("done: applied %zu migration(s); schema is at version %d\n", applied.size(), status.current);
  });
  return code;
}

int config_check(const config::Source& source) {
  const auto settings = config::load(source, service_settings());
  // Catch backend problems that configuration alone can reveal (e.g. a PostgreSQL string).
  (void)db::database_target(settings);
  std::cout << config::to_masked_json(settings, service_settings()).dump(2) << "\n";
  std::fprintf(stderr, "configuration OK (environment %s)\n", settings.environment.c_str());
  return 0;
}

int admin_create(const config::Source& source, const std::string& name, const std::string& role_text) {
  const auto settings = config::load(source, service_settings());
  const auto role = identity::parse_role(role_text);
  if (!role) throw StartupError("--role must be admin, operator, user or auditor");
  metrics::Registry registry;
  auto database = db::open_database(settings, registry);
  services::identity::CreatedAccount created;
  database->with_connection_blocking([&](db::Connection& c) {
    const auto status = db::migration_status(c, schema_migrations());
    if (!status.pending.empty()) throw StartupError("the database schema is not current: run `nsl migrate` first");
    c.begin_write();
    try {
      created = services::identity::create_account(c, name, *role);
      c.commit();
    } catch (...) {
      c.rollback();
      throw;
    }
  });
  std::printf("account  %s (%s, role %s)\n", created.account.id.c_str(), name.c_str(), role_text.c_str());
  std::printf("api key  %s\n", created.api_key.c_str());
  std::printf("The key is shown only now. Send it as X-API-Key, or exchange it at POST /v1/auth/token.\n");
  return 0;
}

int audit_export(const config::Source& source, const std::string& from, const std::string& to, const std::string& principal) {
  const auto settings = config::load(source, service_settings());
  metrics::Registry registry;
  auto database = db::open_database(settings, registry);
  std::int64_t after = 0, total = 0;
  const auto started = std::chrono::steady_clock::now();
  while (true) {
    db::Result rows;
    database->with_connection_blocking([&](db::Connection& c) {
      std::string sql =
          "SELECT id, event_type, user_address, service_name, method_name, request_id, correlation_id, ip_address, user_agent, "
          "request_data, response_data, status_code, error_message, execution_time_ms, created_at FROM audit_logs WHERE id > $1";
      std::vector<db::Value> params{after};
      if (!from.empty()) {
        params.emplace_back(from);
        sql += " AND created_at >= $" + std::to_string(params.size());
      }
      if (!to.empty()) {
        params.emplace_back(to);
        sql += " AND created_at < $" + std::to_string(params.size());
      }
      if (!principal.empty()) {
        params.emplace_back(principal);
        sql += " AND user_address = $" + std::to_string(params.size());
      }
      rows = c.query(sql + " ORDER BY id LIMIT 5000", params);
    });
    if (rows.empty()) break;
    for (std::size_t i = 0; i < rows.rows.size(); ++i) {
      nlohmann::json e;
      for (std::size_t k = 0; k < rows.columns.size(); ++k) {
        const auto& v = rows.rows[i][k];
        if (std::holds_alternative<std::int64_t>(v)) {
          e[rows.columns[k]] = std::get<std::int64_t>(v);
        } else if (std::holds_alternative<std::string>(v)) {
          const auto& text = std::get<std::string>(v);
          const bool is_json = rows.columns[k] == "request_data" || rows.columns[k] == "response_data";
          e[rows.columns[k]] = is_json ? nlohmann::json::parse(text, nullptr, false) : nlohmann::json(text);
        } else {
          e[rows.columns[k]] = nullptr;
        }
      }
      std::fputs(e.dump().c_str(), stdout);
      std::fputc('\n', stdout);
    }
    after = rows.get<std::int64_t>(rows.rows.size() - 1, 0);
    total += static_cast<std::int64_t>(rows.rows.size());
    std::fprintf(stderr, "nsl audit export: %lld records ...\n", static_cast<long long>(total));
  }
  std::fflush(stdout);
  std::fprintf(stderr, "nsl audit export: %lld records in %.1f s\n", static_cast<long long>(total),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return 0;
}

namespace {
void progress_line(const std::string& line) { std::fprintf(stderr, "  %s\n", line.c_str()); }
}  // namespace

int backup(const config::Source& source, const std::string& directory, int keep, int max_age_days) {
  const auto settings = config::load(source, service_settings());
  db::BackupOptions options;
  options.directory = directory;
  options.keep = keep;
  options.max_age_days = max_age_days;
  std::fprintf(stderr, "nsl backup: starting\n");
  const auto r = db::backup(db::database_target(settings), options, progress_line);
  for (const auto& old : r.removed) std::fprintf(stderr, "  removed old backup %s\n", old.c_str());
  std::printf("%s\n", r.path.c_str());
  std::fprintf(stderr, "nsl backup: wrote %s (%llu bytes) in %.1f s\n", r.path.c_str(), static_cast<unsigned long long>(r.bytes),
               r.seconds);
  return 0;
}

int restore(const config::Source& source, const std::string& file, bool force) {
  const auto settings = config::load(source, service_settings());
  std::fprintf(stderr, "nsl restore: starting\n");
  db::restore(db::database_target(settings), file, force, progress_line);
  std::fprintf(stderr, "nsl restore: done; start the servers again\n");
  return 0;
}

int backup_verify(const config::Source& source, const std::string& file) {
  const auto settings = config::load(source, service_settings());
  const auto report = db::verify_backup(db::database_target(settings), file, schema_migrations(), progress_line);
  std::printf("schema version  %d\n", report.schema_version);
  for (const auto& [table, count] : report.counts) std::printf("%-22s %lld rows\n", table.c_str(), static_cast<long long>(count));
  std::printf("integrity       %s\n", report.integrity.c_str());
  const bool ok = report.integrity == "ok";
  std::printf(ok ? "the backup restores\n" : "the backup is DAMAGED\n");
  return ok ? 0 : 1;
}

int retention_run(const config::Source& source) {
  const auto settings = config::load(source, service_settings());
  metrics::Registry registry;
  auto database = db::open_database(settings, registry);
  db::RetentionReport report;
  database->with_connection_blocking([&](db::Connection& c) {
    const auto now = std::chrono::system_clock::now();
    db::ensure_audit_partitions(c, now);
    report = db::apply_retention(c, now, settings.security.audit_retention_days, retention_rules());
  });
  for (const auto& r : report.removed) std::printf("%-42s %lld\n", r.what.c_str(), static_cast<long long>(r.rows));
  std::printf("audit records removed                      %lld\n", static_cast<long long>(report.audit_rows));
  std::printf("audit partitions dropped                   %zu%s%s\n", report.partitions_dropped.size(),
              report.partitions_dropped.empty() ? "" : ": ", join(report.partitions_dropped, ", ").c_str());
  return 0;
}

int attest_verify(const AttestVerifyOptions& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) throw StartupError("cannot read " + o.file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  enclave::AttestationExpectations expect;
  if (!o.nonce.empty()) expect.nonce = o.nonce;
  if (!o.measurement.empty()) expect.measurement = o.measurement;
  if (!o.enclave_binary.empty()) {
    std::ifstream bin(o.enclave_binary, std::ios::binary);
    if (!bin) throw StartupError("cannot read " + o.enclave_binary);
    const std::string bytes((std::istreambuf_iterator<char>(bin)), std::istreambuf_iterator<char>());
    expect.measurement = crypto::to_hex(crypto::sha256(crypto::as_bytes(bytes)));
  }
  if (o.max_age_seconds > 0) expect.max_age = std::chrono::seconds(o.max_age_seconds);
  expect.allow_simulation = o.allow_simulation;
  if (!o.attestation_key.empty()) expect.attestation_key = o.attestation_key;
  for (const auto& pin : o.keys) {
    const auto eq = pin.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pin.size()) throw StartupError("--key must be PURPOSE=HEX, not " + pin);
    expect.keys.emplace_back(pin.substr(0, eq), pin.substr(eq + 1));
  }
  bool all = true;
  for (const auto& c : enclave::verify_attestation(doc.is_discarded() ? nlohmann::json() : doc, expect)) {
    std::printf("%-12s %-6s %s\n", c.name.c_str(), c.passed ? "ok" : "FAILED", c.detail.c_str());
    all = all && c.passed;
  }
  std::printf(all ? "the report is valid\n" : "the report is NOT valid\n");
  return all ? 0 : 1;
}

int version() {
  std::printf("nsl %s (%s build, %s)\n", build_info::kVersion, build_info::kBuildType, build_info::kCompiler);
  return 0;
}

}  // namespace nsl::app
