#pragma once

// Identity: accounts (tenants), their API keys, access and refresh tokens, and wallet sign-in.
// What the service does, without HTTP. The pipeline's authenticator (src/nsl/identity) checks
// the credentials this service hands out; the service tells it of revocations and account
// changes, which take effect at once on this replica and within a sync interval on the others.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/db/database.hpp"
#include "nsl/identity/authenticator.hpp"
#include "nsl/services/identity/settings.hpp"
#include "nsl/services/identity/store.hpp"

namespace nsl::services::identity {

/// An access token and the refresh token that renews it.
struct Tokens {
  std::string access_token;
  std::int64_t expires_in = 0;  // seconds
  std::string refresh_token;
  std::int64_t refresh_expires_in = 0;
  std::vector<std::string> scope;
};

/// Wallet sign-in, step 1: the message the address is to sign.
struct Challenge {
  std::string nonce;
  std::string message;
  std::int64_t expires_in = 0;
};

/// An API key as created: the key itself is shown this once.
struct NewApiKey {
  std::string id;
  std::string name;
  std::string api_key;
  std::vector<std::string> permissions;
};

/// A new account known by name and its first API key (shown once).
struct CreatedAccount {
  Account account;
  std::string api_key;
};

/// Accounts by id; `next` is set when more follow.
struct AccountPage {
  std::vector<Account> accounts;
  std::optional<std::string> next;
};

/// The permissions `wanted` of a new key (empty: all of `granted`); 403 for one beyond `granted`,
/// which `whose` names ("this credential", "the account's role").
std::vector<std::string> within(std::vector<std::string> wanted, const std::vector<std::string>& granted, const char* whose);

/// An account name an administrator or `nsl admin create` may give: 1 to 100 characters, at most
/// 400 bytes, not of a wallet address's form (only wallet sign-in takes those). std::nullopt if
/// it may; else why not.
std::optional<std::string> refused_account_name(const std::string& name);

/// Creates an account known by name, and its first API key carrying all of its role's
/// permissions, in `c` (for `nsl admin create`). Throws std::invalid_argument for a taken or
/// refused name.
CreatedAccount create_account(db::Connection& c, const std::string& name, Role role);

class IdentityService {
 public:
  IdentityService(db::Database& database, nsl::identity::Authenticator& authenticator, Settings settings, log::Logger log);

  /// Tokens for an API key; 401 for one that is malformed, unknown, revoked or of a disabled account.
  asio::awaitable<Tokens> exchange_api_key(std::string api_key);
  /// New tokens for a refresh token; each works once, and a reused one revokes its family (401).
  asio::awaitable<Tokens> refresh(std::string refresh_token);
  /// Revokes access token `jti` (if not empty) and the family of `refresh_token` (if not empty and
  /// `account`'s).
  asio::awaitable<void> revoke(std::string account, std::string jti, std::string refresh_token);
  /// A one-time message for `address` on `chain` ("neo-n3" or "neo-x") to sign; 400 naming the field.
  asio::awaitable<Challenge> challenge(std::string chain, std::string address);
  /// Tokens for the signed challenge `nonce`, for the address's account (made on first sign-in).
  /// The nonce is spent whatever the outcome: a signature can be tried once.
  asio::awaitable<Tokens> sign_in(std::string nonce, std::string signature_hex, std::string public_key_hex);

  /// A new API key of `account` with `permissions`; 409 past Quotas:ApiKeysPerAccount.
  asio::awaitable<NewApiKey> create_api_key(std::string account, std::string name, std::vector<std::string> permissions);
  asio::awaitable<std::vector<ApiKey>> api_keys(std::string account);
  /// Revokes an API key of `account` (404 if it has no such key) and the tokens exchanged for it.
  asio::awaitable<void> revoke_api_key(std::string account, std::string id);

  /// 1000 accounts by id after `after`, of `role` if given.
  asio::awaitable<AccountPage> accounts(std::optional<Role> role, std::optional<std::string> after);
  /// 404 if there is no such account.
  asio::awaitable<Account> account(std::string id);
  /// 400 for a refused name, 409 for a taken one.
  asio::awaitable<CreatedAccount> create_account(std::string name, Role role);
  /// Role, disable and enable: 404 for an unknown account, 409 on `actor`'s own account (an admin
  /// cannot lock everyone out). Tokens issued under the old role narrow to the new one.
  asio::awaitable<Account> set_role(std::string actor, std::string id, Role role);
  asio::awaitable<Account> set_disabled(std::string actor, std::string id, bool disabled);

  const nsl::identity::TokenSettings& tokens() const { return authenticator_.settings(); }

 private:
  /// An access token for `account`, and a refresh token of `family`: `refresh` when it is stored
  /// already, a new one stored here otherwise. `api_key_id`: the key the tokens descend from.
  asio::awaitable<Tokens> issue(const Account& account, std::vector<std::string> scope, std::string family,
                                std::string api_key_id, std::optional<std::string> refresh = std::nullopt);
  asio::awaitable<Account> changeable(const std::string& actor, const std::string& id);

  IdentityStore store_;
  nsl::identity::Authenticator& authenticator_;
  Settings settings_;
  log::Logger log_;
  std::chrono::seconds nonce_ttl_{std::chrono::minutes(5)};
};

}  // namespace nsl::services::identity
