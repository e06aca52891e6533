#include "nsl/identity/service.hpp"

#include <openssl/crypto.h>

#include <boost/asio/this_coro.hpp>

#include <algorithm>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neox/abi.hpp"
#include "nsl/identity/operations.hpp"
#include "nsl/chain/neox/address.hpp"
#include "nsl/core/errors.hpp"
#include "nsl/core/ids.hpp"
#include "nsl/core/strings.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/secp256k1.hpp"
#include "nsl/crypto/symmetric.hpp"

namespace nsl::identity {
namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

bool is_null(const db::Result& r, std::size_t row, std::size_t column) {
  return std::holds_alternative<std::nullptr_t>(r.rows[row][column]);
}

std::string sha256_hex(std::string_view text) { return crypto::to_hex(crypto::sha256(crypto::as_bytes(text))); }

bool same(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

RequestError unauthorized(const std::string& why) {
  return std::move(RequestError(ErrorKind::unauthorized, why).with_header("WWW-Authenticate", "Bearer"));
}

// The permissions a new API key asks for ("permissions", default: all of `granted`), each within
// `granted`; 400 for a malformed list, 403 for a permission beyond it.
std::vector<std::string> requested_permissions(const json& body, const std::vector<std::string>& granted, const char* whose) {
  if (!body.contains("permissions")) return granted;
  if (!body["permissions"].is_array() || body["permissions"].empty() || body["permissions"].size() > 64) {
    throw RequestError(ErrorKind::bad_request, "permissions must be a list of 1 to 64 permissions")
        .with_field("permissions", "must be a list of 1 to 64 permissions");
  }
  std::vector<std::string> wanted;
  for (const auto& x : body["permissions"]) {
    if (!x.is_string() || !valid_permission(x.get<std::string>())) {
      throw RequestError(ErrorKind::bad_request, "permissions holds a malformed permission")
          .with_field("permissions", "each must look like \"service:action\", \"service:*\" or \"*\"");
    }
    if (!identity::allows(granted, x.get<std::string>())) {
      throw RequestError(ErrorKind::forbidden, "a key cannot carry " + x.get<std::string>() + ", which " + whose + " lacks");
    }
    wanted.push_back(x.get<std::string>());
  }
  return wanted;
}

// Adds each route with its OpenAPI operation (operations.cpp).
struct DocumentedRouter {
  http::Router& router;
  void add(http::Route route) { router.add(documented(std::move(route))); }
};

// The JSON object of a request body; 400 naming the problem otherwise.
json body_of(const http::Context& ctx) {
  auto j = json::parse(ctx.request.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw BadRequest("the request body must be a JSON object");
  return j;
}

std::string text_field(const json& j, const char* name, std::size_t max, bool required = true) {
  const auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) throw RequestError(ErrorKind::bad_request, std::string(name) + " is required").with_field(name, "is required");
    return {};
  }
  if (!it->is_string())
    throw RequestError(ErrorKind::bad_request, std::string(name) + " must be a string").with_field(name, "must be a string");
  auto s = it->get<std::string>();
  if (utf8_length(s) > max || (required && s.empty())) {
    throw RequestError(ErrorKind::bad_request, std::string(name) + " must be 1 to " + std::to_string(max) + " characters")
        .with_field(name, "must be 1 to " + std::to_string(max) + " characters");
  }
  return s;
}

std::vector<std::string> json_strings(const std::string& text) {
  std::vector<std::string> out;
  const auto j = json::parse(text, nullptr, false);
  if (j.is_array()) {
    for (const auto& s : j) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

std::string random_hex(std::size_t bytes) { return crypto::to_hex(crypto::random_bytes(bytes)); }

// "nsl_<16 hex lookup>_<64 hex secret>"
struct KeyParts {
  std::string lookup;
};
std::optional<KeyParts> parse_api_key(std::string_view key) {
  if (key.size() != 4 + 16 + 1 + 64 || key.substr(0, 4) != "nsl_" || key[20] != '_') return std::nullopt;
  for (std::size_t i = 4; i < key.size(); ++i) {
    if (i == 20) continue;
    if (!std::isxdigit(static_cast<unsigned char>(key[i]))) return std::nullopt;
  }
  return KeyParts{std::string(key.substr(4, 16))};
}

std::string new_api_key(std::string& lookup) {
  lookup = random_hex(8);
  return "nsl_" + lookup + "_" + random_hex(32);
}

http::Response no_content() {
  http::Response r{http::beast_http::status::no_content, 11};
  return r;
}

std::string time_in(std::chrono::seconds s) { return db::utc_now_text(s); }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

IdentityService::IdentityService(db::Database& database, enclave::EnclaveClient* enclave, IdentitySettings settings,
                                 log::Logger log)
    : db_(database), enclave_(enclave), settings_(std::move(settings)), log_(std::move(log)), created_ms_(now_ms()) {}

bool IdentityService::allows(const http::Principal& principal, std::string_view permission) const {
  return identity::allows(principal.permissions, permission);
}

CreatedAccount IdentityService::create_account(db::Connection& c, const std::string& name, Role role) {
  // 100 characters, and never more than 400 bytes (a name from the command line is not checked as UTF-8).
  if (name.empty() || utf8_length(name) > 100 || name.size() > 400) {
    throw std::invalid_argument("the account name must be 1 to 100 characters");
  }
  if (http::address_space_of(name) != http::AddressSpace::none) {
    throw std::invalid_argument("the account name has the form of a wallet address, which only wallet sign-in may take");
  }
  CreatedAccount out;
  out.account_id = random_uuid();
  std::string lookup;
  out.api_key = new_api_key(lookup);
  try {
    c.query("INSERT INTO accounts (id, name, kind, role) VALUES ($1, $2, 'name', $3)",
            {out.account_id, name, std::string(role_name(role))});
  } catch (const db::DatabaseError& e) {
    if (e.kind() == db::DatabaseError::Kind::unique_violation || e.kind() == db::DatabaseError::Kind::constraint) {
      throw std::invalid_argument("an account named \"" + name + "\" exists already");
    }
    throw;
  }
  c.query("INSERT INTO api_keys (id, account_id, name, lookup, hash, permissions) VALUES ($1, $2, $3, $4, $5, $6)",
          {random_uuid(), out.account_id, std::string("initial"), lookup, sha256_hex(out.api_key),
           json(role_permissions(role)).dump()});
  return out;
}

std::optional<Claims> IdentityService::verified(std::string_view token, TokenError& error) {
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

bool IdentityService::refused_by_state(const Claims& claims, std::optional<std::string>& role) const {
  std::shared_lock lock(state_mutex_);
  if (revoked_.count(claims.id) > 0 || disabled_.count(claims.subject) > 0) return true;
  if (!claims.api_key_id.empty() && revoked_keys_.count(claims.api_key_id) > 0) return true;
  // Only accounts whose role was changed are listed; the others have the role of their tokens.
  if (const auto it = roles_.find(claims.subject); it != roles_.end() && it->second != claims.role) role = it->second;
  return false;
}

void IdentityService::apply(const std::string& account, const AccountChange& change) {
  if (change.disabled) {
    if (*change.disabled)
      disabled_.insert(account);
    else
      disabled_.erase(account);
  }
  if (change.role) roles_[account] = *change.role;
}

void IdentityService::changed(const std::string& account, std::optional<bool> disabled, std::optional<std::string> role) {
  std::unique_lock lock(state_mutex_);
  auto& c = changes_[account];
  if (disabled) c.disabled = disabled;
  if (role) c.role = std::move(role);
  c.at = std::chrono::steady_clock::now();
  apply(account, c);
}

void IdentityService::revoked(bool api_key, const std::string& id) {
  std::unique_lock lock(state_mutex_);
  (api_key ? revoked_keys_ : revoked_).insert(id);
  revocations_.push_back({api_key, id, std::chrono::steady_clock::now()});
}

asio::awaitable<bool> IdentityService::revoke_api_key(const std::string& account, const std::string& id) {
  const auto now = db::utc_now_text();
  const auto found = co_await db_.transaction([&](db::Connection& c) {
    if (c.query("UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3) WHERE id = $1 AND account_id = $2", {id, account, now})
            .affected == 0) {
      return false;
    }
    c.query("UPDATE refresh_tokens SET revoked_at = $2 WHERE api_key_id = $1 AND revoked_at IS NULL", {id, now});
    return true;
  });
  if (found) revoked(true, id);
  co_return found;
}

asio::awaitable<void> IdentityService::sync_once() {
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

void IdentityService::add_metrics(metrics::Registry& registry) {
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

http::CheckResult IdentityService::sync_health() const {
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

asio::awaitable<void> IdentityService::run_sync(std::chrono::milliseconds interval) {
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

asio::awaitable<http::Principal> IdentityService::authenticate(http::Context& ctx) {
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
    const auto parts = parse_api_key(given);
    if (!parts) throw unauthorized("the API key is malformed");
    const auto row = co_await db_.run([&](db::Connection& c) {
      return c.query(
          "SELECT k.id, k.hash, k.permissions, k.revoked_at, a.id, a.name, a.role, a.disabled "
          "FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.lookup = $1",
          {parts->lookup});
    });
    if (row.empty() || !same(row.get<std::string>(0, 1), sha256_hex(given))) throw unauthorized("the API key is not valid");
    if (!is_null(row, 0, 3)) throw unauthorized("the API key has been revoked");
    if (row.get<std::int64_t>(0, 7) != 0) throw unauthorized("the account is disabled");
    const auto role = parse_role(row.get<std::string>(0, 6)).value_or(Role::user);
    p = {row.get<std::string>(0, 4),
         row.get<std::string>(0, 5),
         row.get<std::string>(0, 6),
         intersect(role_permissions(role), json_strings(row.get<std::string>(0, 2))),
         "api-key",
         row.get<std::string>(0, 0)};
    co_return p;
  }
  throw unauthorized("authentication is required: send Authorization: Bearer <token> or X-API-Key: <key>");
}

void IdentityService::store_refresh(db::Connection& c, const std::string& account_id, const std::string& family,
                                    const std::string& refresh, const std::string& scope_text,
                                    const std::string& api_key_id) const {
  c.query(
      "INSERT INTO refresh_tokens (id, family, account_id, hash, scope, expires_at, api_key_id) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {random_uuid(), family, account_id, sha256_hex(refresh), scope_text, time_in(settings_.refresh_ttl),
       api_key_id.empty() ? db::Value(nullptr) : db::Value(api_key_id)});
}

asio::awaitable<json> IdentityService::issue_tokens(std::string account_id, std::string name, std::string role,
                                                    std::vector<std::string> scope, std::string family, std::string api_key_id,
                                                    std::optional<std::string> refresh) {
  Claims claims;
  claims.subject = account_id;
  claims.name = name;
  claims.role = role;
  claims.scope = scope;
  claims.issuer = settings_.issuer;
  claims.audience = settings_.audience;
  claims.issued_at = std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());
  claims.expires_at = claims.issued_at + settings_.access_ttl;
  claims.id = random_uuid();
  claims.api_key_id = api_key_id;
  std::string token;
  if (settings_.keys.algorithm == "HS256") {
    token = sign_hs256(claims, settings_.keys.hmac_secret);
  } else {
    const auto input = signing_input("ES256", claims);
    const auto signature = co_await enclave_->jwt_sign(input);
    token = assemble(input, signature);
  }
  if (!refresh) {
    refresh = "nslr_" + random_hex(32);
    co_await db_.run([&](db::Connection& c) { store_refresh(c, account_id, family, *refresh, json(scope).dump(), api_key_id); });
  }
  json out{{"access_token", token},
           {"token_type", "Bearer"},
           {"expires_in", settings_.access_ttl.count()},
           {"refresh_token", *refresh},
           {"refresh_expires_in", settings_.refresh_ttl.count()},
           {"scope", scope}};
  co_return out;
}

void IdentityService::add_routes(http::Router& base) {
  DocumentedRouter router{base};
  // An API key for tokens.
  router.add({http::Verb::post, "/v1/auth/token", "auth", "",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto key = text_field(body_of(ctx), "api_key", 200);
                const auto parts = parse_api_key(key);
                if (!parts) throw unauthorized("the API key is not valid");
                const auto row = co_await db_.run([&](db::Connection& c) {
                  return c.query(
                      "SELECT k.hash, k.permissions, k.revoked_at, a.id, a.name, a.role, a.disabled, k.id "
                      "FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.lookup = $1",
                      {parts->lookup});
                });
                if (row.empty() || !same(row.get<std::string>(0, 0), sha256_hex(key)) || !is_null(row, 0, 2) ||
                    row.get<std::int64_t>(0, 6) != 0) {
                  throw unauthorized("the API key is not valid");
                }
                const auto role = parse_role(row.get<std::string>(0, 5)).value_or(Role::user);
                auto scope = intersect(role_permissions(role), json_strings(row.get<std::string>(0, 1)));
                auto tokens =
                    co_await issue_tokens(row.get<std::string>(0, 3), row.get<std::string>(0, 4), row.get<std::string>(0, 5),
                                          std::move(scope), random_uuid(), row.get<std::string>(0, 7));
                co_return http::json_response(200, tokens.dump());
              },
              true});

  // A refresh token for new tokens. Each refresh token works once; presenting a used one means
  // it was stolen or replayed, and the whole family is revoked.
  router.add({http::Verb::post, "/v1/auth/refresh", "auth", "",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto refresh = text_field(body_of(ctx), "refresh_token", 200);
                const auto hash = sha256_hex(refresh);
                // The next token of the family is stored in the transaction that spends this one.
                // Write transactions are serialized (SQLite's one writer; PostgreSQL's SERIALIZABLE
                // retries the later of two that meet), so of two refreshes with one token the
                // second finds it spent and revokes the family, the next token the first was given
                // included. Stored after that transaction, the next token could escape the revocation.
                const auto next = "nslr_" + random_hex(32);
                const auto outcome = co_await db_.transaction([&](db::Connection& c) -> json {
                  const auto r = c.query(
                      "SELECT t.id, t.family, t.scope, t.used_at, t.revoked_at, "
                      "t.expires_at < $2, a.id, a.name, a.role, a.disabled, coalesce(t.api_key_id, '') "
                      "FROM refresh_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.hash = $1",
                      {hash, db::utc_now_text()});
                  if (r.empty()) return json{{"error", "the refresh token is not valid"}};
                  const auto family = r.get<std::string>(0, 1);
                  const auto reused = [&] {
                    c.query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL",
                            {family, db::utc_now_text()});
                    return json{{"error", "the refresh token was used before: every token of its family is revoked"},
                                {"reuse", true},
                                {"family", family}};
                  };
                  if (!is_null(r, 0, 3)) return reused();
                  if (!is_null(r, 0, 4)) return json{{"error", "the refresh token has been revoked"}};
                  if (r.get<std::int64_t>(0, 5) != 0) return json{{"error", "the refresh token has expired"}};
                  if (r.get<std::int64_t>(0, 9) != 0) return json{{"error", "the account is disabled"}};
                  const auto spent = c.query("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
                                             {r.get<std::string>(0, 0), db::utc_now_text()});
                  if (spent.affected == 0) return reused();  // spent meanwhile (serialization makes this rare)
                  // No more than the account's role grants now (it may have changed since the family
                  // began); the family keeps the narrowed scope.
                  const auto scope = json(intersect(role_permissions(parse_role(r.get<std::string>(0, 8)).value_or(Role::user)),
                                                    json_strings(r.get<std::string>(0, 2))));
                  const auto api_key_id = r.get<std::string>(0, 10);
                  store_refresh(c, r.get<std::string>(0, 6), family, next, scope.dump(), api_key_id);
                  return json{{"family", family},
                              {"scope", scope},
                              {"api_key_id", api_key_id},
                              {"account_id", r.get<std::string>(0, 6)},
                              {"name", r.get<std::string>(0, 7)},
                              {"role", r.get<std::string>(0, 8)}};
                });
                if (outcome.contains("error")) {
                  if (outcome.value("reuse", false)) {
                    log_.warn("refresh token reused: its family is revoked", {{"family", outcome["family"].get<std::string>()}});
                  }
                  throw unauthorized(outcome["error"].get<std::string>());
                }
                auto tokens = co_await issue_tokens(outcome["account_id"], outcome["name"], outcome["role"],
                                                    outcome["scope"].get<std::vector<std::string>>(), outcome["family"],
                                                    outcome["api_key_id"], next);
                co_return http::json_response(200, tokens.dump());
              },
              true});

  // Revokes the access token used for this request, and a refresh token's family if given.
  router.add({http::Verb::post, "/v1/auth/revoke", "auth", "", [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto body = ctx.request.body().empty() ? json::object() : body_of(ctx);
                const auto refresh = text_field(body, "refresh_token", 200, false);
                if (refresh.empty() && body.contains("refresh_token") && !body["refresh_token"].is_null()) {
                  throw field_error("refresh_token", "must be 1 to 200 characters (or left out)");
                }
                const auto& p = *ctx.principal;
                co_await db_.transaction([&](db::Connection& c) {
                  if (p.method == "jwt") {
                    c.query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                            {p.token_id, time_in(settings_.access_ttl)});
                  }
                  if (!refresh.empty()) {
                    c.query(
                        "UPDATE refresh_tokens SET revoked_at = $3 WHERE family = "
                        "(SELECT family FROM refresh_tokens WHERE hash = $1 AND account_id = $2) AND revoked_at IS NULL",
                        {sha256_hex(refresh), p.account_id, db::utc_now_text()});
                  }
                });
                if (p.method == "jwt") revoked(false, p.token_id);
                co_return no_content();
              }});

  // The key that verifies access tokens, for clients and other services (ES256 only: an HS256
  // secret is never published).
  router.add(
      {http::Verb::get, "/v1/auth/keys", "auth", "",
       [this](http::Context&) -> asio::awaitable<http::Response> {
         if (settings_.keys.algorithm != "ES256")
           throw NotFound("tokens are signed with a shared secret (HS256): there is no public key");
         const json body{{"alg", "ES256"}, {"crv", "P-256"}, {"public_key", crypto::to_hex(settings_.keys.es256_public_key)}};
         co_return http::json_response(200, body.dump());
       },
       true});

  router.add({http::Verb::get, "/v1/auth/me", "auth", "", [](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto& p = *ctx.principal;
                const json body{{"account_id", p.account_id},
                                {"name", p.name},
                                {"role", p.role},
                                {"permissions", p.permissions},
                                {"authenticated_by", p.method}};
                co_return http::json_response(200, body.dump());
              }});

  // Wallet sign-in, step 1: a one-time message for the address to sign.
  router.add(
      {http::Verb::post, "/v1/auth/wallet/challenge", "auth", "",
       [this](http::Context& ctx) -> asio::awaitable<http::Response> {
         const auto body = body_of(ctx);
         const auto chain = text_field(body, "chain", 16);
         auto address = text_field(body, "address", 64);
         if (chain == "neo-n3") {
           if (!chain::neo::parse_address(address)) {
             throw RequestError(ErrorKind::bad_request, "not a Neo N3 address").with_field("address", "is not a Neo N3 address");
           }
         } else if (chain == "neo-x") {
           const auto a = chain::neox::parse_address(address);
           if (!a)
             throw RequestError(ErrorKind::bad_request, "not a Neo X address").with_field("address", "is not a Neo X address");
           address = chain::neox::to_checksum(*a);
         } else {
           throw RequestError(ErrorKind::bad_request, "chain must be neo-n3 or neo-x")
               .with_field("chain", "must be neo-n3 or neo-x");
         }
         const auto nonce = random_hex(16);
         const std::string message = "Sign in to the Neo Service Layer\nChain: " + chain + "\nAddress: " + address +
                                     "\nNonce: " + nonce + "\nAudience: " + settings_.audience;
         co_await db_.run([&](db::Connection& c) {
           c.query(
               "INSERT INTO wallet_nonces (nonce, chain, address, message, expires_at) "
               "VALUES ($1, $2, $3, $4, $5)",
               {nonce, chain, address, message, time_in(settings_.nonce_ttl)});
         });
         const json out{{"nonce", nonce}, {"message", message}, {"expires_in", settings_.nonce_ttl.count()}};
         co_return http::json_response(200, out.dump());
       },
       true});

  // Wallet sign-in, step 2: the signed message. Neo N3: ECDSA P-256 over SHA-256 of the message
  // with the wallet's key (its public key sent along); Neo X: an EIP-191 personal signature.
  router.add({http::Verb::post, "/v1/auth/wallet/sign-in", "auth", "",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto body = body_of(ctx);
                const auto nonce = text_field(body, "nonce", 64);
                const auto signature_hex = text_field(body, "signature", 200);
                const auto public_key_hex = text_field(body, "public_key", 200, false);
                // The nonce is spent whatever the outcome: a signature can be tried once.
                const auto row = co_await db_.transaction([&](db::Connection& c) {
                  auto r = c.query("SELECT chain, address, message, used_at, expires_at < $2 FROM wallet_nonces WHERE nonce = $1",
                                   {nonce, db::utc_now_text()});
                  if (!r.empty() && is_null(r, 0, 3)) {
                    c.query("UPDATE wallet_nonces SET used_at = $2 WHERE nonce = $1", {nonce, db::utc_now_text()});
                  }
                  return r;
                });
                if (row.empty()) throw unauthorized("unknown nonce: ask /v1/auth/wallet/challenge for one");
                if (!is_null(row, 0, 3)) throw unauthorized("the nonce was used already");
                if (row.get<std::int64_t>(0, 4) != 0) throw unauthorized("the nonce has expired");
                const auto chain = row.get<std::string>(0, 0);
                const auto address = row.get<std::string>(0, 1);
                const auto message = row.get<std::string>(0, 2);
                const auto signature = crypto::from_hex(signature_hex);
                if (!signature)
                  throw RequestError(ErrorKind::bad_request, "signature must be hex").with_field("signature", "must be hex");
                bool valid = false;
                if (chain == "neo-n3") {
                  const auto pub = crypto::from_hex(public_key_hex);
                  if (!pub || pub->size() != 33) {
                    throw RequestError(ErrorKind::bad_request, "public_key must be the 33-byte compressed key (hex)")
                        .with_field("public_key", "must be the 33-byte compressed key (hex)");
                  }
                  chain::neo::PublicKey key{};
                  std::copy(pub->begin(), pub->end(), key.begin());
                  const bool owns =
                      chain::neo::to_address(chain::neo::script_hash(chain::neo::single_sig_script(key))) == address;
                  valid = owns && signature->size() == 64 && crypto::p256::verify(*pub, crypto::as_bytes(message), *signature);
                } else {
                  if (signature->size() == 65) {
                    crypto::secp256k1::RecoverableSignature rs;
                    std::copy(signature->begin(), signature->begin() + 32, rs.r.begin());
                    std::copy(signature->begin() + 32, signature->begin() + 64, rs.s.begin());
                    const int v = (*signature)[64];
                    rs.recovery_id = v >= 27 ? v - 27 : v;
                    if (rs.recovery_id == 0 || rs.recovery_id == 1) {
                      const auto recovered =
                          crypto::secp256k1::recover(chain::neox::abi::eip191_message_hash(crypto::as_bytes(message)), rs);
                      valid = recovered && chain::neox::to_checksum(chain::neox::address_of(*recovered)) == address;
                    }
                  }
                }
                if (!valid) throw unauthorized("the signature is not the address's signature of the challenge");
                // The address is the principal: its account is created on first sign-in.
                const auto account = co_await db_.transaction([&](db::Connection& c) {
                  c.query("INSERT INTO accounts (id, name, kind, role) VALUES ($1, $2, $3, 'user') ON CONFLICT DO NOTHING",
                          {random_uuid(), address, chain});
                  return c.query("SELECT id, role, disabled FROM accounts WHERE name = $1", {address});
                });
                if (account.get<std::int64_t>(0, 2) != 0) throw unauthorized("the account is disabled");
                const auto role = parse_role(account.get<std::string>(0, 1)).value_or(Role::user);
                auto tokens = co_await issue_tokens(account.get<std::string>(0, 0), address, role_name(role),
                                                    role_permissions(role), random_uuid(), "");
                co_return http::json_response(200, tokens.dump());
              },
              true});

