#include "nsl/services/keys/schema.hpp"

namespace nsl::services::keys {
namespace {

// Key management: each key version of an account, sealed by the enclave.
constexpr const char* kV5Sqlite = R"sql(
CREATE TABLE keys (
  id          TEXT NOT NULL,
  version     INTEGER NOT NULL,
  account_id  TEXT NOT NULL REFERENCES accounts(id),
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('secp256r1', 'secp256k1', 'ed25519')),
  sealed      TEXT NOT NULL,
  public_key  TEXT NOT NULL,
  exportable  INTEGER NOT NULL DEFAULT 0,
  status      TEXT NOT NULL CHECK (status IN ('active', 'disabled', 'retired')),
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (id, version)
);
CREATE UNIQUE INDEX idx_keys_account_name ON keys(account_id, name, version);
)sql";

constexpr const char* kV5Postgres = R"sql(
CREATE TABLE keys (
  id          TEXT NOT NULL,
  version     INTEGER NOT NULL,
  account_id  TEXT NOT NULL REFERENCES accounts(id),
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('secp256r1', 'secp256k1', 'ed25519')),
  sealed      TEXT NOT NULL,
  public_key  TEXT NOT NULL,
  exportable  INTEGER NOT NULL DEFAULT 0,
  status      TEXT NOT NULL CHECK (status IN ('active', 'disabled', 'retired')),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id, version)
);
CREATE UNIQUE INDEX idx_keys_account_name ON keys(account_id, name, version);
)sql";

}  // namespace

std::vector<db::Migration> migrations() {
  return {
      {5,
       "key management: sealed key versions per account",
       {{db::Dialect::sqlite, kV5Sqlite}, {db::Dialect::postgres, kV5Postgres}}},
  };
}

}  // namespace nsl::services::keys
