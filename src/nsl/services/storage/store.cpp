#include "nsl/services/storage/store.hpp"

#include <array>
#include <memory>

#include <nlohmann/json.hpp>

namespace nsl::services::storage {
namespace {

using nlohmann::json;

// One entry, found through the unique (user_address, key) index. Whether it is live (deleted_at
// NULL) is read, not filtered: with `deleted_at IS NULL` in the condition, PostgreSQL may plan
// the lookup on the partial listing index and read every entry of the owner.
constexpr const char* kOneEntry = "user_address = $1 AND key = $2";

// The store upsert, one variant for each of: access level given, principals given (a replacement
// keeps what it was not given). Group commit sends concurrent stores as one multi-row INSERT.
std::shared_ptr<const db::RowShape> upsert_shape(bool level_given, bool shared_given) {
  static const auto shapes = [] {
    std::array<std::shared_ptr<const db::RowShape>, 4> out;
    for (int v = 0; v < 4; ++v) {
      out[static_cast<std::size_t>(v)] = std::make_shared<const db::RowShape>(db::RowShape{
          "INSERT INTO storage_data (id, user_address, key, value, encrypted, access_level, size_bytes, created_at, "
          "updated_at, expires_at, metadata, shared_with) VALUES ",
          "($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11)",
          std::string(" ON CONFLICT (user_address, key) DO UPDATE SET value = excluded.value, encrypted = excluded.encrypted, ") +
              (v & 1 ? "access_level = excluded.access_level, " : "") + (v & 2 ? "shared_with = excluded.shared_with, " : "") +
              "size_bytes = excluded.size_bytes, updated_at = excluded.updated_at, expires_at = excluded.expires_at, "
              "metadata = excluded.metadata, accessed_count = storage_data.accessed_count, "
              "id = CASE WHEN storage_data.deleted_at IS NULL THEN storage_data.id ELSE excluded.id END, "
              "created_at = CASE WHEN storage_data.deleted_at IS NULL THEN storage_data.created_at ELSE excluded.created_at END, "
              "deleted_at = NULL RETURNING user_address, key, id",
          {1, 2}});
    }
    return out;
  }();
  return shapes[(level_given ? 1u : 0u) | (shared_given ? 2u : 0u)];
}

db::Value optional_text(const std::optional<std::string>& s) { return s ? db::Value(*s) : db::Value(nullptr); }

}  // namespace

asio::awaitable<std::optional<std::string>> StorageStore::load(std::string owner, std::string key) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query(
        "SELECT value, encrypted, access_level, shared_with, size_bytes, created_at, updated_at, expires_at, metadata, "
        "deleted_at IS NULL FROM storage_data WHERE " +
            std::string(kOneEntry),
        {owner, key});
  });
  if (r.empty() || !r.get<bool>(0, 9)) co_return std::nullopt;
  const auto shared = r.get_optional<std::string>(0, 3);
  const auto expires = r.get_optional<std::string>(0, 7);
  const auto metadata = r.get_optional<std::string>(0, 8);
  json row{{"value", r.get<std::string>(0, 0)},
           {"encrypted", r.get<bool>(0, 1)},
           {"access_level", r.get<std::string>(0, 2)},
           {"shared_with", shared ? json::parse(*shared) : json::array()},
           {"size_bytes", r.get<std::int64_t>(0, 4)},
           {"created_at", r.get<std::string>(0, 5)},
           {"updated_at", r.get<std::string>(0, 6)},
           {"expires_at", expires ? json(*expires) : json(nullptr)},
           // As text, like the value: no parse that would round numbers beyond 64 bits.
           {"metadata", metadata ? json(*metadata) : json(nullptr)}};
  co_return row.dump();
}

asio::awaitable<std::optional<std::int64_t>> StorageStore::live_size(std::string owner, std::string key) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query("SELECT size_bytes, deleted_at IS NULL FROM storage_data WHERE " + std::string(kOneEntry), {owner, key});
  });
  if (r.empty() || !r.get<bool>(0, 1)) co_return std::nullopt;
  co_return r.get<std::int64_t>(0, 0);
}

