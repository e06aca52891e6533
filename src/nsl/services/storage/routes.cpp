#include "nsl/services/storage/routes.hpp"

#include <array>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/services/common/fields.hpp"
#include "nsl/core/ids.hpp"
#include "nsl/core/strings.hpp"
#include "nsl/crypto/bytes.hpp"

namespace nsl::services::storage {
namespace {

using nlohmann::json;
constexpr std::size_t kMaxValueBytes = 1048576;  // guide §7.2.2: 1 MB
constexpr std::size_t kMaxMetadataBytes = 16 * 1024;
constexpr std::int64_t kMaxTtlSeconds = 10LL * 365 * 86400;
constexpr int kMaxShared = 100;
// One entry, found through the unique (user_address, key) index. Whether it is live (deleted_at
// NULL) is read, not filtered: with `deleted_at IS NULL` in the condition, PostgreSQL may plan
// the lookup on the partial listing index and read every entry of the owner.
constexpr const char* kOneEntry = "user_address = $1 AND key = $2";

// Guide §7.2.2: not empty, at most 256 characters, ^[a-zA-Z0-9:_-]+$.
std::string valid_key(std::string_view key, const char* field = "key") {
  if (key.empty()) throw field_error(field, "must not be empty");
  if (key.size() > 256) throw field_error(field, "must be at most 256 characters");
  for (const char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != ':' && c != '_' && c != '-') {
      throw field_error(field, "Key must be alphanumeric with colons, underscores, and hyphens only");
    }
  }
  return std::string(key);
}

std::string valid_chain(std::string_view chain) {
  if (chain != "neo-n3" && chain != "neo-x") throw field_error("chain", "must be neo-n3 or neo-x");
  return std::string(chain);
}

std::string access_level_of(const json& v) {
  if (!v.is_string()) throw field_error("access_level", "must be private, shared or public");
  const auto s = v.get<std::string>();
  if (s != "private" && s != "shared" && s != "public") throw field_error("access_level", "must be private, shared or public");
  return s;
}

json principals_of(const json& body) {
  const auto it = body.find("principals");
  if (it == body.end()) return json::array();
  if (!it->is_array() || it->size() > kMaxShared) throw field_error("principals", "must be an array of at most 100 names");
  for (const auto& p : *it) {
    if (!p.is_string() || p.get<std::string>().empty() || p.get<std::string>().size() > 128) {
      throw field_error("principals", "must hold account names or addresses");
    }
  }
  return *it;
}

// The caller's owner string in a chain's address space: a wallet account's own address, or for
// an account known by name "<chain>:<account id without dashes>".
std::string owner_of(const http::Principal& p, const std::string& chain) {
  if (const auto space = http::address_space_of(p.name); space != http::AddressSpace::none) {
    const bool n3 = space == http::AddressSpace::neo_n3;
    if ((chain == "neo-n3") != n3) {
      throw RequestError(ErrorKind::forbidden, std::string("this account's address space is ") + (n3 ? "neo-n3" : "neo-x"));
    }
    return p.name;
  }
  std::string id;
  for (const char c : p.account_id) {
    if (c != '-') id.push_back(c);
  }
  return chain + ":" + id.substr(0, 32);
}

std::string cache_key(const std::string& owner, const std::string& key) { return "st:" + owner + "|" + key; }

std::string hex_of(const std::string& s) { return crypto::to_hex(crypto::as_bytes(s)); }

http::Response no_content() { return http::Response{http::beast_http::status::no_content, 11}; }

bool expired(const json& row) {
  return row.contains("expires_at") && row["expires_at"].is_string() &&
         row["expires_at"].get<std::string>() <= db::utc_now_text();
}

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

}  // namespace

// One stored entry as the cache holds it (the value as stored: ciphertext when encrypted),
// decoded once per cache entry.
struct StorageService::Row {
  json j;
  std::string value;        // the stored JSON text
  std::string ciphertext;   // when encrypted: the hex string the value holds
  std::string fields;       // the fields every reader sees, as JSON members: "access_level":...,"updated_at":...
  std::string shared_with;  // the JSON array, shown to the owner
};

