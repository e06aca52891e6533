#include "nsl/cache/redis.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>

#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "nsl/core/strings.hpp"

namespace nsl::cache {
namespace {

using Clock = std::chrono::steady_clock;
using Channel = asio::experimental::concurrent_channel<void(boost::system::error_code, Reply)>;

int parse_int(std::string_view key, std::string_view v, int lo, int hi) {
  int out = 0;
  v = trim(v);
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < lo || out > hi) {
    throw std::invalid_argument("Redis connection string: " + std::string(key) + " must be a whole number from " +
                                std::to_string(lo) + " to " + std::to_string(hi));
  }
  return out;
}

void set_endpoint(RedisOptions& o, std::string_view hostport) {
  hostport = trim(hostport);
  if (hostport.empty()) throw std::invalid_argument("Redis connection string: no host");
  const auto colon = hostport.rfind(':');
  if (colon != std::string_view::npos) {
    o.host = std::string(hostport.substr(0, colon));
    o.port = parse_int("port", hostport.substr(colon + 1), 1, 65535);
  } else {
    o.host = std::string(hostport);
  }
}

std::string encode(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::nil;
  }
  return out;
}

struct ReaderDeleter {
  void operator()(redisReader* r) const noexcept { redisReaderFree(r); }
};

}  // namespace

std::string RedisOptions::describe() const {
  return "redis://" + host + ":" + std::to_string(port) + "/" + std::to_string(database);
}

RedisOptions parse_redis_connection_string(std::string_view text) {
  RedisOptions o;
  text = trim(text);
  if (text.starts_with("redis://")) {
    auto rest = text.substr(8);
    if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
      if (rest.size() > slash + 1) o.database = parse_int("database", rest.substr(slash + 1), 0, 255);
      rest = rest.substr(0, slash);
    }
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
      auto user = rest.substr(0, at);
      if (const auto colon = user.find(':'); colon != std::string_view::npos) o.password = std::string(user.substr(colon + 1));
      rest = rest.substr(at + 1);
    }
    set_endpoint(o, rest);
    return o;
  }
  bool first = true;
  for (auto item : split(text, ",")) {
    item = trim(item);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (first && eq == std::string_view::npos) {
      set_endpoint(o, item);
      first = false;
      continue;
    }
    first = false;
    if (eq == std::string_view::npos)
      throw std::invalid_argument("Redis connection string: '" + std::string(item) + "' is not key=value");
    const auto key = to_lower(trim(item.substr(0, eq)));
    const auto value = item.substr(eq + 1);
    if (key == "password")
      o.password = std::string(value);
    else if (key == "defaultdatabase")
      o.database = parse_int("defaultDatabase", value, 0, 255);
    else if (key == "connecttimeout")
      o.connect_timeout_ms = parse_int("connectTimeout", value, 100, 600000);
    else if (key == "synctimeout" || key == "asynctimeout")
      o.command_timeout_ms = parse_int(key, value, 10, 600000);
    else if (key == "prefix" || key == "keyprefix")
      o.key_prefix = std::string(trim(value));
    else if (key == "ssl") {
      if (to_lower(trim(value)) != "false") {
        throw std::invalid_argument(
            "Redis connection string: ssl=true is not supported by this build; keep Redis on a private network");
      }
    } else if (key == "abortconnect" || key == "allowadmin" || key == "name" || key == "user") {
      // Accepted for compatibility with StackExchange.Redis strings; the client never aborts.
    } else {
      throw std::invalid_argument("Redis connection string: unknown option '" + key + "'");
    }
  }
  if (first) throw std::invalid_argument("Redis connection string: no host");
  return o;
}

// One TCP connection, driven by coroutines on a strand.
class RedisClient::Connection : public std::enable_shared_from_this<RedisClient::Connection> {
 public:
  Connection(asio::any_io_executor ex, const RedisOptions& o, metrics::Registry& registry, log::Logger log, bool subscriber)
      : options_(o),
        log_(std::move(log)),
        subscriber_(subscriber),
        strand_(asio::make_strand(ex)),
        socket_(strand_),
        up_gauge_(registry.gauge("nsl_cache_redis_up", "1 while the Redis connection is up", {"connection"})
                      .with({subscriber ? "subscriber" : "commands"})),
        ok_(registry.counter("nsl_cache_redis_commands_total", "Redis commands by outcome", {"outcome"}).with({"ok"})),
        error_(registry.counter("nsl_cache_redis_commands_total", "Redis commands by outcome", {"outcome"}).with({"error"})),
        unavailable_(
            registry.counter("nsl_cache_redis_commands_total", "Redis commands by outcome", {"outcome"}).with({"unavailable"})),
        reconnects_(registry.counter("nsl_cache_redis_reconnects_total", "Redis connections re-established").with({})) {}