asio::awaitable<std::pair<std::int64_t, std::int64_t>> StorageStore::usage(std::string owner) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query(
        "SELECT count(*), coalesce(sum(size_bytes), 0) FROM storage_data WHERE user_address = $1 AND deleted_at IS NULL",
        {owner});
  });
  co_return std::pair{r.get<std::int64_t>(0, 0), r.get<std::int64_t>(0, 1)};
}

asio::awaitable<bool> StorageStore::upsert(const EntryWrite& w) {
  const auto statement =
      db::Statement::insert_row(upsert_shape(w.level_given, w.principals.has_value()),
                                {w.id, w.owner, w.key, w.stored, std::int64_t{w.encrypted ? 1 : 0}, w.level, w.size, w.now,
                                 optional_text(w.expires_at), optional_text(w.metadata), db::Value(w.principals.value_or("[]"))});
  const auto written = co_await db_.write(statement);
  // The returned id says whether the entry was created: a live entry keeps its own.
  co_return written.empty() || written.get<std::string>(0, 2) == w.id;
}

asio::awaitable<void> StorageStore::add_accesses(const Accesses& accesses) {
  // One transaction, sent to PostgreSQL as one pipeline.
  const std::string update =
      "UPDATE storage_data SET accessed_count = accessed_count + $3, last_accessed = $4 WHERE " + std::string(kOneEntry);
  std::vector<db::Statement> updates;
  updates.reserve(accesses.size());
  for (const auto& [k, v] : accesses) updates.push_back({update, {k.first, k.second, v.first, db::utc_text(v.second)}});
  co_await db_.run([&](db::Connection& c) { c.execute_all(updates); });
}

asio::awaitable<std::vector<Listed>> StorageStore::list(std::string owner, std::string prefix, int limit,
                                                        std::optional<std::pair<std::string, std::string>> after) {
  std::string sql =
      "SELECT key, size_bytes, encrypted, access_level, created_at, updated_at, expires_at FROM storage_data "
      "WHERE user_address = $1 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $2) "
      "AND substr(key, 1, $4) = $3";
  std::vector<db::Value> params{owner, db::utc_now_text(), prefix, static_cast<std::int64_t>(prefix.size())};
  if (after) {
    params.emplace_back(after->first);
    params.emplace_back(after->second);
    sql += " AND (created_at < $5 OR (created_at = $5 AND key < $6))";
  }
  sql += " ORDER BY created_at DESC, key DESC LIMIT " + std::to_string(limit);
  const auto rows = co_await db_.run([&](db::Connection& c) { return c.query(sql, params); });
  std::vector<Listed> out;
  out.reserve(rows.rows.size());
  for (std::size_t i = 0; i < rows.rows.size(); ++i) {
    out.push_back({rows.get<std::string>(i, 0), rows.get<std::int64_t>(i, 1), rows.get<bool>(i, 2), rows.get<std::string>(i, 3),
                   rows.get<std::string>(i, 4), rows.get<std::string>(i, 5), rows.get_optional<std::string>(i, 6)});
  }
  co_return out;
}

asio::awaitable<std::int64_t> StorageStore::remove(std::string owner, std::string key) {
  const db::Statement del{"DELETE FROM storage_data WHERE user_address = $1 AND key = $2", {owner, key}};
  const auto r = co_await db_.write(del);
  co_return static_cast<std::int64_t>(r.affected);
}

asio::awaitable<std::int64_t> StorageStore::share(std::string owner, std::string key, std::string level, std::string principals) {
  const db::Statement update{
      "UPDATE storage_data SET access_level = $3, shared_with = $4, updated_at = $5 "
      "WHERE user_address = $1 AND key = $2 AND deleted_at IS NULL",
      {owner, key, level, principals, db::utc_now_text()}};
  const auto r = co_await db_.write(update);
  co_return static_cast<std::int64_t>(r.affected);
}

asio::awaitable<std::optional<std::pair<std::int64_t, std::string>>> StorageStore::access_counts(std::string owner,
                                                                                                 std::string key) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query("SELECT accessed_count, last_accessed FROM storage_data WHERE user_address = $1 AND key = $2", {owner, key});
  });
  if (r.empty()) co_return std::nullopt;
  const auto last = r.get_optional<std::string>(0, 1);
  co_return std::pair{r.get<std::int64_t>(0, 0), last ? json(*last).dump() : std::string("null")};
}

