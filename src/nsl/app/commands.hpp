#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nsl/core/config.hpp"

namespace nsl::app {

/// `nsl serve`: runs the API server until SIGTERM/SIGINT; returns the exit code.
int serve(const config::Source& source);

/// `nsl migrate`: applies pending migrations (or reports them with `status_only`).
int migrate(const config::Source& source, bool status_only, std::optional<int> target);

/// `nsl config check`: validates the configuration and prints it with secrets masked.
int config_check(const config::Source& source);

/// `nsl version`.
int version();

/// `nsl admin create --name NAME [--role ROLE]`: creates an account and prints its first API key,
/// once (the first admin is made this way).
int admin_create(const config::Source& source, const std::string& name, const std::string& role);

/// `nsl audit export`: the audit trail as JSON lines on stdout, oldest first, optionally within
/// [from, to) and for one principal; progress on stderr.
int audit_export(const config::Source& source, const std::string& from, const std::string& to, const std::string& principal);

/// `nsl attest verify FILE`: checks a saved attestation report; prints every check, returns 0
/// when all pass.
/// `nsl backup`: a consistent compressed snapshot of the configured database, old ones pruned.
int backup(const config::Source& source, const std::string& directory, int keep, int max_age_days);
/// `nsl restore FILE`: replaces the configured database with a backup.
int restore(const config::Source& source, const std::string& file, bool force);
/// `nsl backup verify FILE`: restores into a scratch database and prints its row counts.
int backup_verify(const config::Source& source, const std::string& file);
/// `nsl retention run`: applies the retention policy once and prints what it removed.
int retention_run(const config::Source& source);

struct AttestVerifyOptions {
  std::string file;
  std::string nonce;           // hex; empty: not checked
  std::string measurement;     // hex SHA-256; empty: not checked
  std::string enclave_binary;  // measure this file instead of giving the hash
  int max_age_seconds = 0;     // 0: not checked
  bool allow_simulation = false;
  std::string attestation_key;    // hex; required for a valid report
  std::vector<std::string> keys;  // "purpose=hex": further keys the report must name
};
int attest_verify(const AttestVerifyOptions& options);

}  // namespace nsl::app
