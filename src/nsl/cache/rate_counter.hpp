#pragma once

#include "nsl/cache/redis.hpp"
#include "nsl/http/rate_limit.hpp"

namespace nsl::cache {

/// Rate-limit windows counted in Redis, so every replica draws on one budget per principal (or
/// address). Windows are aligned to Redis's clock; a request beyond the limit takes one of the
/// next window's first permits if fewer than `QueueLimit` are already waiting for it
/// (OldestFirst), else it is refused. With Redis unreachable the pipeline counts in process.
class RedisRateCounter final : public http::SharedRateCounter {
 public:
  explicit RedisRateCounter(RedisClient& redis) : redis_(redis) {}
  asio::awaitable<std::optional<http::RateLimiter::Decision>> acquire(const std::string& key,
                                                                      const http::RateLimitSettings& settings) override;

 private:
  RedisClient& redis_;
};

}  // namespace nsl::cache
