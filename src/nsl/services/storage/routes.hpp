#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "nsl/cache/cache.hpp"
#include "nsl/core/asio.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/db/database.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/http/router.hpp"
#include "nsl/services/storage/settings.hpp"

namespace nsl::services::storage {

/// `Storage` settings: quotas per owner.
using StorageSettings = Settings;

/// The Storage service (guide §7.2.2, §9.1.2, §13.3, §17.2): JSON values under keys in the
/// owner's address space of a chain (`neo-n3` | `neo-x`).
///   POST   /v1/storage/store/{chain} {key, value, encrypted?, access_level?, ttl_seconds?, metadata?}
///                                                               create or replace    storage:write
///   GET    /v1/storage/{chain}/{key}[?owner=O]                   the value            storage:read
///   GET    /v1/storage/{chain}/{key}/metadata[?owner=O]          without the value    storage:read
///   GET    /v1/storage/{chain}?prefix=&limit=&cursor=            newest first         storage:read
///   DELETE /v1/storage/{chain}/{key}                                                  storage:write
///   POST   /v1/storage/{chain}/{key}/share {access_level, principals?}                storage:write
///   GET    /v1/storage/admin/users/{owner}/export                everything of one owner   storage:export
///   DELETE /v1/storage/admin/users/{owner}                       erase one owner           storage:erase
///   GET    /v1/storage/admin/compliance-report[?owner=O]         guide §17.2               storage:report
/// Encrypted values are encrypted inside the enclave under the owner's data key; only the
/// ciphertext is stored or cached. Reads go through the two-level cache; access counts are
/// written in batches once a second.
class StorageService {
 public:
  StorageService(db::Database& database, enclave::EnclaveClient& enclave, cache::Cache& cache, StorageSettings settings,
                 metrics::Registry& registry, log::Logger log);

  void add_routes(http::Router& router);
  /// Writes access counts once a second until stop().
  asio::awaitable<void> run();
  /// Stops run() and writes the counts still pending.
  void stop();
  asio::awaitable<void> flush_access_counts();

 private:
  struct Row;
  /// The entry as cached (decoded once per cache entry and shared), or null.
  asio::awaitable<std::shared_ptr<const Row>> load(const std::string& owner, const std::string& key);
  asio::awaitable<std::string> data_key(const std::string& owner);
  asio::awaitable<std::string> encrypt(const std::string& owner, const std::string& key, const std::string& clear);
  asio::awaitable<std::string> decrypt(const std::string& owner, const std::string& key, const std::string& ciphertext);
  void count_access(const std::string& owner, const std::string& key);
  struct Usage {
    std::int64_t keys = 0;
    std::int64_t bytes = 0;
    std::chrono::steady_clock::time_point counted{};
    bool recounting = false;
    bool estimated = false;  // a write since the count added an upper bound, not the exact change
  };
  /// The owner's entries and bytes: counted in the database at most 10 s ago, plus this
  /// replica's writes since. One request recounts a stale figure; the others meanwhile use it.
  /// `exact`: recount now if writes since the count were estimated (before refusing a write).
  asio::awaitable<Usage> usage_of(const std::string& owner, bool exact = false);
  /// `estimated`: the change is an upper bound (a replaced entry's old size was not read).
  void adjust_usage(const std::string& owner, std::int64_t keys, std::int64_t bytes, bool estimated = false);

  db::Database& db_;
  enclave::EnclaveClient& enclave_;
  cache::Cache& cache_;
  StorageSettings settings_;
  log::Logger log_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::string> data_keys_;  // owner -> sealed data key
  std::unordered_map<std::string, Usage> usage_;
  // Reads since the last flush per (owner, key): how many, and the time of the last one.
  struct OwnerKeyLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      const std::string_view a1 = a.first, a2 = a.second, b1 = b.first, b2 = b.second;
      return a1 < b1 || (a1 == b1 && a2 < b2);
    }
  };
  using Accesses =
      std::map<std::pair<std::string, std::string>, std::pair<std::int64_t, std::chrono::system_clock::time_point>, OwnerKeyLess>;
  Accesses accesses_;
  bool stopping_ = false;
  metrics::Counter& encrypted_writes_;
};

}  // namespace nsl::services::storage
