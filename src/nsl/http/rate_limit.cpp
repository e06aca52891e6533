#include "nsl/http/rate_limit.hpp"

#include <algorithm>

namespace nsl::http {

void RateLimiter::update(const RateLimitSettings& settings) {
  std::lock_guard lock(mutex_);
  settings_ = settings;
}

RateLimitSettings RateLimiter::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

void RateLimiter::update_routes(std::map<std::string, RateLimitSettings> routes) {
  std::lock_guard lock(mutex_);
  routes_.clear();
  for (auto& [k, v] : routes) routes_.emplace(k, v);
}

RateLimiter::Policy RateLimiter::policy_for(std::string_view verb, std::string_view pattern) const {
  std::lock_guard lock(mutex_);
  if (!routes_.empty()) {
    const auto exact = std::string(verb) + " " + std::string(pattern);
    if (const auto it = routes_.find(exact); it != routes_.end()) return {it->second, "|" + exact};
    if (const auto it = routes_.find(pattern); it != routes_.end()) return {it->second, "|" + std::string(pattern)};
  }
  return {settings_, ""};
}

std::size_t RateLimiter::keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

RateLimiter::Decision RateLimiter::acquire(const std::string& key, std::chrono::steady_clock::time_point now) {
  return acquire(key, settings(), now);
}

RateLimiter::Decision RateLimiter::acquire(const std::string& key, const RateLimitSettings& limits,
                                           std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  Decision d;
  d.limit = limits.permit_limit;
  if (!limits.enabled) {
    d.remaining = d.limit;
    return d;
  }
  const auto window = limits.window;
  // Forget keys idle for two of their windows, sweeping at most once a (general) window.
  if (now - last_sweep_ > std::min(window, settings_.window)) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = now - it->second.start > 2 * it->second.window ? buckets_.erase(it) : std::next(it);
    }
    last_sweep_ = now;
  }
  auto& b = buckets_[key];
  b.window = window;
  if (b.start.time_since_epoch().count() == 0 || now >= b.start + window) {
    // A new window: the requests that queued for it go first.
    const bool consecutive = b.start.time_since_epoch().count() != 0 && now < b.start + 2 * window;
    b.start = now;
    b.used = consecutive ? std::min(b.reserved_next, limits.permit_limit) : 0;
    b.reserved_next = 0;
  }
  const auto end = b.start + window;
  d.reset = std::chrono::duration_cast<std::chrono::milliseconds>(end - now);
  if (b.used < limits.permit_limit) {
    ++b.used;
    d.remaining = limits.permit_limit - b.used;
    return d;
  }
  const int queue = std::min(limits.queue_limit, limits.permit_limit);
  if (limits.oldest_first && b.reserved_next < queue) {
    ++b.reserved_next;
    d.wait = d.reset;
    d.remaining = 0;
    return d;
  }
  d.allowed = false;
  d.remaining = 0;
  return d;
}

}  // namespace nsl::http
