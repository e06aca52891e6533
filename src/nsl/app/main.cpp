// nsl: the Neo Service Layer server and its operator commands.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "nsl/app/commands.hpp"
#include "nsl/core/config.hpp"
#include "nsl/db/database.hpp"

namespace {

// Options every command that reads the configuration shares.
struct ConfigOptions {
  std::string directory;
  std::string environment;
  std::string urls;

  void add_to(CLI::App* cmd) {
    cmd->add_option("-c,--config-dir", directory,
                    "Directory with appsettings.json and appsettings.<Environment>.json "
                    "(default: $NSL_CONFIG_DIR, else the current directory)");
    cmd->add_option("-e,--environment", environment,
                    "Environment name (default: $NSL_ENVIRONMENT, else $ASPNETCORE_ENVIRONMENT, else Production)");
  }

  nsl::config::Source source() const {
    nsl::config::Source s;
    s.env = nsl::config::process_environment();
    s.environment = environment;
    if (!directory.empty()) {
      s.directory = directory;
      s.directory_required = true;
    } else if (auto it = s.env.find("NSL_CONFIG_DIR"); it != s.env.end() && !it->second.empty()) {
      s.directory = it->second;
      s.directory_required = true;
    }
    if (!urls.empty()) s.env["NSL_URLS"] = urls;  // the command line wins over everything
    return s;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "nsl - Neo Service Layer: trusted off-chain services for Neo N3 and Neo X smart contracts.\n"
      "With no configuration, `nsl serve` runs on http://0.0.0.0:5000 with an embedded SQLite database."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");

  ConfigOptions options;
  auto* serve = app.add_subcommand("serve", "Run the HTTP API server until SIGTERM or SIGINT");
  options.add_to(serve);
  serve->add_option("--urls", options.urls, "Addresses to listen on, ';'-separated (overrides Urls and ASPNETCORE_URLS)");

  bool status_only = false;
  std::optional<int> target;
  auto* migrate = app.add_subcommand("migrate", "Apply pending database migrations, with progress");
  options.add_to(migrate);
  migrate->add_flag("--status", status_only, "Only show applied and pending migrations");
  migrate->add_option("--to", target, "Stop at this schema version (default: the latest)");

  auto* config = app.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "Validate the configuration and print it with secrets masked");
  options.add_to(check);

  auto* version = app.add_subcommand("version", "Print the version and build");

  std::string account_name, account_role = "admin";
  auto* admin = app.add_subcommand("admin", "Account administration");
  admin->require_subcommand(1);
  auto* create = admin->add_subcommand("create", "Create an account (the first admin) and print its API key once");
  options.add_to(create);
  create->add_option("--name", account_name, "The account's name")->required();
  create->add_option("--role", account_role, "admin, operator, user or auditor (default: admin)");

  std::string audit_from, audit_to, audit_principal;
  auto* audit = app.add_subcommand("audit", "Audit trail tools");
  audit->require_subcommand(1);
  auto* audit_export = audit->add_subcommand("export", "Write the audit trail as JSON lines to stdout, oldest first");
  options.add_to(audit_export);
  audit_export->add_option("--from", audit_from, "Only records at or after this time (ISO 8601, e.g. 2026-11-01T00:00:00Z)");
  audit_export->add_option("--to", audit_to, "Only records before this time (ISO 8601)");
  audit_export->add_option("--principal", audit_principal, "Only records of this principal (address or account id)");

  std::string backup_dir = "backups", backup_file;
  int backup_keep = 7, backup_max_age = 30;
  bool restore_force = false;
  auto* backup =
      app.add_subcommand("backup", "Back up the database (a consistent, compressed snapshot); `backup verify` checks one");
  options.add_to(backup);
  backup->add_option("-o,--output", backup_dir, "Directory for backups (default: backups)");
  backup->add_option("--keep", backup_keep, "Keep this many newest backups in the directory (default 7)")
      ->check(CLI::PositiveNumber);
  backup->add_option("--max-age-days", backup_max_age, "Remove backups older than this (default 30); the new one stays")
      ->check(CLI::PositiveNumber);
  auto* backup_verify =
      backup->add_subcommand("verify", "Restore a backup into a scratch database and print the row count of every table");
  options.add_to(backup_verify);
  backup_verify->add_option("file", backup_file, "The backup (.sqlite.gz or .pgdump)")->required();
  auto* restore = app.add_subcommand("restore", "Replace the configured database with a backup (stop the servers first)");
  options.add_to(restore);
  restore->add_option("file", backup_file, "The backup (.sqlite.gz or .pgdump)")->required();
  restore->add_flag("--force", restore_force, "Replace a database that holds data");
  auto* retention = app.add_subcommand("retention", "Data retention (guide §17.2)");
  retention->require_subcommand(1);
  auto* retention_run = retention->add_subcommand("run",
                                                  "Remove expired storage entries, sign-in nonces, refresh tokens and "
                                                  "revocations, and audit records older than Security:AuditRetentionDays, once");
  options.add_to(retention_run);

