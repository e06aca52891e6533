#include "nsl/services/secrets/schema.hpp"

namespace nsl::services::secrets {
namespace {

// Secrets: named, versioned values per account, sealed by the enclave.
constexpr const char* kV6Sqlite = R"sql(
CREATE TABLE secrets (
  account_id TEXT NOT NULL REFERENCES accounts(id),
  name       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  sealed     TEXT NOT NULL,
  bytes      INTEGER NOT NULL,
  status     TEXT NOT NULL CHECK (status IN ('active', 'retired')),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (account_id, name, version)
);
)sql";

constexpr const char* kV6Postgres = R"sql(
CREATE TABLE secrets (
  account_id TEXT NOT NULL REFERENCES accounts(id),
  name       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  sealed     TEXT NOT NULL,
  bytes      INTEGER NOT NULL,
  status     TEXT NOT NULL CHECK (status IN ('active', 'retired')),
  created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (account_id, name, version)
);
)sql";

}  // namespace

std::vector<db::Migration> migrations() {
  return {
      {6,
       "secrets: sealed, versioned values per account",
       {{db::Dialect::sqlite, kV6Sqlite}, {db::Dialect::postgres, kV6Postgres}}},
  };
}

}  // namespace nsl::services::secrets