StorageService::StorageService(db::Database& database, enclave::EnclaveClient& enclave, cache::Cache& cache,
                               StorageSettings settings, metrics::Registry& registry, log::Logger log)
    : db_(database),
      enclave_(enclave),
      cache_(cache),
      settings_(settings),
      log_(std::move(log)),
      encrypted_writes_(
          registry.counter("nsl_storage_encrypted_writes_total", "Storage values encrypted by the enclave").with({})) {}

asio::awaitable<std::shared_ptr<const StorageService::Row>> StorageService::load(const std::string& owner,
                                                                                 const std::string& key) {
  auto* db = &db_;
  cache::Cache::Loader loader = [db, owner, key]() -> asio::awaitable<std::optional<std::string>> {
    const auto r = co_await db->run([&](db::Connection& c) {
      return c.query(
          "SELECT value, encrypted, access_level, shared_with, size_bytes, created_at, updated_at, expires_at, metadata, "
          "deleted_at IS NULL FROM storage_data WHERE " +
              std::string(kOneEntry),
          {owner, key});
    });
    if (r.empty() || !r.get<bool>(0, 9)) co_return std::nullopt;
    json row{{"value", r.get<std::string>(0, 0)},
             {"encrypted", r.get<bool>(0, 1)},
             {"access_level", r.get<std::string>(0, 2)},
             {"shared_with", r.get_optional<std::string>(0, 3) ? json::parse(*r.get_optional<std::string>(0, 3)) : json::array()},
             {"size_bytes", r.get<std::int64_t>(0, 4)},
             {"created_at", r.get<std::string>(0, 5)},
             {"updated_at", r.get<std::string>(0, 6)},
             {"expires_at", r.get_optional<std::string>(0, 7) ? json(*r.get_optional<std::string>(0, 7)) : json(nullptr)},
             // As text, like the value: no parse that would round numbers beyond 64 bits.
             {"metadata", r.get_optional<std::string>(0, 8) ? json(*r.get_optional<std::string>(0, 8)) : json(nullptr)}};
    co_return row.dump();
  };
  auto row = co_await cache_.get_decoded<Row>(cache_key(owner, key), loader, [](const std::string& text) {
    Row r{json::parse(text), {}, {}, {}, {}};
    r.value = r.j.at("value").get<std::string>();
    if (r.j.at("encrypted").get<bool>()) r.ciphertext = json::parse(r.value).get<std::string>();
    for (const char* name : {"access_level", "created_at", "encrypted", "expires_at", "metadata", "size_bytes", "updated_at"}) {
      if (!r.fields.empty()) r.fields += ',';
      append_json_string(r.fields, name);
      r.fields += ':';
      const auto& field = r.j.at(name);
      // Metadata is JSON text (an object in entries cached by earlier versions).
      r.fields += std::string_view(name) == "metadata" && field.is_string() ? field.get<std::string>() : field.dump();
    }
    r.shared_with = r.j.at("shared_with").dump();
    return r;
  });
  if (!row || expired(row->j)) co_return nullptr;  // expiry is honoured at once; the retention job deletes it
  co_return row;
}

asio::awaitable<std::string> StorageService::data_key(const std::string& owner) {
  {
    std::lock_guard lock(mutex_);
    const auto it = data_keys_.find(owner);
    if (it != data_keys_.end()) co_return it->second;
  }
  auto existing =
      co_await db_.run([&](db::Connection& c) { return c.query("SELECT sealed FROM storage_keys WHERE owner = $1", {owner}); });
  if (existing.empty()) {
    const auto created = co_await enclave_.data_key_create(crypto::as_bytes(owner));
    const auto sealed = crypto::to_hex(created);
    existing = co_await db_.run([&](db::Connection& c) {
      c.query("INSERT INTO storage_keys (owner, sealed) VALUES ($1, $2) ON CONFLICT DO NOTHING", {owner, sealed});
      return c.query("SELECT sealed FROM storage_keys WHERE owner = $1", {owner});  // the winner's, if two raced
    });
  }
  const auto sealed = existing.get<std::string>(0, 0);
  std::lock_guard lock(mutex_);
  data_keys_[owner] = sealed;
  co_return sealed;
}

