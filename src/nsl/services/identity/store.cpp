#include "nsl/services/identity/store.hpp"

#include <nlohmann/json.hpp>

#include "nsl/core/ids.hpp"
#include "nsl/identity/authenticator.hpp"

namespace nsl::services::identity {
namespace {

using nlohmann::json;
using nsl::identity::stored_permissions;

constexpr const char* kAccountColumns = "id, name, kind, role, disabled, created_at";

Account account_of(const db::Result& r, std::size_t i, std::size_t first = 0) {
  return {r.get<std::string>(i, first),     r.get<std::string>(i, first + 1),       r.get<std::string>(i, first + 2),
          r.get<std::string>(i, first + 3), r.get<std::int64_t>(i, first + 4) != 0, r.get<std::string>(i, first + 5)};
}

bool is_conflict(const db::DatabaseError& e) {
  return e.kind() == db::DatabaseError::Kind::unique_violation || e.kind() == db::DatabaseError::Kind::constraint;
}

}  // namespace

bool IdentityStore::insert_account(db::Connection& c, const Account& account, const std::string& key_lookup,
                                   const std::string& key_hash, const std::vector<std::string>& permissions) {
  try {
    c.query("INSERT INTO accounts (id, name, kind, role) VALUES ($1, $2, 'name', $3)", {account.id, account.name, account.role});
  } catch (const db::DatabaseError& e) {
    if (is_conflict(e)) return false;
    throw;
  }
  c.query("INSERT INTO api_keys (id, account_id, name, lookup, hash, permissions) VALUES ($1, $2, $3, $4, $5, $6)",
          {random_uuid(), account.id, std::string("initial"), key_lookup, key_hash, json(permissions).dump()});
  return true;
}

asio::awaitable<bool> IdentityStore::insert_account(Account account, std::string key_lookup, std::string key_hash,
                                                    std::vector<std::string> permissions) {
  // A failed statement aborts a PostgreSQL transaction: a taken name leaves it as an exception, so
  // that it is rolled back rather than committed.
  struct Taken {};
  try {
    co_await db_.transaction([&](db::Connection& c) {
      if (!insert_account(c, account, key_lookup, key_hash, permissions)) throw Taken{};
    });
  } catch (const Taken&) {
    co_return false;
  }
  co_return true;
}

asio::awaitable<std::optional<Account>> IdentityStore::account(std::string id) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query(std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE id = $1", {id});
  });
  if (r.empty()) co_return std::nullopt;
  co_return account_of(r, 0);
}

asio::awaitable<std::vector<Account>> IdentityStore::accounts(std::optional<std::string> role, std::optional<std::string> after,
                                                              int limit) {
  std::string sql = std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE 1 = 1";
  std::vector<db::Value> params;
  if (role) {
    params.emplace_back(*role);
    sql += " AND role = $" + std::to_string(params.size());
  }
  if (after) {
    params.emplace_back(*after);
    sql += " AND id > $" + std::to_string(params.size());
  }
  sql += " ORDER BY id LIMIT " + std::to_string(limit);
  const auto r = co_await db_.run([&](db::Connection& c) { return c.query(sql, params); });
  std::vector<Account> out;
  for (std::size_t i = 0; i < r.rows.size(); ++i) out.push_back(account_of(r, i));
  co_return out;
}

