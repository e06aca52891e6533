#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/db/database.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/http/health.hpp"
#include "nsl/http/pipeline.hpp"
#include "nsl/http/router.hpp"
#include "nsl/identity/jwt.hpp"
#include "nsl/identity/roles.hpp"

namespace nsl::identity {

struct IdentitySettings {
  std::string issuer = "neo-service-layer";
  std::string audience = "neo-service-layer";
  std::chrono::seconds access_ttl{std::chrono::hours(24)};
  std::chrono::seconds refresh_ttl{std::chrono::hours(24 * 7)};
  std::chrono::seconds nonce_ttl{std::chrono::minutes(5)};
  TokenKeys keys;                  // HS256 with Jwt:Secret, else ES256 with the enclave's key
  int api_keys_per_account = 100;  // Quotas:ApiKeysPerAccount: API keys not revoked
};

/// A new account and its first API key (shown once).
struct CreatedAccount {
  std::string account_id;
  std::string api_key;
};

/// Accounts (tenants), API keys, tokens and wallet sign-in; also the pipeline's authenticator.
/// Credentials: `Authorization: Bearer <access token>` or `X-API-Key: <key>`. API keys and
/// refresh tokens are stored as SHA-256 hashes only. Access tokens are JWTs (HS256 or ES256,
/// see IdentitySettings). A verified token is remembered until it expires (bounded), so its
/// signature is checked once. Revocations and disabled accounts are kept in the database and
/// mirrored in memory: this replica applies its own at once, other replicas' within
/// `sync_interval` (run_sync()).
class IdentityService final : public http::Authenticator {
 public:
  IdentityService(db::Database& database, enclave::EnclaveClient* enclave, IdentitySettings settings, log::Logger log);

  asio::awaitable<http::Principal> authenticate(http::Context& ctx) override;
  bool allows(const http::Principal& principal, std::string_view permission) const override;

  /// POST /v1/auth/token, /v1/auth/refresh, /v1/auth/revoke, GET /v1/auth/me,
  /// POST /v1/auth/wallet/challenge, /v1/auth/wallet/sign-in, and /v1/api-keys (create, list, revoke).
  void add_routes(http::Router& router);
  /// /v1/admin/accounts...: list, show (with API keys), create, change role, disable, enable, and
  /// create or revoke API keys of another account (accounts:read, accounts:write).
  void add_admin_routes(http::Router& router);

  /// Creates an account with a first API key carrying all of its role's permissions (used by
  /// `nsl admin create`). Throws std::invalid_argument for a taken or malformed name.
  static CreatedAccount create_account(db::Connection& c, const std::string& name, Role role);

  /// Loads revocations and disabled accounts now, then every `interval` until stop().
  asio::awaitable<void> run_sync(std::chrono::milliseconds interval);
  /// nsl_identity_sync_age_seconds, nsl_identity_sync_failures_total and
  /// nsl_identity_mirrored_entries{kind}: how fresh this replica's view of revocations is.
  void add_metrics(metrics::Registry& registry);
  /// Degraded while the last successful sync is older than five intervals (at least 5 s):
  /// revocations, disabled accounts and role changes made on other replicas are not arriving.
  http::CheckResult sync_health() const;
  asio::awaitable<void> sync_once();
  void stop() { stopping_.store(true); }

 private:
  std::optional<Claims> verified(std::string_view token, TokenError& error);
  /// Whether a verified token is refused now (revoked, or its account disabled). `role` is set
  /// when the account's role is no longer the one the token was issued under.
  bool refused_by_state(const Claims& claims, std::optional<std::string>& role) const;

  asio::awaitable<nlohmann::json> create_api_key(std::string account_id, std::string name, std::vector<std::string> permissions);
  /// An access token, and a refresh token of `family`: `refresh` when the caller stored it already
  /// (store_refresh), a new one stored here otherwise.
  /// `api_key_id` names the API key the tokens descend from ("" for wallet sign-in).
  asio::awaitable<nlohmann::json> issue_tokens(std::string account_id, std::string name, std::string role,
                                               std::vector<std::string> scope, std::string family, std::string api_key_id,
                                               std::optional<std::string> refresh = std::nullopt);
  void store_refresh(db::Connection& c, const std::string& account_id, const std::string& family, const std::string& refresh,
                     const std::string& scope_text, const std::string& api_key_id) const;

  db::Database& db_;
  enclave::EnclaveClient* enclave_;
  IdentitySettings settings_;
  log::Logger log_;

  // Verified tokens (token text → claims), oldest evicted first beyond kMaxCached.
  static constexpr std::size_t kMaxCached = 100'000;
  mutable std::mutex cache_mutex_;
  std::unordered_map<std::string, Claims> cache_;
  std::list<std::string> cache_order_;
  // Mirrors of revoked_tokens and disabled accounts.
  mutable std::shared_mutex state_mutex_;
  std::unordered_set<std::string> revoked_;
  std::unordered_set<std::string> disabled_;
  std::unordered_map<std::string, std::string> roles_;  // accounts whose role was changed: the role now
  // Changes this replica made (disabled, role), applied at once and again over any sync whose
  // query may have started before they were committed.
  struct AccountChange {
    std::optional<bool> disabled;
    std::optional<std::string> role;
    std::chrono::steady_clock::time_point at;
  };
  std::unordered_map<std::string, AccountChange> changes_;
  void apply(const std::string& account, const AccountChange& change);  // state_mutex_ held
  // Access tokens (jti) and API keys revoked on this replica: in force at once, and kept over
  // any sync whose query may have started before they were committed.
  std::unordered_set<std::string> revoked_keys_;
  struct Revocation {
    bool api_key;
    std::string id;
    std::chrono::steady_clock::time_point at;
  };
  std::vector<Revocation> revocations_;
  void revoked(bool api_key, const std::string& id);
  /// Revokes an API key of `account` and the refresh families exchanged for it; false if the
  /// account has no such key.
  asio::awaitable<bool> revoke_api_key(const std::string& account, const std::string& id);
  void changed(const std::string& account, std::optional<bool> disabled, std::optional<std::string> role);
  bool synced_ = false;
  std::int64_t created_ms_;
  std::atomic<std::int64_t> last_sync_ms_{0};  // system clock, ms since the epoch; 0: never
  std::atomic<std::uint64_t> sync_failures_{0};
  std::atomic<std::int64_t> sync_interval_ms_{1000};
  std::atomic<bool> stopping_{false};
};

}  // namespace nsl::identity