  // API keys of the calling account.
  router.add({http::Verb::post, "/v1/api-keys", "auth", "", [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto body = body_of(ctx);
                const auto name = text_field(body, "name", 100);
                const auto& p = *ctx.principal;
                auto wanted = requested_permissions(body, p.permissions, "this credential");
                auto out = co_await create_api_key(p.account_id, name, std::move(wanted));
                co_return http::json_response(201, out.dump());
              }});
  router.add({http::Verb::get, "/v1/api-keys", "auth", "", [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto rows = co_await db_.run([&](db::Connection& c) {
                  return c.query(
                      "SELECT id, name, permissions, created_at, revoked_at FROM api_keys WHERE account_id = $1 "
                      "ORDER BY created_at, id",
                      {ctx.principal->account_id});
                });
                json keys = json::array();
                for (std::size_t i = 0; i < rows.rows.size(); ++i) {
                  keys.push_back({{"id", rows.get<std::string>(i, 0)},
                                  {"name", rows.get<std::string>(i, 1)},
                                  {"permissions", json::parse(rows.get<std::string>(i, 2))},
                                  {"created_at", rows.get<std::string>(i, 3)},
                                  {"revoked_at", is_null(rows, i, 4) ? json(nullptr) : json(rows.get<std::string>(i, 4))}});
                }
                co_return http::json_response(200, json{{"api_keys", keys}}.dump());
              }});
  router.add(
      {http::Verb::delete_, "/v1/api-keys/{id}", "auth", "", [this](http::Context& ctx) -> asio::awaitable<http::Response> {
         const std::string id(ctx.param("id"));
         // Another account's key is as unknown as a missing one.
         if (!co_await revoke_api_key(ctx.principal->account_id, id)) throw NotFound("no API key " + id);
         co_return no_content();
       }});
}