asio::awaitable<Account> IdentityStore::wallet_account(std::string chain, std::string address) {
  const auto r = co_await db_.transaction([&](db::Connection& c) {
    c.query("INSERT INTO accounts (id, name, kind, role) VALUES ($1, $2, $3, 'user') ON CONFLICT DO NOTHING",
            {random_uuid(), address, chain});
    return c.query(std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE name = $1", {address});
  });
  co_return account_of(r, 0);
}

asio::awaitable<void> IdentityStore::set_role(std::string id, std::string role) {
  co_await db_.run([&](db::Connection& c) {
    c.query("UPDATE accounts SET role = $2, role_changed_at = $3 WHERE id = $1", {id, role, db::utc_now_text()});
  });
}

asio::awaitable<void> IdentityStore::set_disabled(std::string id, bool disabled) {
  co_await db_.run([&](db::Connection& c) {
    c.query("UPDATE accounts SET disabled = $2 WHERE id = $1", {id, std::int64_t{disabled ? 1 : 0}});
  });
}

asio::awaitable<std::optional<KeyHolder>> IdentityStore::key_holder(std::string lookup) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query(
        "SELECT k.id, k.hash, k.permissions, k.revoked_at, a.id, a.name, a.kind, a.role, a.disabled, a.created_at "
        "FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.lookup = $1",
        {lookup});
  });
  if (r.empty()) co_return std::nullopt;
  co_return KeyHolder{r.get<std::string>(0, 0), r.get<std::string>(0, 1), stored_permissions(r.get<std::string>(0, 2)),
                      !r.is_null(0, 3), account_of(r, 0, 4)};
}

asio::awaitable<bool> IdentityStore::insert_api_key(std::string account, std::string id, std::string name, std::string lookup,
                                                    std::string hash, std::vector<std::string> permissions, int quota) {
  co_return co_await db_.transaction([&](db::Connection& c) {
    if (c.query("SELECT count(*) FROM api_keys WHERE account_id = $1 AND revoked_at IS NULL", {account})
            .get<std::int64_t>(0, 0) >= quota) {
      return false;
    }
    c.query("INSERT INTO api_keys (id, account_id, name, lookup, hash, permissions) VALUES ($1, $2, $3, $4, $5, $6)",
            {id, account, name, lookup, hash, json(permissions).dump()});
    return true;
  });
}

asio::awaitable<std::vector<ApiKey>> IdentityStore::api_keys(std::string account) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query(
        "SELECT id, name, permissions, created_at, revoked_at, last_used_at FROM api_keys WHERE account_id = $1 "
        "ORDER BY created_at, id",
        {account});
  });
  std::vector<ApiKey> out;
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    out.push_back({r.get<std::string>(i, 0), r.get<std::string>(i, 1), stored_permissions(r.get<std::string>(i, 2)),
                   r.get<std::string>(i, 3), r.get_optional<std::string>(i, 4), r.get_optional<std::string>(i, 5)});
  }
  co_return out;
}

asio::awaitable<bool> IdentityStore::revoke_api_key(std::string account, std::string id) {
  const auto now = db::utc_now_text();
  co_return co_await db_.transaction([&](db::Connection& c) {
    if (c.query("UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3) WHERE id = $1 AND account_id = $2", {id, account, now})
            .affected == 0) {
      return false;
    }
    c.query("UPDATE refresh_tokens SET revoked_at = $2 WHERE api_key_id = $1 AND revoked_at IS NULL", {id, now});
    return true;
  });
}

namespace {

void store_refresh(db::Connection& c, const std::string& account, const std::string& family, const std::string& hash,
                   const std::string& scope_text, const std::string& expires_at, const std::string& api_key_id) {
  c.query(
      "INSERT INTO refresh_tokens (id, family, account_id, hash, scope, expires_at, api_key_id) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7)",
      {random_uuid(), family, account, hash, scope_text, expires_at,
       api_key_id.empty() ? db::Value(nullptr) : db::Value(api_key_id)});
}

}  // namespace

asio::awaitable<void> IdentityStore::insert_refresh(std::string account, std::string family, std::string hash,
                                                    std::vector<std::string> scope, std::string expires_at,
                                                    std::string api_key_id) {
  co_await db_.run(
      [&](db::Connection& c) { store_refresh(c, account, family, hash, json(scope).dump(), expires_at, api_key_id); });
}

