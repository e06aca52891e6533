#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/core/errors.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"

namespace nsl::cache {

/// `ConnectionStrings:Redis` in the guide's form `host:port,password=...,defaultDatabase=N,
/// connectTimeout=MS,syncTimeout=MS,abortConnect=false,ssl=false` or `redis://:password@host:port/N`.
struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int database = 0;
  int connect_timeout_ms = 5000;
  int command_timeout_ms = 1000;    // a command unanswered this long drops the connection
  std::string key_prefix = "nsl:";  // every key and channel nsl uses starts with it
  /// `redis://host:port/N`: never the password.
  std::string describe() const;
};

/// Parses a Redis connection string; throws std::invalid_argument naming the wrong option.
/// `ssl=true` is refused: this build speaks plain TCP (keep Redis on a private network).
RedisOptions parse_redis_connection_string(std::string_view text);

/// One reply, as RESP2 gives it.
struct Reply {
  enum class Type { nil, integer, string, array, status, error };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string str;
  std::vector<Reply> elements;
};

/// Redis is not connected, did not answer in time, or answered with an error. Transient except
/// for an error reply.
class RedisError : public DependencyError {
 public:
  RedisError(bool transient, const std::string& message) : DependencyError("cache", transient, message) {}
};

/// An asynchronous Redis client on Asio: commands are pipelined on one connection (replies are
/// parsed with hiredis's reader) and awaited by any number of coroutines on any thread. It
/// connects in the background and reconnects with back-off (0.1 s doubling to 5 s); while it is
/// not connected, commands fail at once with RedisError rather than queueing, so callers fall
/// back to the database. Subscriptions run on a second connection and are renewed on reconnect.
/// Exported: `nsl_cache_redis_up`, `nsl_cache_redis_commands_total{outcome}`,
/// `nsl_cache_redis_reconnects_total`.
class RedisClient {
 public:
  RedisClient(asio::any_io_executor executor, RedisOptions options, metrics::Registry& registry, log::Logger log);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// Starts connecting. Call once.
  void start();
  /// Closes the connections and stops reconnecting; pending commands fail.
  void stop();
  bool connected() const noexcept;
  const RedisOptions& options() const noexcept { return options_; }

  /// Sends one command and awaits its reply. Throws RedisError when not connected, on timeout,
  /// or for an error reply.
  asio::awaitable<Reply> command(std::vector<std::string> args);

  /// Subscribes to `channel` (set before start()). `on_message` gets each payload in order;
  /// `on_subscribed` runs after every (re)subscription — messages sent while the subscription
  /// was down are lost, so subscribers resynchronise there.
  void subscribe(std::string channel, std::function<void(const std::string&)> on_message, std::function<void()> on_subscribed);

 private:
  class Connection;
  RedisOptions options_;
  log::Logger log_;
  std::shared_ptr<Connection> commands_;
  std::shared_ptr<Connection> subscriber_;
};

}  // namespace nsl::cache