asio::awaitable<std::string> StorageService::encrypt(const std::string& owner, const std::string& key, const std::string& clear) {
  const auto sealed_hex = co_await data_key(owner);
  const auto sealed = crypto::from_hex(sealed_hex).value();
  const auto aad = owner + "/" + key;
  const auto ciphertext =
      co_await enclave_.data_encrypt(crypto::as_bytes(owner), sealed, crypto::as_bytes(aad), crypto::as_bytes(clear));
  encrypted_writes_.inc();
  co_return crypto::to_hex(ciphertext);
}

asio::awaitable<std::string> StorageService::decrypt(const std::string& owner, const std::string& key,
                                                     const std::string& ciphertext) {
  const auto sealed_hex = co_await data_key(owner);
  const auto sealed = crypto::from_hex(sealed_hex).value();
  const auto data = crypto::from_hex(ciphertext);
  if (!data) throw std::runtime_error("a stored ciphertext is not hex");
  const auto aad = owner + "/" + key;
  const auto bytes = co_await enclave_.data_decrypt(crypto::as_bytes(owner), sealed, crypto::as_bytes(aad), *data);
  co_return std::string(bytes.begin(), bytes.end());
}

asio::awaitable<StorageService::Usage> StorageService::usage_of(const std::string& owner, bool exact) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    const auto it = usage_.find(owner);
    if (it != usage_.end()) {
      const bool fresh = now - it->second.counted < std::chrono::seconds(10) && !(exact && it->second.estimated);
      if (fresh || (it->second.recounting && !exact)) co_return it->second;
      it->second.recounting = true;
    }
  }
  std::optional<db::Result> r;
  try {
    r = co_await db_.run([&](db::Connection& c) {
      return c.query(
          "SELECT count(*), coalesce(sum(size_bytes), 0) FROM storage_data WHERE user_address = $1 AND deleted_at IS NULL",
          {owner});
    });
  } catch (...) {
    std::lock_guard lock(mutex_);
    if (const auto it = usage_.find(owner); it != usage_.end()) it->second.recounting = false;
    throw;
  }
  Usage u{r->get<std::int64_t>(0, 0), r->get<std::int64_t>(0, 1), now};
  std::lock_guard lock(mutex_);
  usage_[owner] = u;
  co_return u;
}

void StorageService::adjust_usage(const std::string& owner, std::int64_t keys, std::int64_t bytes, bool estimated) {
  std::lock_guard lock(mutex_);
  const auto it = usage_.find(owner);
  if (it == usage_.end()) return;
  it->second.keys += keys;
  it->second.bytes += bytes;
  it->second.estimated = it->second.estimated || estimated;
}

void StorageService::count_access(const std::string& owner, const std::string& key) {
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock(mutex_);
  auto it = accesses_.find(std::pair<std::string_view, std::string_view>(owner, key));
  if (it == accesses_.end()) it = accesses_.emplace(std::pair(owner, key), std::pair(std::int64_t{0}, now)).first;
  ++it->second.first;
  it->second.second = now;
}

asio::awaitable<void> StorageService::flush_access_counts() {
  Accesses pending;
  {
    std::lock_guard lock(mutex_);
    pending.swap(accesses_);
  }
  if (pending.empty()) co_return;
  // One transaction, sent to PostgreSQL as one pipeline.
  const std::string update =
      "UPDATE storage_data SET accessed_count = accessed_count + $3, last_accessed = $4 WHERE " + std::string(kOneEntry);
  std::vector<db::Statement> updates;
  updates.reserve(pending.size());
  for (const auto& [k, v] : pending) updates.push_back({update, {k.first, k.second, v.first, db::utc_text(v.second)}});
  co_await db_.run([&](db::Connection& c) { c.execute_all(updates); });
}

asio::awaitable<void> StorageService::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    bool failed = false;
    try {
      co_await flush_access_counts();
    } catch (const std::exception& e) {
      failed = true;
      log_.warn("cannot write storage access counts; they are dropped", {{"error", e.what()}});
    }
    (void)failed;
    std::lock_guard lock(mutex_);
    if (stopping_) break;
  }
}

