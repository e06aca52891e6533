#include "nsl/cache/cache.hpp"

#include <vector>

namespace nsl::cache {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Reads a key: its L2 value (or nil), its version, and whether a write to it is in progress.
constexpr const char* kGet = R"lua(
local p, k = ARGV[1], ARGV[2]
return {redis.call('GET', p .. 'c:' .. k) or false, redis.call('GET', p .. 'v:' .. k) or '0',
        redis.call('EXISTS', p .. 'w:' .. k)}
)lua";

// Stores a loaded value unless a write started or finished since its version was read.
constexpr const char* kSet = R"lua(
local p, k = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'w:' .. k) == 1 then return 0 end
if (redis.call('GET', p .. 'v:' .. k) or '0') ~= ARGV[4] then return 0 end
redis.call('SET', p .. 'c:' .. k, ARGV[3], 'PX', ARGV[5])
return 1
)lua";

// Before a commit: one more write in progress on the key, a new version, no L2 entry.
constexpr const char* kBegin = R"lua(
local p, k = ARGV[1], ARGV[2]
redis.call('INCR', p .. 'w:' .. k)
redis.call('PEXPIRE', p .. 'w:' .. k, ARGV[3])
redis.call('INCR', p .. 'v:' .. k)
redis.call('PEXPIRE', p .. 'v:' .. k, ARGV[4])
redis.call('DEL', p .. 'c:' .. k)
return 1
)lua";

// After a commit: one write fewer in progress, a new version, no L2 entry.
constexpr const char* kEnd = R"lua(
local p, k = ARGV[1], ARGV[2]
if redis.call('DECR', p .. 'w:' .. k) <= 0 then redis.call('DEL', p .. 'w:' .. k) end
redis.call('INCR', p .. 'v:' .. k)
redis.call('PEXPIRE', p .. 'v:' .. k, ARGV[3])
redis.call('DEL', p .. 'c:' .. k)
return 1
)lua";

// "kind|a|b|rest": the first three fields and the rest (a key may hold '|').
std::vector<std::string> fields(const std::string& s, std::size_t n) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (out.size() + 1 < n) {
    const auto bar = s.find('|', pos);
    if (bar == std::string::npos) break;
    out.push_back(s.substr(pos, bar - pos));
    pos = bar + 1;
  }
  out.push_back(s.substr(pos));
  return out;
}

}  // namespace

Cache::Cache(RedisClient* redis, CacheOptions options, std::string replica_id, metrics::Registry& registry, log::Logger log)
    : redis_(redis),
      options_(options),
      id_(std::move(replica_id)),
      log_(std::move(log)),
      channel_((redis ? redis->options().key_prefix : std::string("nsl:")) + "cache"),
      hits_l1_(registry.counter("nsl_cache_requests_total", "Cache lookups by where they were answered", {"level"}).with({"l1"})),
      hits_l2_(registry.counter("nsl_cache_requests_total", "Cache lookups by where they were answered", {"level"}).with({"l2"})),
      misses_(registry.counter("nsl_cache_requests_total", "Cache lookups by where they were answered", {"level"})
                  .with({"database"})),
      invalidations_(registry.counter("nsl_cache_invalidations_total", "Writes whose cached values were invalidated").with({})),
      unconfirmed_(registry
                       .counter("nsl_cache_invalidations_unconfirmed_total",
                                "Invalidations Redis could not carry (the writer waited out the lease)")
                       .with({})),
      entries_(registry.gauge("nsl_cache_l1_entries", "Entries in the in-process L1 cache").with({})) {
  if (redis_) {
    redis_->subscribe(
        channel_, [this](const std::string& m) { on_message(m); },
        [this] {
          // Messages may have been missed while the subscription was down.
          l1_clear();
          trusted_until_ns_ = 0;
        });
  }
}

Cache::~Cache() { stop(); }

void Cache::start(asio::any_io_executor executor) {
  executor_ = executor;
  if (redis_) asio::co_spawn(executor, heartbeat(), asio::detached);
}

void Cache::stop() { stopping_ = true; }

bool Cache::degraded() const noexcept { return redis_ && !redis_->connected(); }

bool Cache::l1_usable() const noexcept {
  if (!redis_) return options_.l1_without_redis;
  return ns(Clock::now()) < trusted_until_ns_.load();
}

