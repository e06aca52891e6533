#include "nsl/services/storage/storage.hpp"

#include <set>

#include "nsl/core/errors.hpp"
#include "nsl/core/ids.hpp"
#include "nsl/core/strings.hpp"
#include "nsl/crypto/bytes.hpp"

namespace nsl::services::storage {
namespace {

using nlohmann::json;

std::string cache_key(const std::string& owner, const std::string& key) { return "st:" + owner + "|" + key; }

bool expired(const json& row) {
  return row.contains("expires_at") && row["expires_at"].is_string() &&
         row["expires_at"].get<std::string>() <= db::utc_now_text();
}

Entry decode(const std::string& text) {
  Entry e{json::parse(text), {}, {}, {}, {}};
  e.value = e.j.at("value").get<std::string>();
  if (e.j.at("encrypted").get<bool>()) e.ciphertext = json::parse(e.value).get<std::string>();
  for (const char* name : {"access_level", "created_at", "encrypted", "expires_at", "metadata", "size_bytes", "updated_at"}) {
    if (!e.fields.empty()) e.fields += ',';
    append_json_string(e.fields, name);
    e.fields += ':';
    const auto& field = e.j.at(name);
    // Metadata is JSON text (an object in entries cached by earlier versions).
    e.fields += std::string_view(name) == "metadata" && field.is_string() ? field.get<std::string>() : field.dump();
  }
  e.shared_with = e.j.at("shared_with").dump();
  return e;
}

std::string hex_of(const std::string& s) { return crypto::to_hex(crypto::as_bytes(s)); }

}  // namespace

StorageService::StorageService(db::Database& database, enclave::EnclaveClient& enclave, cache::Cache& cache, Settings settings,
                               metrics::Registry& registry, log::Logger log)
    : store_(database),
      enclave_(enclave),
      cache_(cache),
      settings_(settings),
      log_(std::move(log)),
      encrypted_writes_(
          registry.counter("nsl_storage_encrypted_writes_total", "Storage values encrypted by the enclave").with({})) {}

asio::awaitable<std::shared_ptr<const Entry>> StorageService::load(const std::string& owner, const std::string& key) {
  auto* store = &store_;
  cache::Cache::Loader loader = [store, owner, key]() -> asio::awaitable<std::optional<std::string>> {
    auto text = co_await store->load(owner, key);
    co_return text;
  };
  auto entry = co_await cache_.get_decoded<Entry>(cache_key(owner, key), loader, decode);
  if (!entry || expired(entry->j)) co_return nullptr;  // expiry is honoured at once; the retention job deletes it
  co_return entry;
}

asio::awaitable<std::string> StorageService::data_key(const std::string& owner) {
  {
    std::lock_guard lock(mutex_);
    const auto it = data_keys_.find(owner);
    if (it != data_keys_.end()) co_return it->second;
  }
  auto sealed = co_await store_.data_key(owner);
  if (!sealed) {
    const auto created = co_await enclave_.data_key_create(crypto::as_bytes(owner));
    sealed = co_await store_.add_data_key(owner, crypto::to_hex(created));
  }
  std::lock_guard lock(mutex_);
  data_keys_[owner] = *sealed;
  co_return *sealed;
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
  std::pair<std::int64_t, std::int64_t> counted;
  try {
    counted = co_await store_.usage(owner);
  } catch (...) {
    std::lock_guard lock(mutex_);
    if (const auto it = usage_.find(owner); it != usage_.end()) it->second.recounting = false;
    throw;
  }
  Usage u{counted.first, counted.second, now};
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

// Quotas: against the owner's usage counted at most 10 s ago plus this replica's writes since
// (several replicas writing for one owner at once may overshoot a little). When the value fits
// even as a new key, PostgreSQL's upsert reports only whether it created the entry, and a
// replacement counts its full size (an upper bound: no second index lookup for the old size); a
// write is refused only against an exact recount and the replaced entry's size looked up first.
asio::awaitable<StorageService::Lookup> StorageService::check_quota(const std::string& owner, const std::string& key,
                                                                    std::int64_t size) {
  auto usage = co_await usage_of(owner);
  const auto fits = [&] {
    return usage.keys + 1 <= settings_.max_keys_per_owner && usage.bytes + size <= settings_.max_bytes_per_owner();
  };
  if (!fits()) usage = co_await usage_of(owner, true);
  Lookup lookup;
  if (fits() && store_.dialect() == db::Dialect::postgres) co_return lookup;
  const auto previous = co_await store_.live_size(owner, key);
  lookup = {true, previous.has_value(), previous.value_or(0)};
  if (usage.keys + (lookup.found ? 0 : 1) > settings_.max_keys_per_owner) {
    throw RequestError(ErrorKind::conflict, "the quota of " + std::to_string(settings_.max_keys_per_owner) + " keys is used up");
  }
  if (usage.bytes - lookup.size + size > settings_.max_bytes_per_owner()) {
    throw RequestError(ErrorKind::conflict,
                       "the quota of " + std::to_string(settings_.max_bytes_per_owner()) + " bytes is used up");
  }
  co_return lookup;
}

asio::awaitable<PutResult> StorageService::put(std::string owner, Put put) {
  const auto size = static_cast<std::int64_t>(put.clear.size());
  const auto lookup = co_await check_quota(owner, put.key, size);
  EntryWrite w{.id = time_ordered_uuid(),
               .owner = owner,
               .key = put.key,
               .stored = put.clear,
               .encrypted = put.encrypted,
               .level = put.level.value_or("private"),
               .principals = std::move(put.principals),
               .level_given = put.level.has_value(),
               .size = size,
               .now = db::utc_now_text(),
               .expires_at = std::move(put.expires_at),
               .metadata = std::move(put.metadata)};
  if (put.encrypted) {
    const auto ciphertext = co_await encrypt(owner, put.key, put.clear);
    w.stored = json(ciphertext).dump();
  }
  // Whether the entry was created comes from the upsert's own row, never from the lookup before
  // it: a concurrent store of the same key may land in between.
  bool created = false;
  co_await cache_.write(cache_key(owner, put.key), [&]() -> asio::awaitable<void> { created = co_await store_.upsert(w); });
  // The replaced size is known only when the lookup saw what the upsert replaced; otherwise a
  // replacement counts its full size (an upper bound, marked estimated).
  const bool exists = !created;
  const bool old_size_known = lookup.looked_up && lookup.found == exists;
  adjust_usage(owner, exists ? 0 : 1, old_size_known ? size - lookup.size : size, exists && !old_size_known);
  co_return PutResult{created, w.now};
}

asio::awaitable<std::shared_ptr<const Entry>> StorageService::readable(std::string owner, std::string key, std::string reader,
                                                                       bool own) {
  auto entry = co_await load(owner, key);
  if (!entry) throw NotFound("no entry " + key);
  if (!own) {
    const auto level = entry->j["access_level"].get<std::string>();
    bool allowed = level == "public";
    if (level == "shared") {
      for (const auto& p : entry->j["shared_with"]) allowed = allowed || p == reader;
    }
    // Another owner's private entry is indistinguishable from a missing one.
    if (!allowed) throw NotFound("no entry " + key);
  }
  co_return entry;
}

asio::awaitable<std::string> StorageService::value(const std::string& owner, const std::string& key, const Entry& entry) {
  std::string clear = entry.value;
  if (entry.j["encrypted"].get<bool>()) clear = co_await decrypt(owner, key, entry.ciphertext);
  count_access(owner, key);
  co_return clear;
}

asio::awaitable<std::optional<std::pair<std::int64_t, std::string>>> StorageService::access_counts(std::string owner,
                                                                                                   std::string key) {
  co_return co_await store_.access_counts(std::move(owner), std::move(key));
}

asio::awaitable<Page> StorageService::list(std::string owner, std::string prefix, int limit, std::string cursor) {
  std::optional<std::pair<std::string, std::string>> after;
  if (!cursor.empty()) {
    const auto decoded = crypto::from_hex(cursor);
    const std::string text = decoded ? std::string(decoded->begin(), decoded->end()) : "";
    const auto bar = text.find('|');
    if (bar == std::string::npos) throw field_error("cursor", "is not a cursor this service returned");
    after = std::pair{text.substr(0, bar), text.substr(bar + 1)};
  }
  Page page;
  page.items = co_await store_.list(owner, prefix, limit, after);
  if (static_cast<int>(page.items.size()) == limit) {
    const auto& last = page.items.back();
    page.next = hex_of(last.created_at + "|" + last.key);
  }
  co_return page;
}

asio::awaitable<void> StorageService::remove(std::string owner, std::string key) {
  std::int64_t removed = 0;
  co_await cache_.write(cache_key(owner, key), [&]() -> asio::awaitable<void> { removed = co_await store_.remove(owner, key); });
  if (removed == 0) throw NotFound("no entry " + key);
  std::lock_guard lock(mutex_);
  usage_.erase(owner);  // counted again on the next write
}

asio::awaitable<void> StorageService::share(std::string owner, std::string key, std::string level, std::string principals) {
  std::int64_t changed = 0;
  co_await cache_.write(cache_key(owner, key),
                        [&]() -> asio::awaitable<void> { changed = co_await store_.share(owner, key, level, principals); });
  if (changed == 0) throw NotFound("no entry " + key);
}

asio::awaitable<std::vector<Exported>> StorageService::export_owner(std::string owner) {
  auto rows = co_await store_.export_owner(owner);
  for (auto& row : rows) {
    if (!row.encrypted) continue;
    const auto ciphertext = json::parse(row.stored).get<std::string>();
    row.stored = co_await decrypt(owner, row.key, ciphertext);
  }
  co_return rows;
}

asio::awaitable<std::int64_t> StorageService::erase_owner(std::string owner, std::string by) {
  const auto listed = co_await store_.keys_of(owner);
  for (const auto& k : listed) co_await cache_.before_write(cache_key(owner, k));
  // Right to be forgotten: the rows and the owner's data key go (anything encrypted under it
  // elsewhere, such as a backup, can no longer be read).
  const auto deleted = co_await store_.erase_owner(owner);
  // Every key marked, and every key deleted: one stored (and read into a cache) between the
  // listing and the delete is gone from the caches too.
  std::set<std::string> erased(listed.begin(), listed.end());
  erased.insert(deleted.begin(), deleted.end());
  for (const auto& k : erased) co_await cache_.after_write(cache_key(owner, k));
  const auto removed = static_cast<std::int64_t>(deleted.size());
  {
    std::lock_guard lock(mutex_);
    data_keys_.erase(owner);
    usage_.erase(owner);
  }
  log_.warn("storage erased for an owner", {{"owner", owner}, {"entries", removed}, {"by", by}});
  co_return removed;
}

asio::awaitable<std::pair<RecordCounts, RecordCounts>> StorageService::compliance(std::optional<std::string> owner) {
  co_return co_await store_.compliance(std::move(owner), db::utc_now_text(-std::chrono::hours(24 * 365 * 3)),
                                       db::utc_now_text(-std::chrono::hours(24 * 365 * 7)));
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
  co_await store_.add_accesses(pending);
}

asio::awaitable<void> StorageService::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (true) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    try {
      co_await flush_access_counts();
    } catch (const std::exception& e) {
      log_.warn("cannot write storage access counts; they are dropped", {{"error", e.what()}});
    }
    std::lock_guard lock(mutex_);
    if (stopping_) break;
  }
}

void StorageService::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
}

}  // namespace nsl::services::storage
