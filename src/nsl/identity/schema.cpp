#include "nsl/identity/schema.hpp"

#include <chrono>

namespace nsl::identity {
namespace {

// Identity: accounts (tenants), their API keys (hashed), refresh-token families, revoked access
// tokens and wallet sign-in nonces.
constexpr const char* kV4Sqlite = R"sql(
CREATE TABLE accounts (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  kind       TEXT NOT NULL CHECK (kind IN ('name', 'neo-n3', 'neo-x')),
  role       TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'user', 'auditor')),
  disabled   INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  account_id   TEXT NOT NULL REFERENCES accounts(id),
  name         TEXT NOT NULL,
  lookup       TEXT NOT NULL UNIQUE,
  hash         TEXT NOT NULL,
  permissions  TEXT NOT NULL CHECK (json_valid(permissions)),
  created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  last_used_at TEXT,
  revoked_at   TEXT
);
CREATE INDEX idx_api_keys_account ON api_keys(account_id);
CREATE TABLE refresh_tokens (
  id         TEXT PRIMARY KEY,
  family     TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  hash       TEXT NOT NULL UNIQUE,
  scope      TEXT NOT NULL CHECK (json_valid(scope)),
  expires_at TEXT NOT NULL,
  used_at    TEXT,
  revoked_at TEXT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_refresh_family ON refresh_tokens(family);
CREATE TABLE revoked_tokens (
  jti        TEXT PRIMARY KEY,
  expires_at TEXT NOT NULL
);
CREATE TABLE wallet_nonces (
  nonce      TEXT PRIMARY KEY,
  chain      TEXT NOT NULL,
  address    TEXT NOT NULL,
  message    TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at    TEXT
);
)sql";

constexpr const char* kV4Postgres = R"sql(
CREATE TABLE accounts (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  kind       TEXT NOT NULL CHECK (kind IN ('name', 'neo-n3', 'neo-x')),
  role       TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'user', 'auditor')),
  disabled   INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  account_id   TEXT NOT NULL REFERENCES accounts(id),
  name         TEXT NOT NULL,
  lookup       TEXT NOT NULL UNIQUE,
  hash         TEXT NOT NULL,
  permissions  JSONB NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_used_at TIMESTAMPTZ,
  revoked_at   TIMESTAMPTZ
);
CREATE INDEX idx_api_keys_account ON api_keys(account_id);
CREATE TABLE refresh_tokens (
  id         TEXT PRIMARY KEY,
  family     TEXT NOT NULL,
  account_id TEXT NOT NULL REFERENCES accounts(id),
  hash       TEXT NOT NULL UNIQUE,
  scope      JSONB NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  used_at    TIMESTAMPTZ,
  revoked_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_refresh_family ON refresh_tokens(family);
CREATE TABLE revoked_tokens (
  jti        TEXT PRIMARY KEY,
  expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE wallet_nonces (
  nonce      TEXT PRIMARY KEY,
  chain      TEXT NOT NULL,
  address    TEXT NOT NULL,
  message    TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  used_at    TIMESTAMPTZ
);
)sql";

// Tokens follow what happens to their origin after they were issued:
//  - A token carries the role it was issued under; when an admin changes an account's role,
//    tokens issued before narrow to the new one. Every replica loads, each second, the accounts
//    whose tokens need more than a signature check: the disabled and those whose role was
//    changed. Wallet sign-in makes accounts by the million; a partial index keeps that load to
//    the few others.
//  - A revoked API key takes the tokens exchanged for it along: refresh families record the key
//    (revoked with it), and replicas load the keys revoked within an access token's lifetime.
//  - Revocations are loaded each second by expiry, and retention deletes expired nonces, refresh
//    tokens and revocations by expiry: indexes on each.
std::string v10(const std::string& timestamp) {
  return "ALTER TABLE accounts ADD COLUMN role_changed_at " + timestamp + R"sql(;
CREATE INDEX idx_accounts_checked ON accounts(id) WHERE disabled <> 0 OR role_changed_at IS NOT NULL;
ALTER TABLE refresh_tokens ADD COLUMN api_key_id TEXT;
CREATE INDEX idx_refresh_api_key ON refresh_tokens(api_key_id) WHERE api_key_id IS NOT NULL;
CREATE INDEX idx_api_keys_revoked ON api_keys(revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX idx_revoked_tokens_expires ON revoked_tokens(expires_at);
CREATE INDEX idx_refresh_tokens_expires ON refresh_tokens(expires_at);
CREATE INDEX idx_wallet_nonces_expires ON wallet_nonces(expires_at);
)sql";
}

}  // namespace

std::vector<db::Migration> migrations() {
  return {
      {4,
       "identity: accounts, API keys, refresh tokens, revoked tokens, wallet nonces",
       {{db::Dialect::sqlite, kV4Sqlite}, {db::Dialect::postgres, kV4Postgres}}},
      {10,
       "identity: role changes and revoked API keys reach the tokens issued before them",
       {{db::Dialect::sqlite, v10("TEXT")}, {db::Dialect::postgres, v10("TIMESTAMPTZ")}}},
  };
}

// Anybody may ask for a sign-in challenge, so nonces must not pile up. A revocation is kept a
// minute past its token's expiry (the verifier's leeway is 30 s).
std::vector<db::Retention> retention() {
  return {{"identity_expired", "expired sign-in nonces and tokens removed",
           [](db::Connection& c, std::chrono::system_clock::time_point now) {
             const auto now_text = db::utc_text(now);
             return c.query("DELETE FROM wallet_nonces WHERE expires_at < $1", {now_text}).affected +
                    c.query("DELETE FROM refresh_tokens WHERE expires_at < $1", {now_text}).affected +
                    c.query("DELETE FROM revoked_tokens WHERE expires_at < $1", {db::utc_text(now - std::chrono::minutes(1))})
                        .affected;
           }}};
}

}  // namespace nsl::identity