void Cache::l1_put(const std::string& key, const std::string& value, std::uint64_t epoch) {
  std::lock_guard lock(mutex_);
  if (epoch != epoch_.load() || !l1_usable()) return;  // a write raced with the load
  if (l1_.size() >= options_.l1_max_entries) {
    // Make room: drop expired entries, then arbitrary ones (a tenth).
    const auto now = Clock::now();
    for (auto it = l1_.begin(); it != l1_.end();) it = it->second.expires < now ? l1_.erase(it) : std::next(it);
    for (auto it = l1_.begin(); it != l1_.end() && l1_.size() >= options_.l1_max_entries * 9 / 10;) it = l1_.erase(it);
  }
  l1_[key] = Entry{value, Clock::now() + options_.l1_ttl, nullptr, nullptr};
  entries_.set(static_cast<double>(l1_.size()));
}

void Cache::l1_drop(const std::string& key) {
  std::lock_guard lock(mutex_);
  ++epoch_;
  l1_.erase(key);
  entries_.set(static_cast<double>(l1_.size()));
}

void Cache::l1_clear() {
  std::lock_guard lock(mutex_);
  ++epoch_;
  l1_.clear();
  entries_.set(0);
}

void Cache::on_message(const std::string& payload) {
  const auto f = fields(payload, 4);
  if (f.size() < 3) return;
  const auto now = Clock::now();
  if (f[0] == "h") {
    std::lock_guard lock(mutex_);
    replicas_seen_[f[1]] = now;
    if (f[1] == id_) {
      const auto it = heartbeats_sent_.find(std::stoull(f[2]));
      if (it != heartbeats_sent_.end()) trusted_until_ns_ = ns(it->second + options_.lease);
    }
  } else if (f[0] == "i" && f.size() == 4) {
    if (f[1] == id_) return;
    l1_drop(f[3]);
    // Confirm; the writer waits for it.
    auto* redis = redis_;
    const std::string ack = "a|" + f[1] + "|" + f[2] + "|" + id_;
    const std::string channel = channel_;
    asio::co_spawn(
        executor_,
        [redis, ack, channel]() -> asio::awaitable<void> {
          try {
            std::vector<std::string> args{"PUBLISH", channel, ack};
            co_await redis->command(std::move(args));
          } catch (const std::exception&) {
            // The writer waits out the lease instead.
          }
        },
        asio::detached);
  } else if (f[0] == "a" && f.size() == 4 && f[1] == id_) {
    std::lock_guard lock(mutex_);
    const auto it = waiting_.find(std::stoull(f[2]));
    if (it != waiting_.end()) it->second->acked[f[3]] = true;
  }
}

