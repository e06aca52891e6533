#pragma once

// The identity tables (src/nsl/identity/schema.cpp): accounts, their API keys (hashed), refresh
// token families, revoked access tokens and wallet sign-in nonces. SQL that runs on SQLite and
// PostgreSQL alike. Credentials arrive here hashed (identity::credential_hash).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/db/database.hpp"
#include "nsl/identity/roles.hpp"

namespace nsl::services::identity {

using nsl::identity::Role;

struct Account {
  std::string id;
  std::string name;
  std::string kind;  // "name", "neo-n3" or "neo-x"
  std::string role;
  bool disabled = false;
  std::string created_at;
};

struct ApiKey {
  std::string id;
  std::string name;
  std::vector<std::string> permissions;
  std::string created_at;
  std::optional<std::string> revoked_at;
  std::optional<std::string> last_used_at;
};

/// An API key found by its lookup part, with its account.
struct KeyHolder {
  std::string key_id;
  std::string hash;
  std::vector<std::string> permissions;
  bool revoked = false;
  Account account;
};

/// A refresh token's family, once the token is spent and the next one stored.
struct Refreshed {
  std::string family;
  std::vector<std::string> scope;  // narrowed to the account's role now
  std::string api_key_id;          // "" for wallet sign-in
  Account account;
};

/// Why a refresh token was refused (a reused one has revoked its family).
struct RefreshRefused {
  enum Why { unknown, reused, revoked, expired, disabled } why;
  std::string family;  // set when reused
};

/// A wallet sign-in challenge, once spent.
struct Nonce {
  std::string chain;
  std::string address;
  std::string message;
  bool used = false;  // before this attempt
  bool expired = false;
};

class IdentityStore {
 public:
  explicit IdentityStore(db::Database& database) : db_(database) {}

  /// Inserts an account known by name and its first API key, in `c` (the caller's transaction);
  /// false when the name is taken.
  static bool insert_account(db::Connection& c, const Account& account, const std::string& key_lookup,
                             const std::string& key_hash, const std::vector<std::string>& permissions);
  asio::awaitable<bool> insert_account(Account account, std::string key_lookup, std::string key_hash,
                                       std::vector<std::string> permissions);
  asio::awaitable<std::optional<Account>> account(std::string id);
  /// Accounts by id after `after`, of `role` if given, at most `limit`.
  asio::awaitable<std::vector<Account>> accounts(std::optional<std::string> role, std::optional<std::string> after, int limit);
  /// The account a wallet address signs in to, made on its first sign-in.
  asio::awaitable<Account> wallet_account(std::string chain, std::string address);
  asio::awaitable<void> set_role(std::string id, std::string role);
  asio::awaitable<void> set_disabled(std::string id, bool disabled);

  asio::awaitable<std::optional<KeyHolder>> key_holder(std::string lookup);
  /// Stores a new API key unless the account holds `quota` keys not revoked; false then.
  asio::awaitable<bool> insert_api_key(std::string account, std::string id, std::string name, std::string lookup,
                                       std::string hash, std::vector<std::string> permissions, int quota);
  asio::awaitable<std::vector<ApiKey>> api_keys(std::string account);
  /// Revokes an API key of `account` and the refresh families exchanged for it; false if the
  /// account has no such key.
  asio::awaitable<bool> revoke_api_key(std::string account, std::string id);

  /// Stores a refresh token (its hash) as a member of `family`.
  asio::awaitable<void> insert_refresh(std::string account, std::string family, std::string hash, std::vector<std::string> scope,
                                       std::string expires_at, std::string api_key_id);
  /// Spends the refresh token `hash` and stores `next_hash` in its family, in one write
  /// transaction. Write transactions are serialized (SQLite's one writer; PostgreSQL's
  /// SERIALIZABLE retries the later of two that meet), so of two refreshes with one token the
  /// second finds it spent and revokes the family, the next token the first was given included.
  /// Stored after that transaction, the next token could escape the revocation.
  asio::awaitable<std::variant<Refreshed, RefreshRefused>> spend_refresh(std::string hash, std::string next_hash,
                                                                         std::string next_expires_at);
  /// Records access token `jti` as revoked until `expires_at` (when `jti` is not empty), and
  /// revokes the family of the refresh token `refresh_hash` if it is `account`'s (when not empty).
  asio::awaitable<void> revoke(std::string account, std::string jti, std::string expires_at, std::string refresh_hash);

  asio::awaitable<void> insert_nonce(std::string nonce, std::string chain, std::string address, std::string message,
                                     std::string expires_at);
  /// Spends a nonce whatever the outcome (a signature can be tried once); nullopt if unknown.
  asio::awaitable<std::optional<Nonce>> spend_nonce(std::string nonce);

 private:
  db::Database& db_;
};

}  // namespace nsl::services::identity