  std::string channel;
  std::function<void(const std::string&)> on_message;
  std::function<void()> on_subscribed;

  void start() {
    auto self = shared_from_this();
    asio::co_spawn(
        strand_, [self]() { return self->run(); }, asio::detached);
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    auto self = shared_from_this();
    asio::dispatch(strand_, [self] {
      boost::system::error_code ec;
      self->socket_.close(ec);
      self->wake_.cancel();
    });
  }

  bool up() const noexcept { return up_.load(); }

  asio::awaitable<Reply> command(std::vector<std::string> args) {
    auto ch = std::make_shared<Channel>(co_await asio::this_coro::executor, 1);
    bool start_writer = false;
    {
      std::lock_guard lock(mutex_);
      if (!up_.load() || stopping_) {
        unavailable_.inc();
        throw RedisError(true, "Redis at " + options_.describe() + " is not connected");
      }
      pending_.push_back({ch, Clock::now()});
      out_ += encode(args);
      start_writer = !writing_;
      writing_ = true;
    }
    // Outside the lock: the writer may start on this very thread.
    if (start_writer) {
      auto self = shared_from_this();
      asio::co_spawn(
          strand_, [self]() { return self->write_loop(); }, asio::detached);
    }
    auto [ec, reply] = co_await ch->async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      unavailable_.inc();
      throw RedisError(true, reply.str.empty() ? "Redis connection lost" : reply.str);
    }
    if (reply.type == Reply::Type::error) {
      error_.inc();
      throw RedisError(false, "Redis: " + reply.str);
    }
    ok_.inc();
    co_return reply;
  }

 private:
  struct Pending {
    std::shared_ptr<Channel> channel;
    Clock::time_point sent;
  };

  asio::awaitable<void> write_loop() {
    while (true) {
      std::string buf;
      {
        std::lock_guard lock(mutex_);
        if (out_.empty()) {
          writing_ = false;
          co_return;
        }
        buf.swap(out_);
      }
      auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec) {
        boost::system::error_code ignored;
        socket_.close(ignored);  // the reader fails the pending commands
        std::lock_guard lock(mutex_);
        writing_ = false;
        out_.clear();
        co_return;
      }
    }
  }

  // Reads until one reply is complete; false when the connection failed.
  asio::awaitable<bool> read_reply(Reply& out) {
    while (true) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) co_return false;  // protocol error
      if (raw) {
        out = convert(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        co_return true;
      }
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer_), asio::as_tuple(asio::use_awaitable));
      if (ec) co_return false;
      redisReaderFeed(reader_.get(), buffer_.data(), n);
    }
  }

  void fail_all(const std::string& why) {
    std::deque<Pending> failed;
    {
      std::lock_guard lock(mutex_);
      up_ = false;
      failed.swap(pending_);
      out_.clear();
    }
    up_gauge_.set(0);
    for (auto& p : failed) {
      Reply r;
      r.str = why;
      p.channel->try_send(asio::error::connection_aborted, std::move(r));
    }
  }

  // Drops the connection when the oldest command waits longer than the command timeout.
  asio::awaitable<void> watchdog(std::uint64_t generation) {
    asio::steady_timer t(strand_);
    while (generation == generation_ && !stopping_) {
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      bool late = false;
      {
        std::lock_guard lock(mutex_);
        late = !pending_.empty() && Clock::now() - pending_.front().sent > std::chrono::milliseconds(options_.command_timeout_ms);
      }
      if (late && generation == generation_) {
        timed_out_ = true;
        boost::system::error_code ec;
        socket_.close(ec);
      }
    }
  }

  asio::awaitable<bool> handshake() {
    std::vector<std::vector<std::string>> steps;
    if (!options_.password.empty()) steps.push_back({"AUTH", options_.password});
    if (options_.database != 0) steps.push_back({"SELECT", std::to_string(options_.database)});
    if (subscriber_) steps.push_back({"SUBSCRIBE", channel});
    for (const auto& step : steps) {
      const auto bytes = encode(step);
      auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec) co_return false;
      Reply r;
      if (!co_await read_reply(r)) co_return false;
      if (r.type == Reply::Type::error) {
        // A wrong password is an operator's mistake: say so (without the password).
        log_.error("Redis refused the connection setup",
                   {{"redis", options_.describe()}, {"command", step[0]}, {"error", r.str}});
        co_return false;
      }
    }
    co_return true;
  }

  asio::awaitable<void> run() {
    auto backoff = std::chrono::milliseconds(100);
    bool was_up = false;
    bool ever_up = false;
    asio::ip::tcp::resolver resolver(strand_);
    while (!stopping_) {
      reader_.reset(redisReaderCreate());
      timed_out_ = false;
      bool ok = false;
      auto [rec, endpoints] =
          co_await resolver.async_resolve(options_.host, std::to_string(options_.port), asio::as_tuple(asio::use_awaitable));
      if (!rec) {
        socket_ = asio::ip::tcp::socket(strand_);
        asio::steady_timer deadline(strand_, std::chrono::milliseconds(options_.connect_timeout_ms));
        auto self = shared_from_this();
        deadline.async_wait([self](boost::system::error_code ec) {
          if (!ec && !self->up_.load()) {
            boost::system::error_code ignored;
            self->socket_.close(ignored);
          }
        });
        auto [cec, ep] = co_await asio::async_connect(socket_, endpoints, asio::as_tuple(asio::use_awaitable));
        (void)ep;
        if (!cec) {
          socket_.set_option(asio::ip::tcp::no_delay(true));
          ok = co_await handshake();
        }
        deadline.cancel();
      }
      if (ok && !stopping_) {
        ++generation_;
        {
          std::lock_guard lock(mutex_);
          up_ = true;
        }
        up_gauge_.set(1);
        if (ever_up) reconnects_.inc();
        ever_up = true;
        was_up = true;
        backoff = std::chrono::milliseconds(100);
        log_.info("connected to Redis",
                  {{"redis", options_.describe()}, {"connection", subscriber_ ? "subscriber" : "commands"}});
        if (subscriber_ && on_subscribed) on_subscribed();
        if (!subscriber_) asio::co_spawn(strand_, watchdog(generation_), asio::detached);
        while (true) {
          Reply r;
          if (!co_await read_reply(r)) break;
          if (subscriber_) {
            if (r.type == Reply::Type::array && r.elements.size() == 3 && r.elements[0].str == "message" && on_message) {
              on_message(r.elements[2].str);
            }
            continue;
          }
          Pending p;
          {
            std::lock_guard lock(mutex_);
            if (pending_.empty()) continue;  // cannot happen with a well-behaved server
            p = std::move(pending_.front());
            pending_.pop_front();
          }
          p.channel->try_send(boost::system::error_code{}, std::move(r));
        }
        ++generation_;
      }
      boost::system::error_code ignored;
      socket_.close(ignored);
      fail_all(timed_out_ ? "Redis did not answer within " + std::to_string(options_.command_timeout_ms) + " ms"
                          : "the Redis connection was lost");
      if (stopping_) break;
      if (was_up) {
        log_.warn("Redis connection lost; serving without it and reconnecting", {{"redis", options_.describe()}});
        was_up = false;
      }
      wake_.expires_after(backoff);
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }

  RedisOptions options_;
  log::Logger log_;
  bool subscriber_;
  asio::strand<asio::any_io_executor> strand_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer wake_{strand_};
  std::unique_ptr<redisReader, ReaderDeleter> reader_;
  std::array<char, 16384> buffer_{};
  std::mutex mutex_;
  std::deque<Pending> pending_;
  std::string out_;
  bool writing_ = false;
  bool stopping_ = false;
  bool timed_out_ = false;
  std::atomic<bool> up_{false};
  std::uint64_t generation_ = 0;
  metrics::Gauge& up_gauge_;
  metrics::Counter& ok_;
  metrics::Counter& error_;
  metrics::Counter& unavailable_;
  metrics::Counter& reconnects_;
};

RedisClient::RedisClient(asio::any_io_executor executor, RedisOptions options, metrics::Registry& registry, log::Logger log)
    : options_(std::move(options)),
      log_(log),
      commands_(std::make_shared<Connection>(executor, options_, registry, log, false)),
      subscriber_(std::make_shared<Connection>(executor, options_, registry, log, true)) {}

RedisClient::~RedisClient() {
  try {
    stop();
  } catch (...) {
    // Closing sockets at destruction: nothing left to report to.
  }
}

void RedisClient::start() {
  commands_->start();
  if (!subscriber_->channel.empty()) subscriber_->start();
}

void RedisClient::stop() {
  commands_->stop();
  subscriber_->stop();
}

bool RedisClient::connected() const noexcept { return commands_->up(); }

asio::awaitable<Reply> RedisClient::command(std::vector<std::string> args) {
  co_return co_await commands_->command(std::move(args));
}

void RedisClient::subscribe(std::string channel, std::function<void(const std::string&)> on_message,
                            std::function<void()> on_subscribed) {
  subscriber_->channel = std::move(channel);
  subscriber_->on_message = std::move(on_message);
  subscriber_->on_subscribed = std::move(on_subscribed);
}

}  // namespace nsl::cache