asio::awaitable<void> Cache::heartbeat() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto every = std::max(options_.lease / 4, std::chrono::milliseconds(10));
  while (!stopping_) {
    if (redis_->connected()) {
      std::uint64_t seq = 0;
      {
        std::lock_guard lock(mutex_);
        seq = ++next_seq_;
        heartbeats_sent_[seq] = Clock::now();
        while (heartbeats_sent_.size() > 64) heartbeats_sent_.erase(heartbeats_sent_.begin());
      }
      try {
        std::vector<std::string> args{"PUBLISH", channel_, "h|" + id_ + "|" + std::to_string(seq)};
        co_await redis_->command(std::move(args));
      } catch (const std::exception&) {
        // Trust lapses by itself when heartbeats stop coming back.
      }
    }
    timer.expires_after(every);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<std::optional<std::string>> Cache::get(const std::string& key, const Loader& load) {
  if (l1_usable()) {
    std::lock_guard lock(mutex_);
    const auto it = l1_.find(key);
    if (it != l1_.end() && it->second.expires > Clock::now()) {
      hits_l1_.inc();
      co_return it->second.value;
    }
  }
  const auto epoch = epoch_.load();
  std::optional<std::string> version;  // set when L2 answered and no write is in progress
  if (redis_ && redis_->connected()) {
    const auto& prefix = redis_->options().key_prefix;
    std::optional<Reply> r;
    try {
      std::vector<std::string> args{"EVAL", kGet, "0", prefix, key};
      r = co_await redis_->command(std::move(args));
    } catch (const std::exception&) {
      r.reset();  // Redis failed: go to the database
    }
    if (r && r->type == Reply::Type::array && r->elements.size() == 3) {
      const bool writing = r->elements[2].integer != 0;
      if (r->elements[0].type == Reply::Type::string && !writing) {
        hits_l2_.inc();
        l1_put(key, r->elements[0].str, epoch);
        co_return r->elements[0].str;
      }
      if (!writing) version = r->elements[1].str;
    }
  }
  misses_.inc();
  auto value = co_await load();
  if (value && version) {
    const auto& prefix = redis_->options().key_prefix;
    bool stored = false;
    try {
      std::vector<std::string> args{"EVAL", kSet, "0", prefix, key, *value, *version, std::to_string(options_.l2_ttl.count())};
      const auto r = co_await redis_->command(std::move(args));
      stored = r.integer == 1;
    } catch (const std::exception&) {
      stored = false;
    }
    if (stored) l1_put(key, *value, epoch);
  } else if (value && !redis_) {
    l1_put(key, *value, epoch);
  }
  co_return value;
}

asio::awaitable<Cache::Decoded> Cache::get_decoded_erased(const std::string& key, const Loader& load, const std::type_info& type,
                                                          const std::function<Decoded(const std::string&)>& decode) {
  std::optional<std::string> text;
  if (l1_usable()) {
    std::lock_guard lock(mutex_);
    const auto it = l1_.find(key);
    if (it != l1_.end() && it->second.expires > Clock::now()) {
      hits_l1_.inc();
      if (it->second.decoded && *it->second.decoded_type == type) co_return it->second.decoded;
      text = it->second.value;
    }
  }
  if (!text) text = co_await get(key, load);
  if (!text) co_return nullptr;
  auto decoded = decode(*text);
  l1_attach(key, *text, type, decoded);
  co_return decoded;
}

void Cache::l1_attach(const std::string& key, const std::string& text, const std::type_info& type, Decoded decoded) {
  std::lock_guard lock(mutex_);
  const auto it = l1_.find(key);
  // A write may have replaced or dropped the entry meanwhile: keep the decoded form only with
  // the text it was made from.
  if (it == l1_.end() || it->second.value != text) return;
  it->second.decoded = std::move(decoded);
  it->second.decoded_type = &type;
}

asio::awaitable<void> Cache::write(const std::string& key, std::function<asio::awaitable<void>()> change) {
  co_await before_write(key);
  std::exception_ptr failed;
  try {
    co_await change();
  } catch (...) {
    failed = std::current_exception();
  }
  co_await after_write(key);
  if (failed) std::rethrow_exception(failed);
}

asio::awaitable<void> Cache::before_write(const std::string& key) {
  l1_drop(key);
  if (!redis_) co_return;
  std::vector<std::string> args{"EVAL",
                                kBegin,
                                "0",
                                redis_->options().key_prefix,
                                key,
                                std::to_string(options_.write_window.count()),
                                std::to_string((options_.l2_ttl * 2).count())};
  co_await redis_->command(std::move(args));
}

asio::awaitable<void> Cache::after_write(const std::string& key) {
  l1_drop(key);
  invalidations_.inc();
  if (!redis_) co_return;
  const auto started = Clock::now();
  std::uint64_t seq = 0;
  auto waiting = std::make_shared<Waiting>();
  {
    std::lock_guard lock(mutex_);
    seq = ++next_seq_;
    for (const auto& [replica, seen] : replicas_seen_) {
      if (replica != id_ && started - seen < options_.lease) waiting->acked[replica] = false;
    }
    waiting_[seq] = waiting;
  }
  bool published = false;
  try {
    std::vector<std::string> args{
        "EVAL", kEnd, "0", redis_->options().key_prefix, key, std::to_string((options_.l2_ttl * 2).count())};
    co_await redis_->command(std::move(args));
    std::vector<std::string> publish{"PUBLISH", channel_, "i|" + id_ + "|" + std::to_string(seq) + "|" + key};
    co_await redis_->command(std::move(publish));
    published = true;
  } catch (const std::exception&) {
    published = false;
  }
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (Clock::now() - started < options_.lease) {
    if (published) {
      std::lock_guard lock(mutex_);
      bool all = true;
      for (const auto& [replica, acked] : waiting->acked) all = all && acked;
      if (all) break;
    }
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (!published) {
    unconfirmed_.inc();
    log_.warn("cache invalidation not carried by Redis; waited out the lease", {{"lease_ms", options_.lease.count()}});
  }
  std::lock_guard lock(mutex_);
  waiting_.erase(seq);
}

}  // namespace nsl::cache