asio::awaitable<json> IdentityService::create_api_key(std::string account_id, std::string name,
                                                      std::vector<std::string> permissions) {
  std::string lookup;
  const auto key = new_api_key(lookup);
  const auto id = random_uuid();
  const auto stored = co_await db_.transaction([&](db::Connection& c) {
    if (c.query("SELECT count(*) FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL", {account_id})
            .get<std::int64_t>(0, 0) >= settings_.api_keys_per_account) {
      return false;
    }
    c.query("INSERT INTO api_keys (id, account_id, name, lookup, hash, permissions) VALUES ($1, $2, $3, $4, $5, $6)",
            {id, account_id, name, lookup, sha256_hex(key), json(permissions).dump()});
    return true;
  });
  if (!stored) {
    throw RequestError(ErrorKind::conflict, "the quota of " + std::to_string(settings_.api_keys_per_account) +
                                                " API keys is used up (Quotas:ApiKeysPerAccount); revoke one first");
  }
  co_return json{{"id", id}, {"name", name}, {"api_key", key}, {"permissions", permissions}};
}

namespace {

json account_json(const db::Result& r, std::size_t i) {
  return {
      {"id", r.get<std::string>(i, 0)},   {"name", r.get<std::string>(i, 1)},           {"kind", r.get<std::string>(i, 2)},
      {"role", r.get<std::string>(i, 3)}, {"disabled", r.get<std::int64_t>(i, 4) != 0}, {"created_at", r.get<std::string>(i, 5)}};
}

constexpr const char* kAccountColumns = "id, name, kind, role, disabled, created_at";

Role role_field(const json& body) {
  const auto name = text_field(body, "role", 16);
  const auto role = parse_role(name);
  if (!role)
    throw RequestError(ErrorKind::bad_request, "role is unknown").with_field("role", "must be admin, operator, user or auditor");
  return *role;
}

}  // namespace

