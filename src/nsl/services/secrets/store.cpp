#include "nsl/services/secrets/store.hpp"

namespace nsl::services::secrets {
namespace {

constexpr const char* kMetadataColumns = "SELECT name, version, bytes, created_at FROM secrets";

Metadata metadata_of(const db::Result& r, std::size_t i) {
  return {r.get<std::string>(i, 0), r.get<std::int64_t>(i, 1), r.get<std::int64_t>(i, 2), r.get<std::string>(i, 3)};
}

std::int64_t newest_in(db::Connection& c, const std::string& account, const std::string& name) {
  return c.query("SELECT coalesce(max(version), 0) FROM secrets WHERE account_id = $1 AND name = $2", {account, name})
      .get<std::int64_t>(0, 0);
}

}  // namespace

asio::awaitable<std::int64_t> SecretStore::newest_version(std::string account, std::string name) {
  co_return co_await db_.run([&](db::Connection& c) { return newest_in(c, account, name); });
}

asio::awaitable<StoreOutcome> SecretStore::insert(std::string account, std::string name, std::int64_t version,
                                                  crypto::Bytes sealed, std::int64_t bytes, bool create, int quota,
                                                  int versions_kept, Metadata& stored) {
  StoreOutcome outcome = StoreOutcome::stored;
  const auto sealed_hex = crypto::to_hex(sealed);
  try {
    co_await db_.transaction([&](db::Connection& c) {
      // The number must still be the next one (old versions are pruned, so the primary key alone
      // would let a number be used twice), the secret must still exist, a new name must fit.
      const auto newest = newest_in(c, account, name);
      outcome = StoreOutcome::stored;
      if (newest >= version) {
        outcome = StoreOutcome::version_taken;
      } else if (!create && newest == 0) {
        outcome = StoreOutcome::gone;  // deleted meanwhile: not brought back
      } else if (create &&
                 c.query("SELECT count(DISTINCT name) FROM secrets WHERE account_id = $1", {account}).get<std::int64_t>(0, 0) >=
                     quota) {
        outcome = StoreOutcome::over_quota;
      }
      if (outcome != StoreOutcome::stored) return;
      c.query("UPDATE secrets SET status = 'retired' WHERE account_id = $1 AND name = $2", {account, name});
      c.query("DELETE FROM secrets WHERE account_id = $1 AND name = $2 AND version <= $3",
              {account, name, version - versions_kept});
      c.query("INSERT INTO secrets (account_id, name, version, sealed, bytes, status) VALUES ($1, $2, $3, $4, $5, 'active')",
              {account, name, version, sealed_hex, bytes});
      stored = metadata_of(c.query(std::string(kMetadataColumns) + " WHERE account_id = $1 AND name = $2 AND version = $3",
                                   {account, name, version}),
                           0);
    });
  } catch (const db::DatabaseError& e) {
    if (e.kind() != db::DatabaseError::Kind::unique_violation) throw;
    outcome = StoreOutcome::version_taken;
  }
  co_return outcome;
}

asio::awaitable<std::vector<Metadata>> SecretStore::list(std::string account) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query(std::string(kMetadataColumns) + " WHERE account_id = $1 AND status = 'active' ORDER BY name", {account});
  });
  std::vector<Metadata> out;
  for (std::size_t i = 0; i < r.rows.size(); ++i) out.push_back(metadata_of(r, i));
  co_return out;
}

asio::awaitable<std::optional<Metadata>> SecretStore::metadata(std::string account, std::string name) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query(std::string(kMetadataColumns) + " WHERE account_id = $1 AND name = $2 AND status = 'active'", {account, name});
  });
  if (r.empty()) co_return std::nullopt;
  co_return metadata_of(r, 0);
}

asio::awaitable<std::optional<Sealed>> SecretStore::newest(std::string account, std::string name) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query("SELECT sealed, version FROM secrets WHERE account_id = $1 AND name = $2 AND status = 'active'",
                   {account, name});
  });
  if (r.empty()) co_return std::nullopt;
  co_return Sealed{r.get<std::int64_t>(0, 1), crypto::from_hex(r.get<std::string>(0, 0)).value()};
}

asio::awaitable<std::int64_t> SecretStore::remove(std::string account, std::string name) {
  // In a write transaction: a new version committed while the delete waited for its rows is
  // deleted too (on PostgreSQL the transaction is retried on a new snapshot).
  co_return co_await db_.transaction([&](db::Connection& c) {
    return static_cast<std::int64_t>(
        c.query("DELETE FROM secrets WHERE account_id = $1 AND name = $2", {account, name}).affected);
  });
}

}  // namespace nsl::services::secrets
