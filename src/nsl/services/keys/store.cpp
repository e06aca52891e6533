#include "nsl/services/keys/store.hpp"

namespace nsl::services::keys {
namespace {

constexpr const char* kColumns = "id, name, kind, sealed, public_key, status, created_at, version, exportable";

KeyRecord record_of(const db::Result& r, std::size_t i) {
  return {.id = r.get<std::string>(i, 0),
          .name = r.get<std::string>(i, 1),
          .kind = r.get<std::string>(i, 2),
          .version = r.get<std::int64_t>(i, 7),
          .status = r.get<std::string>(i, 5),
          .sealed = crypto::from_hex(r.get<std::string>(i, 3)).value(),
          .public_key = crypto::from_hex(r.get<std::string>(i, 4)).value(),
          .exportable = r.get<std::int64_t>(i, 8) != 0,
          .created_at = r.get<std::string>(i, 6)};
}

// Inside the write transaction: may version `record.version` of the key be stored?
StoreOutcome check(db::Connection& c, const std::string& account, const KeyRecord& record, int quota) {
  if (record.version == 1) {
    if (!c.query("SELECT 1 FROM keys WHERE account_id = $1 AND name = $2", {account, record.name}).empty()) {
      return StoreOutcome::name_taken;
    }
    const auto held = c.query("SELECT count(DISTINCT id) FROM keys WHERE account_id = $1", {account}).get<std::int64_t>(0, 0);
    return held >= quota ? StoreOutcome::over_quota : StoreOutcome::stored;
  }
  // The number must still be the next one: old versions are pruned, so the primary key alone
  // would let a pruned number be used again.
  const auto newest =
      c.query("SELECT coalesce(max(version), 0) FROM keys WHERE id = $1 AND account_id = $2", {record.id, account})
          .get<std::int64_t>(0, 0);
  if (newest == 0) return StoreOutcome::key_gone;
  return newest >= record.version ? StoreOutcome::version_taken : StoreOutcome::stored;
}

}  // namespace

asio::awaitable<std::optional<KeyRecord>> KeyStore::newest(std::string account, std::string id) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query(std::string("SELECT ") + kColumns +
                       " FROM keys WHERE id = $1 AND account_id = $2 AND status != 'retired' ORDER BY version DESC LIMIT 1",
                   {id, account});
  });
  if (r.empty()) co_return std::nullopt;
  co_return record_of(r, 0);
}

asio::awaitable<std::vector<KeyRecord>> KeyStore::list(std::string account) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query(
        std::string("SELECT ") + kColumns + " FROM keys WHERE account_id = $1 AND status != 'retired' ORDER BY created_at, id",
        {account});
  });
  std::vector<KeyRecord> out;
  out.reserve(r.rows.size());
  for (std::size_t i = 0; i < r.rows.size(); ++i) out.push_back(record_of(r, i));
  co_return out;
}

asio::awaitable<std::optional<std::int64_t>> KeyStore::newest_version(std::string account, std::string id) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query("SELECT max(version) FROM keys WHERE id = $1 AND account_id = $2", {id, account});
  });
  co_return r.empty() ? std::nullopt : r.get_optional<std::int64_t>(0, 0);
}

asio::awaitable<StoreOutcome> KeyStore::insert(std::string account, KeyRecord& record, int quota, int versions_kept) {
  StoreOutcome outcome = StoreOutcome::stored;
  std::string created;
  const auto sealed = crypto::to_hex(record.sealed), public_key = crypto::to_hex(record.public_key);
  try {
    created = co_await db_.transaction([&](db::Connection& c) {
      outcome = check(c, account, record, quota);
      if (outcome != StoreOutcome::stored) return std::string();
      const auto& id = record.id;
      const auto version = record.version;
      if (version > 1) {
        c.query("UPDATE keys SET status = 'retired' WHERE id = $1 AND account_id = $2 AND version < $3", {id, account, version});
        c.query("DELETE FROM keys WHERE id = $1 AND account_id = $2 AND version <= $3", {id, account, version - versions_kept});
      }
      c.query(
          "INSERT INTO keys (id, version, account_id, name, kind, sealed, public_key, status, exportable) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8)",
          {id, version, account, record.name, record.kind, sealed, public_key, std::int64_t{record.exportable ? 1 : 0}});
      return c.query("SELECT created_at FROM keys WHERE id = $1 AND version = $2", {id, version}).get<std::string>(0, 0);
    });
  } catch (const db::DatabaseError& e) {
    // Two creates of one name, or two rotations to one number: the unique index refuses the second.
    if (e.kind() != db::DatabaseError::Kind::unique_violation) throw;
    outcome = record.version == 1 ? StoreOutcome::name_taken : StoreOutcome::version_taken;
  }
  if (outcome == StoreOutcome::stored) {
    record.created_at = created;
    record.status = "active";
  }
  co_return outcome;
}

asio::awaitable<void> KeyStore::disable(std::string id, std::int64_t version) {
  co_await db_.run([&](db::Connection& c) {
    c.query("UPDATE keys SET status = 'disabled' WHERE id = $1 AND version = $2", {id, version});
  });
}

asio::awaitable<std::int64_t> KeyStore::remove(std::string account, std::string id) {
  // In a write transaction: a version a rotation committed while the delete waited for its rows
  // is deleted too (on PostgreSQL the transaction is retried on a new snapshot).
  co_return co_await db_.transaction([&](db::Connection& c) {
    return static_cast<std::int64_t>(c.query("DELETE FROM keys WHERE id = $1 AND account_id = $2", {id, account}).affected);
  });
}

}  // namespace nsl::services::keys