// Admins (and, reading, auditors) acting on other accounts. Every such request is audited as an
// "admin_action" naming the account acted on.
void IdentityService::add_admin_routes(http::Router& base) {
  DocumentedRouter router{base};
  auto account = [this](http::Context& ctx) -> asio::awaitable<json> {
    const std::string id(ctx.param("id"));
    ctx.acting_on = id;
    const auto r = co_await db_.run([&](db::Connection& c) {
      return c.query(std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE id = $1", {id});
    });
    if (r.empty()) throw NotFound("no account " + id);
    co_return account_json(r, 0);
  };
  router.add({http::Verb::get, "/v1/admin/accounts", "admin", "accounts:read",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                std::string sql = std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE 1 = 1";
                std::vector<db::Value> params;
                if (const auto role = ctx.query_param("role")) {
                  if (!parse_role(*role))
                    throw RequestError(ErrorKind::bad_request, "role is unknown")
                        .with_field("role", "must be admin, operator, user or auditor");
                  params.emplace_back(*role);
                  sql += " AND role = $" + std::to_string(params.size());
                }
                if (const auto after = ctx.query_param("after")) {
                  params.emplace_back(*after);
                  sql += " AND id > $" + std::to_string(params.size());
                }
                sql += " ORDER BY id LIMIT 1001";
                const auto r = co_await db_.run([&](db::Connection& c) { return c.query(sql, params); });
                json accounts = json::array();
                for (std::size_t i = 0; i < r.rows.size() && i < 1000; ++i) accounts.push_back(account_json(r, i));
                json out{{"accounts", accounts}};
                if (r.rows.size() > 1000) out["next"] = accounts.back()["id"];
                co_return http::json_response(200, out.dump());
              }});
  router.add(
      {http::Verb::post, "/v1/admin/accounts", "admin", "accounts:write",
       [this](http::Context& ctx) -> asio::awaitable<http::Response> {
         const auto body = body_of(ctx);
         const auto name = text_field(body, "name", 100);
         if (http::address_space_of(name) != http::AddressSpace::none) {
           throw RequestError(ErrorKind::bad_request, "name has the form of a wallet address, which only wallet sign-in may take")
               .with_field("name", "has the form of a wallet address, which only wallet sign-in may take");
         }
         const auto role = role_field(body);
         std::optional<CreatedAccount> created;
         std::string taken;
         co_await db_.run([&](db::Connection& c) {
           try {
             created = create_account(c, name, role);
           } catch (const std::invalid_argument& e) {
             taken = e.what();
           }
         });
         if (!created) throw RequestError(ErrorKind::conflict, taken).with_field("name", "is taken");
         ctx.acting_on = created->account_id;
         const json out{
             {"account",
              {{"id", created->account_id}, {"name", name}, {"kind", "name"}, {"role", role_name(role)}, {"disabled", false}}},
             {"api_key", created->api_key}};
         co_return http::json_response(201, out.dump());
       }});
  router.add({http::Verb::get, "/v1/admin/accounts/{id}", "admin", "accounts:read",
              [this, account](http::Context& ctx) -> asio::awaitable<http::Response> {
                auto out = co_await account(ctx);
                const auto rows = co_await db_.run([&](db::Connection& c) {
                  return c.query(
                      "SELECT id, name, permissions, created_at, revoked_at, last_used_at FROM api_keys "
                      "WHERE account_id = $1 ORDER BY created_at, id",
                      {std::string(ctx.param("id"))});
                });
                json keys = json::array();
                for (std::size_t i = 0; i < rows.rows.size(); ++i) {
                  keys.push_back({{"id", rows.get<std::string>(i, 0)},
                                  {"name", rows.get<std::string>(i, 1)},
                                  {"permissions", json::parse(rows.get<std::string>(i, 2))},
                                  {"created_at", rows.get<std::string>(i, 3)},
                                  {"revoked_at", is_null(rows, i, 4) ? json(nullptr) : json(rows.get<std::string>(i, 4))},
                                  {"last_used_at", is_null(rows, i, 5) ? json(nullptr) : json(rows.get<std::string>(i, 5))}});
                }
                out["api_keys"] = keys;
                co_return http::json_response(200, out.dump());
              }});
  // Role, disable and enable: never on one's own account (an admin cannot lock everyone out).
  auto change = [this, account](std::string what) {
    return [this, account, what](http::Context& ctx) -> asio::awaitable<http::Response> {
      auto current = co_await account(ctx);
      const auto id = current["id"].get<std::string>();
      if (id == ctx.principal->account_id) {
        throw RequestError(ErrorKind::conflict, "an admin cannot change their own account's role or disable it");
      }
      if (what == "role") {
        const auto role = role_field(body_of(ctx));
        co_await db_.run([&](db::Connection& c) {
          c.query("UPDATE accounts SET role = $2, role_changed_at = $3 WHERE id = $1",
                  {id, std::string(role_name(role)), db::utc_now_text()});
        });
        // Tokens issued under the old role narrow to the new one: at once on this replica, on
        // the others within a sync interval.
        changed(id, std::nullopt, std::string(role_name(role)));
        current["role"] = role_name(role);
      } else {
        const bool disable = what == "disable";
        co_await db_.run([&](db::Connection& c) {
          c.query("UPDATE accounts SET disabled = $2 WHERE id = $1", {id, std::int64_t{disable ? 1 : 0}});
        });
        changed(id, disable, std::nullopt);  // at once on this replica; the others within a sync interval
        current["disabled"] = disable;
      }
      co_return http::json_response(200, current.dump());
    };
  };
  router.add({http::Verb::post, "/v1/admin/accounts/{id}/role", "admin", "accounts:write", change("role")});
  router.add({http::Verb::post, "/v1/admin/accounts/{id}/disable", "admin", "accounts:write", change("disable")});
  router.add({http::Verb::post, "/v1/admin/accounts/{id}/enable", "admin", "accounts:write", change("enable")});
  router.add({http::Verb::post, "/v1/admin/accounts/{id}/api-keys", "admin", "accounts:write",
              [this, account](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto target = co_await account(ctx);
                const auto body = body_of(ctx);
                const auto name = text_field(body, "name", 100);
                const auto role = parse_role(target["role"].get<std::string>()).value_or(Role::user);
                auto wanted = requested_permissions(body, role_permissions(role), "the account's role");
                auto out = co_await create_api_key(target["id"].get<std::string>(), name, std::move(wanted));
                co_return http::json_response(201, out.dump());
              }});
  router.add({http::Verb::delete_, "/v1/admin/accounts/{id}/api-keys/{key_id}", "admin", "accounts:write",
              [this, account](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto target = co_await account(ctx);
                const std::string key_id(ctx.param("key_id"));
                if (!co_await revoke_api_key(target["id"].get<std::string>(), key_id))
                  throw NotFound("no API key " + key_id + " on account " + target["id"].get<std::string>());
                co_return no_content();
              }});
}

}  // namespace nsl::identity
