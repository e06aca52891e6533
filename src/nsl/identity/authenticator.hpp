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

#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/db/database.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/http/health.hpp"
#include "nsl/http/pipeline.hpp"
#include "nsl/identity/jwt.hpp"
#include "nsl/identity/roles.hpp"

namespace nsl::identity {

/// How access tokens are issued and checked.
struct TokenSettings {
  std::string issuer = "neo-service-layer";
  std::string audience = "neo-service-layer";
  std::chrono::seconds access_ttl{std::chrono::hours(24)};
  std::chrono::seconds refresh_ttl{std::chrono::hours(24 * 7)};
  TokenKeys keys;  // HS256 with Jwt:Secret, else ES256 with the enclave's key
};

/// An API key, "nsl_<16 hex lookup>_<64 hex secret>": its lookup part, or std::nullopt when
/// `key` does not have that form.
std::optional<std::string> api_key_lookup(std::string_view key);
/// A new API key; `lookup` receives its lookup part.
std::string new_api_key(std::string& lookup);
/// A permission list as the database keeps it (a JSON array of strings); what is not a string is
/// left out.
std::vector<std::string> stored_permissions(const std::string& text);
/// What the database keeps of an API key or a refresh token: its SHA-256, in hex.
std::string credential_hash(std::string_view credential);
/// Whether a stored hash equals `hash`, in constant time.
bool same_hash(const std::string& stored, const std::string& hash);

class Authenticator final : public http::Authenticator {
 public:
  Authenticator(db::Database& database, enclave::EnclaveClient* enclave, TokenSettings settings, log::Logger log);

  asio::awaitable<http::Principal> authenticate(http::Context& ctx) override;
  bool allows(const http::Principal& principal, std::string_view permission) const override;

  const TokenSettings& settings() const { return settings_; }
  /// A signed access token for `claims`; issuer, audience, issue and expiry times and the token id
  /// are filled in here (HS256 here, ES256 by the enclave).
  asio::awaitable<std::string> sign(Claims& claims);

  /// An access token (jti) revoked on this replica: refused at once, here; other replicas read it
  /// from revoked_tokens within a sync interval.
  void token_revoked(const std::string& jti);
  /// An API key revoked on this replica (the tokens exchanged for it stop working at once, here).
  void api_key_revoked(const std::string& id);
  /// An account disabled or enabled, or its role changed, on this replica.
  void account_changed(const std::string& account, std::optional<bool> disabled, std::optional<std::string> role);

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

  db::Database& db_;
  enclave::EnclaveClient* enclave_;
  TokenSettings settings_;
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
  bool synced_ = false;
  std::int64_t created_ms_;
  std::atomic<std::int64_t> last_sync_ms_{0};  // system clock, ms since the epoch; 0: never
  std::atomic<std::uint64_t> sync_failures_{0};
  std::atomic<std::int64_t> sync_interval_ms_{1000};
  std::atomic<bool> stopping_{false};
};

}  // namespace nsl::identity
