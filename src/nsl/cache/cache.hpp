#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <typeinfo>
#include <unordered_map>

#include "nsl/cache/redis.hpp"
#include "nsl/core/asio.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"

namespace nsl::cache {

/// `Cache` settings (guide §13.2.1 defaults: L1 5 minutes, L2 1 hour).
struct CacheOptions {
  std::chrono::milliseconds l1_ttl = std::chrono::minutes(5);
  std::chrono::milliseconds l2_ttl = std::chrono::hours(1);
  std::size_t l1_max_entries = 100000;
  /// How long a replica trusts its L1 after its own heartbeat came back through Redis; a writer
  /// waits at most this long for the other replicas to confirm an invalidation.
  std::chrono::milliseconds lease = std::chrono::milliseconds(500);
  /// How long a write in progress keeps other replicas from caching the key (the longest a
  /// database write may take before its commit).
  std::chrono::milliseconds write_window = std::chrono::seconds(30);
  /// Without Redis, use L1 at all (right for one replica; several replicas need Redis).
  bool l1_without_redis = true;
};

/// Two-level cache (guide §13.2.1): an in-process L1 over Redis as L2, in front of the database.
///
/// No replica serves a value older than a write any replica has acknowledged:
///  - before its commit a writer marks the key in Redis (bumping its version and deleting its L2
///    entry), so nobody caches the old value meanwhile; if Redis cannot be reached the write is
///    refused before anything is committed;
///  - after its commit the writer clears the mark and publishes an invalidation; every replica
///    drops its L1 entry and confirms; the writer returns once all live replicas confirmed or
///    `lease` passed;
///  - a replica trusts its L1 only within `lease` of its last heartbeat round trip through Redis
///    (so a replica cut off from Redis stops using L1 before any writer stops waiting for it);
///  - an L2 entry is stored only if the key's version and mark did not change during the load.
/// With Redis down every read goes to the database and status() says degraded.
class Cache {
 public:
  using Loader = std::function<asio::awaitable<std::optional<std::string>>()>;

  /// `redis` may be null (no Redis configured). Call start() before redis->start().
  Cache(RedisClient* redis, CacheOptions options, std::string replica_id, metrics::Registry& registry, log::Logger log);
  ~Cache();

  /// Subscribes to invalidations and starts the heartbeat on `executor`.
  void start(asio::any_io_executor executor);
  void stop();

  /// The value of `key`: from L1, else L2, else `load()` (the database), caching what it returns.
  asio::awaitable<std::optional<std::string>> get(const std::string& key, const Loader& load);
  /// get(), handed out decoded: `decode` turns the text into an immutable object, and the L1
  /// entry keeps that object, so later hits share it instead of decoding the text again. Null
  /// when there is no value. `decode` runs outside the cache's lock and may throw.
  template <class T, class Decode>
  asio::awaitable<std::shared_ptr<const T>> get_decoded(const std::string& key, const Loader& load, Decode decode) {
    const auto any = co_await get_decoded_erased(
        key, load, typeid(T), [&decode](const std::string& text) -> Decoded { return std::make_shared<const T>(decode(text)); });
    co_return std::static_pointer_cast<const T>(any);
  }
  /// Before committing a write to `key`. Throws RedisError (transient: answer 503) if Redis is
  /// configured and cannot be reached.
  asio::awaitable<void> before_write(const std::string& key);
  /// After the commit and before acknowledging it. Never throws.
  asio::awaitable<void> after_write(const std::string& key);
  /// before_write, `change` (the database write), then after_write whether or not it threw;
  /// rethrows what `change` threw.
  asio::awaitable<void> write(const std::string& key, std::function<asio::awaitable<void>()> change);

  /// True while Redis is configured and not connected (readiness reports it).
  bool degraded() const noexcept;
  /// Whether L1 may be used now.
  bool l1_usable() const noexcept;

 private:
  using Decoded = std::shared_ptr<const void>;
  struct Entry {
    std::string value;
    std::chrono::steady_clock::time_point expires;
    Decoded decoded;  // what get_decoded made of value, of type *decoded_type
    const std::type_info* decoded_type = nullptr;
  };
  asio::awaitable<Decoded> get_decoded_erased(const std::string& key, const Loader& load, const std::type_info& type,
                                              const std::function<Decoded(const std::string&)>& decode);
  /// Keeps `decoded` with the L1 entry of `key` if that entry still holds `text`.
  void l1_attach(const std::string& key, const std::string& text, const std::type_info& type, Decoded decoded);
  void l1_put(const std::string& key, const std::string& value, std::uint64_t epoch);
  void l1_drop(const std::string& key);
  void l1_clear();
  void on_message(const std::string& payload);
  asio::awaitable<void> heartbeat();

  RedisClient* redis_;
  asio::any_io_executor executor_;
  CacheOptions options_;
  std::string id_;
  log::Logger log_;
  std::string channel_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> l1_;
  std::atomic<std::uint64_t> epoch_{0};
  std::atomic<std::int64_t> trusted_until_ns_{0};
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> heartbeats_sent_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> replicas_seen_;
  struct Waiting {
    std::map<std::string, bool> acked;
  };
  std::unordered_map<std::uint64_t, std::shared_ptr<Waiting>> waiting_;
  std::uint64_t next_seq_ = 0;
  std::atomic<bool> stopping_{false};
  metrics::Counter& hits_l1_;
  metrics::Counter& hits_l2_;
  metrics::Counter& misses_;
  metrics::Counter& invalidations_;
  metrics::Counter& unconfirmed_;
  metrics::Gauge& entries_;
};

}  // namespace nsl::cache
