#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "nsl/core/asio.hpp"

namespace nsl::http {

/// `RateLimiting` (guide §6.1.1): `permit_limit` requests per `window` per key (a principal, or
/// an IP address for anonymous requests and failed authentication).
struct RateLimitSettings {
  bool enabled = true;
  int permit_limit = 100;
  std::chrono::milliseconds window{60'000};
  int queue_limit = 50;
  bool oldest_first = true;
  bool operator==(const RateLimitSettings&) const = default;
};

/// Fixed windows per key, counted in this process. Routes may have limits of their own
/// (`RateLimiting:Routes`): a request to such a route counts in that route's budget only. A request beyond the limit waits for the next
/// window if fewer than `queue_limit` are waiting (they take that window's first permits, in the
/// order they arrived; with NewestFirst nobody waits), otherwise it is refused. Thread-safe;
/// settings may change while running.
class RateLimiter {
 public:
  struct Decision {
    bool allowed = true;
    std::chrono::milliseconds wait{0};  // allowed after waiting this long (queued)
    int limit = 0;
    int remaining = 0;
    std::chrono::milliseconds reset{0};  // until the current window ends
  };

  explicit RateLimiter(RateLimitSettings settings) : settings_(settings) {}
  void update(const RateLimitSettings& settings);
  RateLimitSettings settings() const;
  /// Per-route limits, keyed "VERB /pattern" (one verb) or "/pattern" (every verb).
  void update_routes(std::map<std::string, RateLimitSettings> routes);

  /// What limits a request to `verb` + `pattern`: the route's own limit and the suffix that keeps
  /// its budget apart ("|" + the route key), or the general limit and "".
  struct Policy {
    RateLimitSettings settings;
    std::string bucket_suffix;
  };
  Policy policy_for(std::string_view verb, std::string_view pattern) const;

  Decision acquire(const std::string& key, std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  Decision acquire(const std::string& key, const RateLimitSettings& settings,
                   std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  /// Keys tracked (for tests and metrics).
  std::size_t keys() const;

 private:
  struct Bucket {
    std::chrono::steady_clock::time_point start{};
    std::chrono::milliseconds window{0};
    int used = 0;
    int reserved_next = 0;  // queued requests that will take the next window's first permits
  };

  mutable std::mutex mutex_;
  RateLimitSettings settings_;
  std::map<std::string, RateLimitSettings, std::less<>> routes_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::chrono::steady_clock::time_point last_sweep_{};
};

/// Counters shared by every replica (Redis). acquire() answers std::nullopt when the shared store
/// cannot be asked, and the pipeline falls back to the in-process RateLimiter.
class SharedRateCounter {
 public:
  virtual ~SharedRateCounter() = default;
  virtual asio::awaitable<std::optional<RateLimiter::Decision>> acquire(const std::string& key,
                                                                        const RateLimitSettings& settings) = 0;
};

}  // namespace nsl::http