asio::awaitable<std::variant<Refreshed, RefreshRefused>> IdentityStore::spend_refresh(std::string hash, std::string next_hash,
                                                                                      std::string next_expires_at) {
  using Outcome = std::variant<Refreshed, RefreshRefused>;
  co_return co_await db_.transaction([&](db::Connection& c) -> Outcome {
    const auto r = c.query(
        "SELECT t.id, t.family, t.scope, t.used_at, t.revoked_at, t.expires_at < $2, coalesce(t.api_key_id, ''), "
        "a.id, a.name, a.kind, a.role, a.disabled, a.created_at "
        "FROM refresh_tokens t JOIN accounts a ON a.id = t.account_id WHERE t.hash = $1",
        {hash, db::utc_now_text()});
    if (r.empty()) return RefreshRefused{RefreshRefused::unknown, {}};
    const auto family = r.get<std::string>(0, 1);
    const auto reused = [&] {
      c.query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL", {family, db::utc_now_text()});
      return RefreshRefused{RefreshRefused::reused, family};
    };
    if (!r.is_null(0, 3)) return reused();
    if (!r.is_null(0, 4)) return RefreshRefused{RefreshRefused::revoked, {}};
    if (r.get<std::int64_t>(0, 5) != 0) return RefreshRefused{RefreshRefused::expired, {}};
    auto account = account_of(r, 0, 7);
    if (account.disabled) return RefreshRefused{RefreshRefused::disabled, {}};
    const auto spent = c.query("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
                               {r.get<std::string>(0, 0), db::utc_now_text()});
    if (spent.affected == 0) return reused();  // spent meanwhile (serialization makes this rare)
    // No more than the account's role grants now (it may have changed since the family began);
    // the family keeps the narrowed scope.
    auto scope =
        nsl::identity::intersect(nsl::identity::role_permissions(nsl::identity::parse_role(account.role).value_or(Role::user)),
                                 stored_permissions(r.get<std::string>(0, 2)));
    auto api_key_id = r.get<std::string>(0, 6);
    store_refresh(c, account.id, family, next_hash, json(scope).dump(), next_expires_at, api_key_id);
    return Refreshed{family, std::move(scope), std::move(api_key_id), std::move(account)};
  });
}

asio::awaitable<void> IdentityStore::revoke(std::string account, std::string jti, std::string expires_at,
                                            std::string refresh_hash) {
  co_await db_.transaction([&](db::Connection& c) {
    if (!jti.empty()) {
      c.query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", {jti, expires_at});
    }
    if (!refresh_hash.empty()) {
      c.query(
          "UPDATE refresh_tokens SET revoked_at = $3 WHERE family = "
          "(SELECT family FROM refresh_tokens WHERE hash = $1 AND account_id = $2) AND revoked_at IS NULL",
          {refresh_hash, account, db::utc_now_text()});
    }
  });
}

asio::awaitable<void> IdentityStore::insert_nonce(std::string nonce, std::string chain, std::string address, std::string message,
                                                  std::string expires_at) {
  co_await db_.run([&](db::Connection& c) {
    c.query("INSERT INTO wallet_nonces (nonce, chain, address, message, expires_at) VALUES ($1, $2, $3, $4, $5)",
            {nonce, chain, address, message, expires_at});
  });
}

asio::awaitable<std::optional<Nonce>> IdentityStore::spend_nonce(std::string nonce) {
  const auto r = co_await db_.transaction([&](db::Connection& c) {
    auto found = c.query("SELECT chain, address, message, used_at, expires_at < $2 FROM wallet_nonces WHERE nonce = $1",
                         {nonce, db::utc_now_text()});
    if (!found.empty() && found.is_null(0, 3)) {
      c.query("UPDATE wallet_nonces SET used_at = $2 WHERE nonce = $1", {nonce, db::utc_now_text()});
    }
    return found;
  });
  if (r.empty()) co_return std::nullopt;
  co_return Nonce{r.get<std::string>(0, 0), r.get<std::string>(0, 1), r.get<std::string>(0, 2), !r.is_null(0, 3),
                  r.get<std::int64_t>(0, 4) != 0};
}

}  // namespace nsl::services::identity
