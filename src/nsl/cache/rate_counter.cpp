#include "nsl/cache/rate_counter.hpp"

namespace nsl::cache {
namespace {

// Returns {allowed, wait_ms, remaining, reset_ms}.
constexpr const char* kAcquire = R"lua(
local p, k = ARGV[1], ARGV[2]
local w, limit, qlimit = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local start = now - (now % w)
local reset = start + w - now
local cur = p .. 'rl:' .. k .. ':' .. start
local used = redis.call('INCR', cur)
if used == 1 then redis.call('PEXPIRE', cur, w * 3) end
if used <= limit then return {1, 0, limit - used, reset} end
redis.call('DECR', cur)
if ARGV[6] == '1' and qlimit > 0 then
  local nxt = p .. 'rl:' .. k .. ':' .. (start + w)
  local reserved = redis.call('INCR', nxt)
  if reserved == 1 then redis.call('PEXPIRE', nxt, w * 3) end
  if reserved <= math.min(qlimit, limit) then return {1, reset, 0, reset} end
  redis.call('DECR', nxt)
end
return {0, 0, 0, reset}
)lua";

}  // namespace

asio::awaitable<std::optional<http::RateLimiter::Decision>> RedisRateCounter::acquire(const std::string& key,
                                                                                      const http::RateLimitSettings& settings) {
  if (!settings.enabled || !redis_.connected()) co_return std::nullopt;
  std::vector<std::string> args{"EVAL",
                                kAcquire,
                                "0",
                                redis_.options().key_prefix,
                                key,
                                std::to_string(std::max<long long>(1, settings.window.count())),
                                std::to_string(settings.permit_limit),
                                std::to_string(settings.queue_limit),
                                settings.oldest_first ? "1" : "0"};
  std::optional<Reply> reply;
  try {
    reply = co_await redis_.command(std::move(args));
  } catch (const std::exception&) {
    reply.reset();
  }
  if (!reply || reply->type != Reply::Type::array || reply->elements.size() != 4) co_return std::nullopt;
  http::RateLimiter::Decision d;
  d.allowed = reply->elements[0].integer == 1;
  d.wait = std::chrono::milliseconds(reply->elements[1].integer);
  d.limit = settings.permit_limit;
  d.remaining = static_cast<int>(reply->elements[2].integer);
  d.reset = std::chrono::milliseconds(reply->elements[3].integer);
  co_return d;
}

}  // namespace nsl::cache
