#pragma once

// Storage (guide §7.2.2, §9.1.2, §13.3, §17.2): JSON values under keys in an owner's address space
// of a chain. What the service does, without HTTP. Encrypted values are encrypted inside the
// enclave under the owner's data key; only the ciphertext is stored or cached. Reads go through
// the two-level cache; access counts are written in batches once a second.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/cache/cache.hpp"
#include "nsl/core/asio.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/db/database.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/services/storage/settings.hpp"
#include "nsl/services/storage/store.hpp"

namespace nsl::services::storage {

/// A store request, checked by the caller.
struct Put {
  std::string key;
  std::string clear;  // the value's JSON text, as sent (a number beyond 64 bits stays exact)
  bool encrypted = false;
  std::optional<std::string> level;       // private | shared | public; a new entry is private
  std::optional<std::string> principals;  // a JSON array of names, when given
  std::optional<std::string> expires_at, metadata;
};

struct PutResult {
  bool created = false;
  std::string updated_at;
};

/// An entry as the cache holds it (the value as stored: ciphertext when encrypted), decoded once
/// per cache entry and shared by the requests that read it.
struct Entry {
  nlohmann::json j;
  std::string value;        // the stored JSON text
  std::string ciphertext;   // when encrypted: the hex string the value holds
  std::string fields;       // the fields every reader sees, as JSON members: "access_level":...,"updated_at":...
  std::string shared_with;  // the JSON array, shown to the owner
};

/// A page of a listing; `next` is the cursor of the following page, if the page is full.
struct Page {
  std::vector<Listed> items;
  std::optional<std::string> next;
};

class StorageService {
 public:
  StorageService(db::Database& database, enclave::EnclaveClient& enclave, cache::Cache& cache, Settings settings,
                 metrics::Registry& registry, log::Logger log);

  /// Creates or replaces `owner`'s entry. 409 when the owner's quota of entries or bytes would be
  /// exceeded.
  asio::awaitable<PutResult> put(std::string owner, Put put);
  /// The entry if `reader` may read it: the owner (`own`), anyone for a public entry, the named
  /// principals for a shared one; 404 otherwise, like a missing or expired entry.
  asio::awaitable<std::shared_ptr<const Entry>> readable(std::string owner, std::string key, std::string reader, bool own);
  /// The entry's value as JSON text (decrypted in the enclave if need be); counts the read.
  asio::awaitable<std::string> value(const std::string& owner, const std::string& key, const Entry& entry);
  /// Reads counted so far (written once a second) and the last read's time as JSON, if the row exists.
  asio::awaitable<std::optional<std::pair<std::int64_t, std::string>>> access_counts(std::string owner, std::string key);
  /// The owner's live entries, newest first; `cursor` continues a listing (400 naming `cursor`
  /// if it is not one this service returned).
  asio::awaitable<Page> list(std::string owner, std::string prefix, int limit, std::string cursor);
  /// 404 if there is no entry.
  asio::awaitable<void> remove(std::string owner, std::string key);
  /// Sets who may read the entry; 404 if there is none.
  asio::awaitable<void> share(std::string owner, std::string key, std::string level, std::string principals);
  /// Every live entry of one owner with its clear value, ordered by key.
  asio::awaitable<std::vector<Exported>> export_owner(std::string owner);
  /// Right to be forgotten: the owner's rows and data key go; how many entries. Logged with `by`.
  asio::awaitable<std::int64_t> erase_owner(std::string owner, std::string by);
  /// Guide §17.2: storage older than 3 years, audit records older than 7.
  asio::awaitable<std::pair<RecordCounts, RecordCounts>> compliance(std::optional<std::string> owner);

  /// Writes access counts once a second until stop().
  asio::awaitable<void> run();
  void stop();
  asio::awaitable<void> flush_access_counts();

 private:
  struct Usage {
    std::int64_t keys = 0;
    std::int64_t bytes = 0;
    std::chrono::steady_clock::time_point counted{};
    bool recounting = false;
    bool estimated = false;  // a write since the count added an upper bound, not the exact change
  };
  asio::awaitable<std::shared_ptr<const Entry>> load(const std::string& owner, const std::string& key);
  asio::awaitable<std::string> data_key(const std::string& owner);
  asio::awaitable<std::string> encrypt(const std::string& owner, const std::string& key, const std::string& clear);
  asio::awaitable<std::string> decrypt(const std::string& owner, const std::string& key, const std::string& ciphertext);
  void count_access(const std::string& owner, const std::string& key);
  /// The owner's entries and bytes: counted in the database at most 10 s ago, plus this
  /// replica's writes since. One request recounts a stale figure; the others meanwhile use it.
  /// `exact`: recount now if writes since the count were estimated (before refusing a write).
  asio::awaitable<Usage> usage_of(const std::string& owner, bool exact = false);
  /// `estimated`: the change is an upper bound (a replaced entry's old size was not read).
  void adjust_usage(const std::string& owner, std::int64_t keys, std::int64_t bytes, bool estimated = false);
  /// What a write found before it replaced an entry: looked up only when the quota is close.
  struct Lookup {
    bool looked_up = false;
    bool found = false;
    std::int64_t size = 0;
  };
  /// Checks the quotas for a write of `size` bytes under `key` (409 when they would be exceeded).
  asio::awaitable<Lookup> check_quota(const std::string& owner, const std::string& key, std::int64_t size);

  StorageStore store_;
  enclave::EnclaveClient& enclave_;
  cache::Cache& cache_;
  Settings settings_;
  log::Logger log_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::string> data_keys_;  // owner -> sealed data key
  std::unordered_map<std::string, Usage> usage_;
  Accesses accesses_;
  bool stopping_ = false;
  metrics::Counter& encrypted_writes_;
};

}  // namespace nsl::services::storage