asio::awaitable<std::vector<Exported>> StorageStore::export_owner(std::string owner) {
  const auto rows = co_await db_.run([&](db::Connection& c) {
    return c.query(
        "SELECT key, value, encrypted, access_level, size_bytes, created_at, updated_at, expires_at, "
        "metadata, accessed_count FROM storage_data WHERE user_address = $1 AND deleted_at IS NULL "
        "ORDER BY key",
        {owner});
  });
  std::vector<Exported> out;
  for (std::size_t i = 0; i < rows.rows.size(); ++i) {
    out.push_back({rows.get<std::string>(i, 0), rows.get<std::string>(i, 1), rows.get<bool>(i, 2), rows.get<std::string>(i, 3),
                   rows.get<std::int64_t>(i, 4), rows.get<std::string>(i, 5), rows.get<std::string>(i, 6),
                   rows.get_optional<std::string>(i, 7), rows.get_optional<std::string>(i, 8), rows.get<std::int64_t>(i, 9)});
  }
  co_return out;
}

asio::awaitable<std::vector<std::string>> StorageStore::keys_of(std::string owner) {
  const auto r = co_await db_.run(
      [&](db::Connection& c) { return c.query("SELECT key FROM storage_data WHERE user_address = $1", {owner}); });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < r.rows.size(); ++i) out.push_back(r.get<std::string>(i, 0));
  co_return out;
}

asio::awaitable<std::vector<std::string>> StorageStore::erase_owner(std::string owner) {
  const auto deleted = co_await db_.transaction([&](db::Connection& c) {
    auto rows = c.query("DELETE FROM storage_data WHERE user_address = $1 RETURNING key", {owner});
    c.query("DELETE FROM storage_keys WHERE owner = $1", {owner});
    return rows;
  });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < deleted.rows.size(); ++i) out.push_back(deleted.get<std::string>(i, 0));
  co_return out;
}

asio::awaitable<std::optional<std::string>> StorageStore::data_key(std::string owner) {
  const auto r =
      co_await db_.run([&](db::Connection& c) { return c.query("SELECT sealed FROM storage_keys WHERE owner = $1", {owner}); });
  if (r.empty()) co_return std::nullopt;
  co_return r.get<std::string>(0, 0);
}

asio::awaitable<std::string> StorageStore::add_data_key(std::string owner, std::string sealed) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    c.query("INSERT INTO storage_keys (owner, sealed) VALUES ($1, $2) ON CONFLICT DO NOTHING", {owner, sealed});
    return c.query("SELECT sealed FROM storage_keys WHERE owner = $1", {owner});
  });
  co_return r.get<std::string>(0, 0);
}

asio::awaitable<std::pair<RecordCounts, RecordCounts>> StorageStore::compliance(std::optional<std::string> owner,
                                                                                std::string storage_before,
                                                                                std::string audit_before) {
  const std::string filter = owner ? " WHERE user_address = $2" : "";
  std::vector<db::Value> storage_params{storage_before};
  std::vector<db::Value> audit_params{audit_before};
  if (owner) {
    storage_params.emplace_back(*owner);
    audit_params.emplace_back(*owner);
  }
  const auto r = co_await db_.run([&](db::Connection& c) {
    const auto storage = c.query(
        "SELECT count(*), coalesce(sum(CASE WHEN encrypted THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN created_at < $1 THEN 1 ELSE 0 END), 0) FROM storage_data" +
            filter,
        storage_params);
    const auto audit =
        c.query("SELECT count(*), 0, coalesce(sum(CASE WHEN created_at < $1 THEN 1 ELSE 0 END), 0) FROM audit_logs" + filter,
                audit_params);
    return std::make_pair(storage, audit);
  });
  const auto counts = [](const db::Result& x) {
    return RecordCounts{x.get<std::int64_t>(0, 0), x.get<std::int64_t>(0, 1), x.get<std::int64_t>(0, 2)};
  };
  co_return std::pair{counts(r.first), counts(r.second)};
}

}  // namespace nsl::services::storage
