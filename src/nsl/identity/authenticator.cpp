#include "nsl/identity/authenticator.hpp"

#include <openssl/crypto.h>

#include <boost/asio/this_coro.hpp>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/core/ids.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/symmetric.hpp"

namespace nsl::identity {
namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

RequestError unauthorized(const std::string& why) {
  return std::move(RequestError(ErrorKind::unauthorized, why).with_header("WWW-Authenticate", "Bearer"));
}

std::string random_hex(std::size_t bytes) { return crypto::to_hex(crypto::random_bytes(bytes)); }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::optional<std::string> api_key_lookup(std::string_view key) {
  if (key.size() != 4 + 16 + 1 + 64 || key.substr(0, 4) != "nsl_" || key[20] != '_') return std::nullopt;
  for (std::size_t i = 4; i < key.size(); ++i) {
    if (i == 20) continue;
    if (!std::isxdigit(static_cast<unsigned char>(key[i]))) return std::nullopt;
  }
  return std::string(key.substr(4, 16));
}

std::string new_api_key(std::string& lookup) {
  lookup = random_hex(8);
  return "nsl_" + lookup + "_" + random_hex(32);
}

std::vector<std::string> stored_permissions(const std::string& text) {
  std::vector<std::string> out;
  const auto j = json::parse(text, nullptr, false);
  if (j.is_array()) {
    for (const auto& s : j) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

std::string credential_hash(std::string_view credential) { return crypto::to_hex(crypto::sha256(crypto::as_bytes(credential))); }

bool same_hash(const std::string& stored, const std::string& hash) {
  return stored.size() == hash.size() && CRYPTO_memcmp(stored.data(), hash.data(), stored.size()) == 0;
}

Authenticator::Authenticator(db::Database& database, enclave::EnclaveClient* enclave, TokenSettings settings, log::Logger log)
    : db_(database), enclave_(enclave), settings_(std::move(settings)), log_(std::move(log)), created_ms_(now_ms()) {}

bool Authenticator::allows(const http::Principal& principal, std::string_view permission) const {
  return identity::allows(principal.permissions, permission);
}

std::optional<Claims> Authenticator::verified(std::string_view token, TokenError& error) {
  const auto now = Clock::now();
  {
    std::lock_guard lock(cache_mutex_);
    const auto it = cache_.find(std::string(token));
    if (it != cache_.end()) {
      if (it->second.expires_at + std::chrono::seconds(30) > now) return it->second;
      error.reason = "the token has expired";
      return std::nullopt;
    }
  }
  auto claims = verify(token, settings_.keys, settings_.issuer, settings_.audience, now, error);
  if (claims) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.emplace(std::string(token), *claims).second) {
      cache_order_.emplace_back(token);
      while (cache_order_.size() > kMaxCached) {
        cache_.erase(cache_order_.front());
        cache_order_.pop_front();
      }
    }
  }
  return claims;
}

bool Authenticator::refused_by_state(const Claims& claims, std::optional<std::string>& role) const {
  std::shared_lock lock(state_mutex_);
  if (revoked_.count(claims.id) > 0 || disabled_.count(claims.subject) > 0) return true;
  if (!claims.api_key_id.empty() && revoked_keys_.count(claims.api_key_id) > 0) return true;
  // Only accounts whose role was changed are listed; the others have the role of their tokens.
  if (const auto it = roles_.find(claims.subject); it != roles_.end() && it->second != claims.role) role = it->second;
  return false;
}

void Authenticator::apply(const std::string& account, const AccountChange& change) {
  if (change.disabled) {
    if (*change.disabled)
      disabled_.insert(account);
    else
      disabled_.erase(account);
  }
  if (change.role) roles_[account] = *change.role;
}

void Authenticator::account_changed(const std::string& account, std::optional<bool> disabled, std::optional<std::string> role) {
  std::unique_lock lock(state_mutex_);
  auto& c = changes_[account];
  if (disabled) c.disabled = disabled;
  if (role) c.role = std::move(role);
  c.at = std::chrono::steady_clock::now();
  apply(account, c);
}

void Authenticator::revoked(bool api_key, const std::string& id) {
  std::unique_lock lock(state_mutex_);
  (api_key ? revoked_keys_ : revoked_).insert(id);
  revocations_.push_back({api_key, id, std::chrono::steady_clock::now()});
}

void Authenticator::token_revoked(const std::string& jti) { revoked(false, jti); }

void Authenticator::api_key_revoked(const std::string& id) { revoked(true, id); }

asio::awaitable<void> Authenticator::sync_once() {
  const auto started = std::chrono::steady_clock::now();
  struct State {
    db::Result tokens, keys, accounts;
  };
  // An access token outlives the revocation of its API key by at most its lifetime.
  const auto keys_since = db::utc_now_text(-(settings_.access_ttl + std::chrono::minutes(1)));
  const auto state = co_await db_.run([&](db::Connection& c) {
    return State{c.query("SELECT jti FROM revoked_tokens WHERE expires_at > $1", {db::utc_now_text(-std::chrono::minutes(1))}),
                 c.query("SELECT id FROM api_keys WHERE revoked_at > $1", {keys_since}),
                 c.query("SELECT id, role, disabled, role_changed_at IS NOT NULL FROM accounts "
                         "WHERE disabled <> 0 OR role_changed_at IS NOT NULL")};
  });
  std::unordered_set<std::string> revoked, revoked_keys, disabled;
  std::unordered_map<std::string, std::string> roles;
  for (std::size_t i = 0; i < state.tokens.rows.size(); ++i) revoked.insert(state.tokens.get<std::string>(i, 0));
  for (std::size_t i = 0; i < state.keys.rows.size(); ++i) revoked_keys.insert(state.keys.get<std::string>(i, 0));
  const auto& accounts = state.accounts;
  for (std::size_t i = 0; i < accounts.rows.size(); ++i) {
    auto id = accounts.get<std::string>(i, 0);
    if (accounts.get<std::int64_t>(i, 2) != 0) disabled.insert(id);
    if (accounts.get<bool>(i, 3)) roles.emplace(std::move(id), accounts.get<std::string>(i, 1));
  }
  std::unique_lock lock(state_mutex_);
  // Keep what this replica revoked or changed since the query started; the next sync reads it back.
  std::erase_if(revocations_, [&](const Revocation& r) { return r.at < started; });
  for (const auto& r : revocations_) (r.api_key ? revoked_keys : revoked).insert(r.id);
  revoked_ = std::move(revoked);
  revoked_keys_ = std::move(revoked_keys);
  disabled_ = std::move(disabled);
  roles_ = std::move(roles);
  for (auto it = changes_.begin(); it != changes_.end();) {
    if (it->second.at < started) {
      it = changes_.erase(it);
    } else {
      apply(it->first, it->second);
      ++it;
    }
  }
  synced_ = true;
  last_sync_ms_.store(now_ms());
}

void Authenticator::add_metrics(metrics::Registry& registry) {
  registry.add_collector([this](std::vector<metrics::Registry::Sample>& out) {
    const auto last = last_sync_ms_.load();
    if (last != 0) {
      out.push_back({"nsl_identity_sync_age_seconds",
                     "Seconds since this replica last loaded revocations, disabled accounts and role changes.",
                     metrics::Type::gauge,
                     {},
                     static_cast<double>(now_ms() - last) / 1000.0});
    }
    out.push_back({"nsl_identity_sync_failures_total",
                   "Loads of revocations and account changes that failed.",
                   metrics::Type::counter,
                   {},
                   static_cast<double>(sync_failures_.load())});
    std::shared_lock lock(state_mutex_);
    const std::pair<const char*, std::size_t> kinds[] = {{"revoked_tokens", revoked_.size()},
                                                         {"revoked_api_keys", revoked_keys_.size()},
                                                         {"disabled_accounts", disabled_.size()},
                                                         {"changed_roles", roles_.size()}};
    for (const auto& [kind, n] : kinds) {
      out.push_back({"nsl_identity_mirrored_entries",
                     "Entries of the in-memory mirror tokens are checked against.",
                     metrics::Type::gauge,
                     {{"kind", kind}},
                     static_cast<double>(n)});
    }
  });
}

http::CheckResult Authenticator::sync_health() const {
  const auto last = last_sync_ms_.load();
  const auto limit = std::max<std::int64_t>(5000, 5 * sync_interval_ms_.load());
  const auto age = now_ms() - (last != 0 ? last : created_ms_);
  if (age <= limit) {
    return {http::HealthStatus::healthy,
            last != 0 ? "revocations loaded " + std::to_string(age) + " ms ago" : std::string("loading revocations")};
  }
  return {http::HealthStatus::degraded,
          "revocations, disabled accounts and role changes made on other replicas have not been loaded for " +
              std::to_string(age / 1000) + " s (" + std::to_string(sync_failures_.load()) + " failed loads)"};
}

asio::awaitable<void> Authenticator::run_sync(std::chrono::milliseconds interval) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  sync_interval_ms_.store(interval.count());
  while (!stopping_.load()) {
    try {
      co_await sync_once();
    } catch (const std::exception& e) {
      sync_failures_.fetch_add(1);
      log_.error("cannot load token revocations; retrying", {{"error", e.what()}});
    }
    timer.expires_after(interval);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<http::Principal> Authenticator::authenticate(http::Context& ctx) {
  const auto auth = ctx.request[http::Field::authorization];
  const auto key = ctx.request["X-API-Key"];
  http::Principal p;
  if (!auth.empty()) {
    if (auth.size() < 8 || !std::equal(auth.begin(), auth.begin() + 7, "Bearer ", [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      throw unauthorized("the Authorization header must be \"Bearer <token>\"");
    }
    TokenError error;
    const auto claims = verified(auth.substr(7), error);
    if (!claims) throw unauthorized(error.reason);
    if (!synced_) co_await sync_once();
    std::optional<std::string> role;
    if (refused_by_state(*claims, role)) throw unauthorized("the token has been revoked, or its account is disabled");
    p = {claims->subject, claims->name, claims->role, claims->scope, "jwt", claims->id};
    if (role) {
      // The account's role changed since the token was issued: no more than the role has now.
      p.permissions = intersect(role_permissions(parse_role(*role).value_or(Role::user)), p.permissions);
      p.role = std::move(*role);
    }
    co_return p;
  }
  if (!key.empty()) {
    const std::string given(key);
    const auto lookup = api_key_lookup(given);
    if (!lookup) throw unauthorized("the API key is malformed");
    const auto row = co_await db_.run([&](db::Connection& c) {
      return c.query(
          "SELECT k.id, k.hash, k.permissions, k.revoked_at, a.id, a.name, a.role, a.disabled "
          "FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.lookup = $1",
          {*lookup});
    });
    if (row.empty() || !same_hash(row.get<std::string>(0, 1), credential_hash(given)))
      throw unauthorized("the API key is not valid");
    if (!row.is_null(0, 3)) throw unauthorized("the API key has been revoked");
    if (row.get<std::int64_t>(0, 7) != 0) throw unauthorized("the account is disabled");
    const auto role = parse_role(row.get<std::string>(0, 6)).value_or(Role::user);
    p = {row.get<std::string>(0, 4),
         row.get<std::string>(0, 5),
         row.get<std::string>(0, 6),
         intersect(role_permissions(role), stored_permissions(row.get<std::string>(0, 2))),
         "api-key",
         row.get<std::string>(0, 0)};
    co_return p;
  }
  throw unauthorized("authentication is required: send Authorization: Bearer <token> or X-API-Key: <key>");
}

asio::awaitable<std::string> Authenticator::sign(Claims& claims) {
  claims.issuer = settings_.issuer;
  claims.audience = settings_.audience;
  claims.issued_at = std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());
  claims.expires_at = claims.issued_at + settings_.access_ttl;
  claims.id = random_uuid();
  if (settings_.keys.algorithm == "HS256") co_return sign_hs256(claims, settings_.keys.hmac_secret);
  const auto input = signing_input("ES256", claims);
  const auto signature = co_await enclave_->jwt_sign(input);
  co_return assemble(input, signature);
}

}  // namespace nsl::identity