  nsl::app::AttestVerifyOptions attest_options;
  auto* attest = app.add_subcommand("attest", "Enclave attestation tools");
  attest->require_subcommand(1);
  auto* verify = attest->add_subcommand(
      "verify", "Check an attestation report saved from GET /v1/attestation/report, printing why it fails");
  verify->add_option("file", attest_options.file, "The saved report (JSON)")->required();
  verify->add_option("--nonce", attest_options.nonce, "The nonce (hex) the report must carry: the one you sent");
  auto* measurement =
      verify->add_option("--measurement", attest_options.measurement, "The SHA-256 (hex) the enclave binary must have");
  verify->add_option("--enclave-binary", attest_options.enclave_binary, "Measure this nsl-enclave binary and require its hash")
      ->excludes(measurement);
  verify->add_option("--max-age", attest_options.max_age_seconds, "Refuse reports older than this many seconds")
      ->check(CLI::PositiveNumber);
  verify->add_flag("--allow-simulation", attest_options.allow_simulation,
                   "Accept a report from an enclave in simulation mode (no hardware vouches for it)");
  verify->add_option("--attestation-key", attest_options.attestation_key,
                     "The attestation key (hex) the report must be signed with, as the operator published it or as "
                     "you recorded it at first contact (required: a report signed by the key it carries proves nothing "
                     "by itself)");
  verify->add_option("--key", attest_options.keys,
                     "PURPOSE=HEX: a further public key the report must name, e.g. jwt=02ab... or transport=03cd... "
                     "(repeatable)");

  // Name a mistyped command instead of CLI11's generic "A subcommand is required".
  if (argc > 1 && argv[1][0] != '-') {
    const std::string first = argv[1];
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) known = known || sub->get_name() == first;
    if (!known) {
      std::fprintf(stderr,
                   "nsl: unknown command '%s' (commands: serve, migrate, config, admin, audit, attest, backup, restore, "
                   "retention, version; see nsl --help)\n",
                   first.c_str());
      return 2;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (serve->parsed()) return nsl::app::serve(options.source());
    if (migrate->parsed()) return nsl::app::migrate(options.source(), status_only, target);
    if (check->parsed()) return nsl::app::config_check(options.source());
    if (version->parsed()) return nsl::app::version();
    if (verify->parsed()) return nsl::app::attest_verify(attest_options);
    if (create->parsed()) return nsl::app::admin_create(options.source(), account_name, account_role);
    if (backup_verify->parsed()) return nsl::app::backup_verify(options.source(), backup_file);
    if (backup->parsed()) return nsl::app::backup(options.source(), backup_dir, backup_keep, backup_max_age);
    if (restore->parsed()) return nsl::app::restore(options.source(), backup_file, restore_force);
    if (retention_run->parsed()) return nsl::app::retention_run(options.source());
    if (audit_export->parsed()) return nsl::app::audit_export(options.source(), audit_from, audit_to, audit_principal);
  } catch (const nsl::config::ConfigError& e) {
    for (const auto& line : e.errors()) std::fprintf(stderr, "nsl: configuration error: %s\n", line.c_str());
    return 2;
  } catch (const nsl::StartupError& e) {
    std::fprintf(stderr, "nsl: %s\n", e.what());
    return 2;
  } catch (const nsl::db::DatabaseError& e) {
    std::fprintf(stderr, "nsl: database error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nsl: %s\n", e.what());
    return 1;
  }
  return 0;
}