void StorageService::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
}

void StorageService::add_routes(http::Router& router) {
  // First: these literal paths take precedence over /v1/storage/{chain}/{key}.
  // Administration (guide §17.2): one owner's data exported or erased, the compliance report.
  router.add({http::Verb::get, "/v1/storage/admin/users/{owner}/export", "storage", "storage:export",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const std::string owner(ctx.param("owner"));
                ctx.acting_on = owner;
                if (owner.empty() || owner.size() > 42) throw field_error("owner", "must be 1 to 42 characters");
                const auto rows = co_await db_.run([&](db::Connection& c) {
                  return c.query(
                      "SELECT key, value, encrypted, access_level, size_bytes, created_at, updated_at, expires_at, "
                      "metadata, accessed_count FROM storage_data WHERE user_address = $1 AND deleted_at IS NULL "
                      "ORDER BY key",
                      {owner});
                });
                // Written as text: values and metadata go out exactly as stored (no parse that would
                // round numbers beyond 64 bits).
                std::string items = "[";
                for (std::size_t i = 0; i < rows.rows.size(); ++i) {
                  const auto key = rows.get<std::string>(i, 0);
                  std::string clear = rows.get<std::string>(i, 1);
                  const bool enc = rows.get<bool>(i, 2);
                  if (enc) {
                    const auto ciphertext = json::parse(clear).get<std::string>();
                    clear = co_await decrypt(owner, key, ciphertext);
                  }
                  const auto meta = rows.get_optional<std::string>(i, 8);
                  const auto exp = rows.get_optional<std::string>(i, 7);
                  if (i) items += ',';
                  items += JsonObjectText()
                               .add("key", key)
                               .add_raw("value", clear)
                               .add_raw("encrypted", enc ? "true" : "false")
                               .add("access_level", rows.get<std::string>(i, 3))
                               .add_raw("size_bytes", std::to_string(rows.get<std::int64_t>(i, 4)))
                               .add("created_at", rows.get<std::string>(i, 5))
                               .add("updated_at", rows.get<std::string>(i, 6))
                               .add_raw("expires_at", exp ? json(*exp).dump() : "null")
                               .add_raw("metadata", meta ? *meta : "null")
                               .add_raw("accessed_count", std::to_string(rows.get<std::int64_t>(i, 9)))
                               .finish();
                }
                items += ']';
                co_return http::json_response(
                    200,
                    JsonObjectText().add("owner", owner).add("exported_at", db::utc_now_text()).add_raw("items", items).finish());
              }});

  router.add(
      {http::Verb::delete_, "/v1/storage/admin/users/{owner}", "storage", "storage:erase",
       [this](http::Context& ctx) -> asio::awaitable<http::Response> {
         const std::string owner(ctx.param("owner"));
         ctx.acting_on = owner;
         if (owner.empty() || owner.size() > 42) throw field_error("owner", "must be 1 to 42 characters");
         const auto keys = co_await db_.run(
             [&](db::Connection& c) { return c.query("SELECT key FROM storage_data WHERE user_address = $1", {owner}); });
         for (std::size_t i = 0; i < keys.rows.size(); ++i)
           co_await cache_.before_write(cache_key(owner, keys.get<std::string>(i, 0)));
         // Right to be forgotten: the rows and the owner's data key go (anything encrypted
         // under it elsewhere, such as a backup, can no longer be read).
         const auto deleted = co_await db_.transaction([&](db::Connection& c) {
           auto rows = c.query("DELETE FROM storage_data WHERE user_address = $1 RETURNING key", {owner});
           c.query("DELETE FROM storage_keys WHERE owner = $1", {owner});
           return rows;
         });
         // Every key marked, and every key deleted: one stored (and read into a cache) between
         // the listing and the delete is gone from the caches too.
         std::set<std::string> erased;
         for (const auto* r : {&keys, &deleted}) {
           for (std::size_t i = 0; i < r->rows.size(); ++i) erased.insert(r->get<std::string>(i, 0));
         }
         for (const auto& k : erased) co_await cache_.after_write(cache_key(owner, k));
         const auto removed = static_cast<std::int64_t>(deleted.rows.size());
         {
           std::lock_guard lock(mutex_);
           data_keys_.erase(owner);
           usage_.erase(owner);
         }
         log_.warn("storage erased for an owner", {{"owner", owner}, {"entries", removed}, {"by", ctx.principal->account_id}});
         json out{{"owner", owner}, {"entries_erased", removed}, {"erased_at", db::utc_now_text()}};
         co_return http::json_response(200, out.dump());
       }});

  router.add({http::Verb::get, "/v1/storage/admin/compliance-report", "storage", "storage:report",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto owner = ctx.query_param("owner");
                if (owner && (owner->empty() || owner->size() > 42)) throw field_error("owner", "must be 1 to 42 characters");
                // Guide §17.2: storage older than 3 years, audit records older than 7.
                const std::string filter = owner ? " WHERE user_address = $2" : "";
                std::vector<db::Value> storage_params{db::utc_now_text(-std::chrono::hours(24 * 365 * 3))};
                std::vector<db::Value> audit_params{db::utc_now_text(-std::chrono::hours(24 * 365 * 7))};
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
                  const auto audit = c.query(
                      "SELECT count(*), 0, coalesce(sum(CASE WHEN created_at < $1 THEN 1 ELSE 0 END), 0) FROM audit_logs" +
                          filter,
                      audit_params);
                  return std::make_pair(storage, audit);
                });
                auto line = [](const char* type, const db::Result& x) {
                  return json{{"data_type", type},
                              {"record_count", x.get<std::int64_t>(0, 0)},
                              {"encrypted_count", x.get<std::int64_t>(0, 1)},
                              {"old_records", x.get<std::int64_t>(0, 2)}};
                };
                json out{{"generated_at", db::utc_now_text()},
                         {"owner", owner ? json(*owner) : json(nullptr)},
                         {"rows", json::array({line("Storage Data", r.first), line("Audit Logs", r.second)})}};
                co_return http::json_response(200, out.dump());
              }});

  // Store: create or replace (guide §13.3: POST /v1/storage/store/neo-n3 {key, value, encrypted}).
  router.add({http::Verb::post, "/v1/storage/store/{chain}", "storage", "storage:write",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto chain = valid_chain(ctx.param("chain"));
                const auto body = json_body(ctx);
                const auto k = body.find("key");
                if (k == body.end() || !k->is_string()) throw field_error("key", "is required (a string)");
                const auto key = valid_key(k->get<std::string>());
                const auto v = body.find("value");
                if (v == body.end() || v->is_null()) throw field_error("value", "is required (any JSON value but null)");
                // Stored as sent, not as parsed: a number beyond 64 bits (an amount in wei) stays exact.
                const auto clear = std::string(json_member_text(ctx.request.body(), "value").value_or(""));
                if (clear.size() > kMaxValueBytes) throw field_error("value", "Data size cannot exceed 1MB");
                bool encrypted = false;
                if (const auto e = body.find("encrypted"); e != body.end()) {
                  if (!e->is_boolean()) throw field_error("encrypted", "must be true or false");
                  encrypted = e->get<bool>();
                }
                const bool level_given = body.contains("access_level");
                const auto level = level_given ? access_level_of(body["access_level"]) : std::string("private");
                const bool shared_given = body.contains("principals");
                const auto shared = principals_of(body);
                std::optional<std::string> expires;
                if (const auto t = body.find("ttl_seconds"); t != body.end()) {
                  if (!t->is_number_integer() || t->get<std::int64_t>() < 1 || t->get<std::int64_t>() > kMaxTtlSeconds) {
                    throw field_error("ttl_seconds", "must be a whole number of seconds from 1 to 10 years");
                  }
                  expires = db::utc_now_text(std::chrono::seconds(t->get<std::int64_t>()));
                }
                std::optional<std::string> metadata;
                if (const auto m = body.find("metadata"); m != body.end() && !m->is_null()) {
                  if (!m->is_object()) throw field_error("metadata", "must be a JSON object");
                  metadata = std::string(json_member_text(ctx.request.body(), "metadata").value_or("{}"));
                  if (metadata->size() > kMaxMetadataBytes) throw field_error("metadata", "must be at most 16 KiB");
                }
                const auto owner = owner_of(*ctx.principal, chain);
                // Quotas: against the owner's usage counted at most 10 s ago plus this replica's
                // writes since (several replicas writing for one owner at once may overshoot a little).
                // When the value fits even as a new key, PostgreSQL's upsert reports only whether
                // it created the entry, and a replacement counts its full size (an upper bound: no
                // second index lookup for the old size); a write is refused only against an exact
                // recount and the replaced entry's size looked up first.
                const auto size = static_cast<std::int64_t>(clear.size());
                auto usage = co_await usage_of(owner);
                auto fits = [&] {
                  return usage.keys + 1 <= settings_.max_keys_per_owner && usage.bytes + size <= settings_.max_bytes_per_owner();
                };
                if (!fits()) usage = co_await usage_of(owner, true);
                const bool from_upsert = fits() && db_.dialect() == db::Dialect::postgres;
                bool exists = false;
                std::int64_t old_size = 0;
                if (!from_upsert) {
                  const auto previous = co_await db_.run([&](db::Connection& c) {
                    return c.query("SELECT size_bytes, deleted_at IS NULL FROM storage_data WHERE " + std::string(kOneEntry),
                                   {owner, key});
                  });
                  exists = !previous.empty() && previous.get<bool>(0, 1);
                  old_size = exists ? previous.get<std::int64_t>(0, 0) : 0;
                  if (usage.keys + (exists ? 0 : 1) > settings_.max_keys_per_owner) {
                    throw RequestError(ErrorKind::conflict,
                                       "the quota of " + std::to_string(settings_.max_keys_per_owner) + " keys is used up");
                  }
                  if (usage.bytes - old_size + size > settings_.max_bytes_per_owner()) {
                    throw RequestError(ErrorKind::conflict,
                                       "the quota of " + std::to_string(settings_.max_bytes_per_owner()) + " bytes is used up");
                  }
                }
                std::string stored = clear;
                if (encrypted) {
                  const auto ciphertext = co_await encrypt(owner, key, clear);
                  stored = json(ciphertext).dump();
                }
                const auto now = db::utc_now_text();
                const auto id = time_ordered_uuid();
                // A deleted entry stored again is a new entry: a new id and creation time (it lists
                // among the newest); a live one keeps both. The returned id therefore says whether
                // the entry was created.
                const auto upsert = db::Statement::insert_row(
                    upsert_shape(level_given, shared_given),
                    {id, owner, key, stored, std::int64_t{encrypted ? 1 : 0}, level, static_cast<std::int64_t>(clear.size()), now,
                     expires ? db::Value(*expires) : db::Value(nullptr), metadata ? db::Value(*metadata) : db::Value(nullptr),
                     db::Value(shared.dump())});
                // Whether the entry was created comes from the upsert's own row, never from the
                // lookup before it: a concurrent store of the same key may land in between.
                const bool looked_up = !from_upsert;
                const bool found = exists;
                co_await cache_.write(cache_key(owner, key), [&]() -> asio::awaitable<void> {
                  const auto written = co_await db_.write(upsert);
                  exists = !written.empty() && written.get<std::string>(0, 2) != id;
                });
                // The replaced size is known only when the lookup saw what the upsert replaced;
                // otherwise a replacement counts its full size (an upper bound, marked estimated).
                const bool old_size_known = looked_up && found == exists;
                adjust_usage(owner, exists ? 0 : 1, old_size_known ? size - old_size : size, exists && !old_size_known);
                json out{{"key", key},
                         {"owner", owner},
                         {"chain", chain},
                         {"size_bytes", clear.size()},
                         {"encrypted", encrypted},
                         {"created", !exists},
                         {"updated_at", now},
                         {"expires_at", expires ? json(*expires) : json(nullptr)}};
                co_return http::json_response(200, out.dump());
              },
              false, true});

  // Reads: the owner's own entries, or another owner's shared with the caller or public.
  auto resolve = [this](http::Context& ctx, bool with_value) -> asio::awaitable<http::Response> {
    const auto chain = valid_chain(ctx.param("chain"));
    const auto key = valid_key(ctx.param("key"));
    const auto mine = owner_of(*ctx.principal, chain);
    const auto asked = ctx.query_param("owner");
    const auto owner = asked && !asked->empty() ? *asked : mine;
    if (owner.size() > 42) throw field_error("owner", "must be at most 42 characters");
    const auto row = co_await load(owner, key);
    if (!row) throw NotFound("no entry " + key);
    const auto& j = row->j;
    if (owner != mine) {
      const auto level = j["access_level"].get<std::string>();
      bool allowed = level == "public";
      if (level == "shared") {
        for (const auto& p : j["shared_with"]) allowed = allowed || p == ctx.principal->name;
      }
      // Another owner's private entry is indistinguishable from a missing one.
      if (!allowed) throw NotFound("no entry " + key);
    }
    if (with_value) {
      std::string clear;
      if (j["encrypted"].get<bool>()) {
        clear = co_await decrypt(owner, key, row->ciphertext);
      } else {
        clear = row->value;
      }
      count_access(owner, key);
      // Written directly from the entry's serialised fields; the value goes out as stored (JSON
      // text the database checked, or the enclave's answer of it): no parse, no re-serialisation.
      std::string body;
      body.reserve(row->fields.size() + clear.size() + key.size() + owner.size() + 96);
      body += "{\"key\":";
      append_json_string(body, key);
      body += ",\"owner\":";
      append_json_string(body, owner);
      body += ",\"chain\":";
      append_json_string(body, chain);
      body += ',';
      body += row->fields;
      if (owner == mine) {
        body += ",\"shared_with\":";
        body += row->shared_with;
      }
      body += ",\"value\":";
      body += clear;
      body += '}';
      co_return http::json_response(200, std::move(body));
    }
    {
      const auto counts = co_await db_.run([&](db::Connection& c) {
        return c.query("SELECT accessed_count, last_accessed FROM storage_data WHERE user_address = $1 AND key = $2",
                       {owner, key});
      });
      JsonObjectText out;
      out.add("key", key).add("owner", owner).add("chain", chain);
      if (owner == mine) out.add_raw("shared_with", row->shared_with);
      if (!counts.empty()) {
        const auto last = counts.get_optional<std::string>(0, 1);
        out.add_raw("accessed_count", std::to_string(counts.get<std::int64_t>(0, 0)))
            .add_raw("last_accessed", last ? json(*last).dump() : "null");
      }
      // The entry's fields as cached: metadata exactly as stored.
      auto body = out.finish();
      body.pop_back();
      body += ',';
      body += row->fields;
      body += '}';
      co_return http::json_response(200, std::move(body));
    }
  };
  router.add({http::Verb::get, "/v1/storage/{chain}/{key}", "storage", "storage:read",
              [resolve](http::Context& ctx) { return resolve(ctx, true); }});
  router.add({http::Verb::get, "/v1/storage/{chain}/{key}/metadata", "storage", "storage:read",
              [resolve](http::Context& ctx) { return resolve(ctx, false); }});

  router.add({http::Verb::get, "/v1/storage/{chain}", "storage", "storage:read",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto chain = valid_chain(ctx.param("chain"));
                const auto owner = owner_of(*ctx.principal, chain);
                const auto prefix = ctx.query_param("prefix").value_or("");
                if (!prefix.empty()) valid_key(prefix, "prefix");
                int limit = 100;
                if (const auto l = ctx.query_param("limit")) {
                  if (l->empty() || l->size() > 4 || l->find_first_not_of("0123456789") != std::string::npos ||
                      std::stoi(*l) < 1 || std::stoi(*l) > 1000) {
                    throw field_error("limit", "must be 1 to 1000");
                  }
                  limit = std::stoi(*l);
                }
                std::string sql =
                    "SELECT key, size_bytes, encrypted, access_level, created_at, updated_at, expires_at FROM storage_data "
                    "WHERE user_address = $1 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $2) "
                    "AND substr(key, 1, $4) = $3";
                std::vector<db::Value> params{owner, db::utc_now_text(), prefix, static_cast<std::int64_t>(prefix.size())};
                if (const auto cursor = ctx.query_param("cursor"); cursor && !cursor->empty()) {
                  const auto decoded = crypto::from_hex(*cursor);
                  const std::string text = decoded ? std::string(decoded->begin(), decoded->end()) : "";
                  const auto bar = text.find('|');
                  if (bar == std::string::npos) throw field_error("cursor", "is not a cursor this service returned");
                  params.emplace_back(text.substr(0, bar));
                  params.emplace_back(text.substr(bar + 1));
                  sql += " AND (created_at < $5 OR (created_at = $5 AND key < $6))";
                }
                sql += " ORDER BY created_at DESC, key DESC LIMIT " + std::to_string(limit);
                const auto rows = co_await db_.run([&](db::Connection& c) { return c.query(sql, params); });
                json items = json::array();
                for (std::size_t i = 0; i < rows.rows.size(); ++i) {
                  const auto exp = rows.get_optional<std::string>(i, 6);
                  items.push_back({{"key", rows.get<std::string>(i, 0)},
                                   {"size_bytes", rows.get<std::int64_t>(i, 1)},
                                   {"encrypted", rows.get<bool>(i, 2)},
                                   {"access_level", rows.get<std::string>(i, 3)},
                                   {"created_at", rows.get<std::string>(i, 4)},
                                   {"updated_at", rows.get<std::string>(i, 5)},
                                   {"expires_at", exp ? json(*exp) : json(nullptr)}});
                }
                json out{{"owner", owner}, {"items", items}};
                if (static_cast<int>(rows.rows.size()) == limit) {
                  const auto last = rows.rows.size() - 1;
                  out["next_cursor"] = hex_of(rows.get<std::string>(last, 4) + "|" + rows.get<std::string>(last, 0));
                }
                co_return http::json_response(200, out.dump());
              }});

  router.add({http::Verb::delete_, "/v1/storage/{chain}/{key}", "storage", "storage:write",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto chain = valid_chain(ctx.param("chain"));
                const auto key = valid_key(ctx.param("key"));
                const auto owner = owner_of(*ctx.principal, chain);
                std::int64_t removed = 0;
                co_await cache_.write(cache_key(owner, key), [&]() -> asio::awaitable<void> {
                  const db::Statement del{"DELETE FROM storage_data WHERE user_address = $1 AND key = $2", {owner, key}};
                  removed = (co_await db_.write(del)).affected;
                });
                if (removed == 0) throw NotFound("no entry " + key);
                {
                  std::lock_guard lock(mutex_);
                  usage_.erase(owner);  // counted again on the next write
                }
                co_return no_content();
              }});

  router.add({http::Verb::post, "/v1/storage/{chain}/{key}/share", "storage", "storage:write",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto chain = valid_chain(ctx.param("chain"));
                const auto key = valid_key(ctx.param("key"));
                const auto body = json_body(ctx);
                if (!body.contains("access_level")) throw field_error("access_level", "is required: private, shared or public");
                const auto level = access_level_of(body["access_level"]);
                const auto shared = principals_of(body);
                if (level == "shared" && shared.empty())
                  throw field_error("principals", "must name at least one principal to share with");
                const auto owner = owner_of(*ctx.principal, chain);
                std::int64_t changed = 0;
                co_await cache_.write(cache_key(owner, key), [&]() -> asio::awaitable<void> {
                  const db::Statement update{
                      "UPDATE storage_data SET access_level = $3, shared_with = $4, updated_at = $5 "
                      "WHERE user_address = $1 AND key = $2 AND deleted_at IS NULL",
                      {owner, key, level, shared.dump(), db::utc_now_text()}};
                  changed = (co_await db_.write(update)).affected;
                });
                if (changed == 0) throw NotFound("no entry " + key);
                json out{{"key", key}, {"owner", owner}, {"access_level", level}, {"shared_with", shared}};
                co_return http::json_response(200, out.dump());
              }});
}

}  // namespace nsl::services::storage
