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

std::size_t RateLimiter::keys() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

RateLimiter::Decision RateLimiter::acquire(const std::string& key, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  Decision d;
  d.limit = settings_.permit_limit;
  if (!settings_.enabled) {
    d.remaining = d.limit;
    return d;
  }
  const auto window = settings_.window;
  // Forget keys idle for two windows, at most once a window.
  if (now - last_sweep_ > window) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = now - it->second.start > 2 * window ? buckets_.erase(it) : std::next(it);
    }
    last_sweep_ = now;
  }
  auto& b = buckets_[key];
  if (b.start.time_since_epoch().count() == 0 || now >= b.start + window) {
    // A new window: the requests that queued for it go first.
    const bool consecutive = b.start.time_since_epoch().count() != 0 && now < b.start + 2 * window;
    b.start = now;
    b.used = consecutive ? std::min(b.reserved_next, settings_.permit_limit) : 0;
    b.reserved_next = 0;
  }
  const auto end = b.start + window;
  d.reset = std::chrono::duration_cast<std::chrono::milliseconds>(end - now);
  if (b.used < settings_.permit_limit) {
    ++b.used;
    d.remaining = settings_.permit_limit - b.used;
    return d;
  }
  const int queue = std::min(settings_.queue_limit, settings_.permit_limit);
  if (settings_.oldest_first && b.reserved_next < queue) {
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
