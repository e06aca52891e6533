#include "nsl/http/server.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/http/tls.hpp"

namespace nsl::http {
namespace {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// The kind of failure a read error means for the client, or nullopt when the connection is
// simply gone (closed, reset, idle timeout) and nothing should be sent.
std::optional<RequestError> classify_read_error(const beast::error_code& ec) {
  if (ec == beast_http::error::body_limit) {
    return RequestError(ErrorKind::payload_too_large, "the request body exceeds the server's limit");
  }
  if (ec == beast_http::error::header_limit) {
    return RequestError(ErrorKind::headers_too_large, "the request headers exceed the server's limit");
  }
  if (ec == beast::error::timeout) {
    return RequestError(ErrorKind::request_timeout, "the request was not received in time");
  }
  if (ec.category() == beast_http::make_error_code(beast_http::error::bad_target).category() &&
      ec != beast_http::error::end_of_stream && ec != beast_http::error::partial_message) {
    return RequestError(ErrorKind::bad_request, "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

}  // namespace

// One connection's state, shared between its coroutine (on the connection's strand) and the
// server's sweeper. The sweeper reads `phase` and `deadline` from any thread and acts on the
// strand, so a request costs a few atomic stores rather than a timer per read.
struct Server::Session {
  enum Phase : int { idle, reading, handling, writing };
  explicit Session(asio::any_io_executor ex) : executor(std::move(ex)) {}

  void set(Phase p, std::chrono::steady_clock::time_point until) {
    phase.store(p, std::memory_order_relaxed);
    deadline.store(until.time_since_epoch().count(), std::memory_order_relaxed);
  }
  // Whether a request has begun to arrive (only on the strand).
  bool request_started() const { return buffer && (buffer->size() > 0 || (parser && parser->got_some())); }

  asio::any_io_executor executor;    // the connection's strand
  asio::cancellation_signal cancel;  // bound to the session coroutine; emitted on the strand
  // Touched only on the strand; null once the connection is finished.
  beast::tcp_stream* stream = nullptr;
  beast::flat_buffer* buffer = nullptr;
  beast_http::request_parser<beast_http::string_body>* parser = nullptr;
  bool read_timed_out = false;

  std::atomic<int> phase{idle};
  std::atomic<std::chrono::steady_clock::rep> deadline{std::numeric_limits<std::chrono::steady_clock::rep>::max()};
};

namespace {

// Renders the status line and header block into `head` (reused per connection). One gathered
// write of head + body replaces Beast's serializer, whose cost grows with every header field
// and which showed up as a tenth of the request path in profiles.
void render_head(const Response& res, std::string& head) {
  head.clear();
  head += res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  char code[4];
  const unsigned status = res.result_int();
  code[0] = static_cast<char>('0' + status / 100 % 10);
  code[1] = static_cast<char>('0' + status / 10 % 10);
  code[2] = static_cast<char>('0' + status % 10);
  code[3] = ' ';
  head.append(code, 4);
  head += beast_http::obsolete_reason(res.result());
  head += "\r\n";
  bool has_length = false;
  for (const auto& f : res) {
    has_length = has_length || f.name() == Field::content_length;
    head += f.name_string();
    head += ": ";
    head += f.value();
    head += "\r\n";
  }
  if (!has_length) {
    head += "Content-Length: ";
    head += std::to_string(res.body().size());
    head += "\r\n";
  }
  head += "\r\n";
}

template <class Stream>
asio::awaitable<boost::system::error_code> write_response(Stream& stream, const Response& res, std::string& head) {
  render_head(res, head);
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(res.body())};
  auto [ec, n] = co_await asio::async_write(stream, buffers, kAsTuple);
  (void)n;
  co_return ec;
}

void close_stream(beast::tcp_stream& stream) {
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().cancel(ignored);
}

}  // namespace

Server::Server(asio::io_context& ioc, ServerOptions options, Pipeline& pipeline, metrics::Registry& registry, log::Sink& logs)
    : ioc_(ioc), options_(std::move(options)), pipeline_(pipeline), log_(logs.get("http.server")) {
  // The sweeper's resolution: a quarter of the shortest timeout, between 10 ms and 1 s.
  const auto shortest = std::min(
      {options_.request_headers_timeout, options_.keep_alive_timeout, options_.write_timeout, pipeline_.service_timeout()});
  sweep_interval_ = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(shortest / 4), std::chrono::milliseconds(10),
                               std::chrono::milliseconds(1000));
  registry.add_collector([this](std::vector<metrics::Registry::Sample>& out) {
    out.push_back({"api_active_connections",
                   "Open client connections.",
                   metrics::Type::gauge,
                   {{"service", options_.name}},
                   static_cast<double>(active_connections())});
  });
}

Server::~Server() = default;

void Server::listen(const std::vector<ListenAddress>& addresses) {
  for (const auto& a : addresses) {
    if (a.tls && !tls_)
      throw StartupError("cannot listen on " + a.text + ": HTTPS needs Server:Certificate:Path and Server:Certificate:KeyPath");
    beast::error_code ec;
    const auto address = asio::ip::make_address(a.host, ec);
    if (ec) throw StartupError("cannot listen on " + a.text + ": \"" + a.host + "\" is not an IP address");
    auto acceptor = std::make_unique<Acceptor>(asio::make_strand(ioc_));
    const tcp::endpoint endpoint(address, a.port);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && address.is_v6()) acceptor->set_option(asio::ip::v6_only(false), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw StartupError("cannot listen on " + a.text + ": " + ec.message());
    acceptors_.push_back(std::move(acceptor));
    acceptor_tls_.push_back(a.tls);
  }
}

std::vector<bool> Server::local_tls() const { return acceptor_tls_; }

std::vector<tcp::endpoint> Server::local_endpoints() const {
  std::vector<tcp::endpoint> out;
  for (const auto& a : acceptors_) {
    beast::error_code ec;
    out.push_back(a->local_endpoint(ec));
  }
  return out;
}

void Server::start() {
  for (std::size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(acceptors_[i]->get_executor(), accept_loop(*acceptors_[i], acceptor_tls_[i]), asio::detached);
  }
  asio::co_spawn(asio::make_strand(ioc_), sweep(), asio::detached);
}

// Enforces every connection's deadline: idle and write timeouts close the connection; a request
// read that takes too long is cancelled so that the session answers 408. An idle connection on
// which bytes have arrived becomes a request being read, under the (shorter) headers timeout.
asio::awaitable<void> Server::sweep() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping()) {
    timer.expires_after(sweep_interval_);
    co_await timer.async_wait(kAsTuple);
    const auto now = std::chrono::steady_clock::now();
    const auto now_rep = now.time_since_epoch().count();
    std::lock_guard lock(sessions_mutex_);
    for (const auto& s : sessions_) {
      const int phase = s->phase.load(std::memory_order_relaxed);
      const bool expired = s->deadline.load(std::memory_order_relaxed) <= now_rep;
      if (!expired && phase != Session::idle) continue;
      asio::post(s->executor, [s, now, headers_timeout = options_.request_headers_timeout] {
        if (!s->stream) return;
        const int p = s->phase.load(std::memory_order_relaxed);
        if (p == Session::idle && s->request_started()) {
          s->set(Session::reading, now + headers_timeout);
          return;
        }
        if (s->deadline.load(std::memory_order_relaxed) > now.time_since_epoch().count()) return;
        if (p == Session::handling) {
          // The handler's deadline: cancel what it awaits; the pipeline answers 504.
          s->deadline.store(std::numeric_limits<std::chrono::steady_clock::rep>::max(), std::memory_order_relaxed);
          s->cancel.emit(asio::cancellation_type::terminal);
        } else if (p == Session::reading) {
          s->read_timed_out = true;
          beast::error_code ignored;
          s->stream->socket().cancel(ignored);
        } else if (p == Session::idle || p == Session::writing) {
          close_stream(*s->stream);
        }
      });
    }
  }
}

asio::awaitable<void> Server::accept_loop(Acceptor& acceptor, bool tls) {
  while (!stopping()) {
    auto strand = asio::make_strand(ioc_);
    auto [ec, socket] = co_await acceptor.async_accept(strand, kAsTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping()) co_return;
      log_.warn("accept failed", {{"error", ec.message()}});
      // Out of descriptors or similar: back off instead of spinning.
      asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    auto state = std::make_shared<Session>(strand);
    auto slot = state->cancel.slot();
    // The completion handler keeps the session (and so the cancellation signal its slot refers
    // to) alive until co_spawn has finished with the slot, which is after the coroutine's frame
    // is gone.
    asio::co_spawn(strand, session(std::move(socket), state, tls),
                   asio::bind_cancellation_slot(slot, [keep = state](const std::exception_ptr&) {}));
  }
}

asio::awaitable<void> Server::session(tcp::socket socket, std::shared_ptr<Session> state, bool tls) {
  using Clock = std::chrono::steady_clock;
  active_.fetch_add(1, std::memory_order_relaxed);
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  ConnectionInfo info;
  info.tls = tls;
  if (auto remote = socket.remote_endpoint(ignored); !ignored) {
    info.remote = remote.address();
    info.remote_port = remote.port();
  }
  beast::flat_buffer buffer;
  state->buffer = &buffer;
  // A new connection must start its request (and its TLS handshake) within the headers timeout.
  state->set(Session::idle, Clock::now() + options_.request_headers_timeout);
  std::list<std::shared_ptr<Session>>::iterator self;
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.push_front(state);
    self = sessions_.begin();
  }

  beast::tcp_stream* raw = nullptr;
  bool linger = false;
  if (tls) {
    // The context in use when the connection arrived stays with it (a reload affects new ones).
    auto context = tls_->context();
    asio::ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *context);
    raw = &stream.next_layer();
    state->stream = raw;
    auto [hs_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kAsTuple);
    if (!hs_ec) linger = co_await exchange(stream, *state, info);
    co_await finish_connection(*raw, *state, linger);
    state->stream = nullptr;
  } else {
    beast::tcp_stream stream(std::move(socket));
    raw = &stream;
    state->stream = raw;
    linger = co_await exchange(stream, *state, info);
    co_await finish_connection(*raw, *state, linger);
    state->stream = nullptr;
  }
  state->buffer = nullptr;
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(self);
  }
  active_.fetch_sub(1, std::memory_order_relaxed);
}

asio::awaitable<void> Server::finish_connection(beast::tcp_stream& raw, Session& state, bool linger) {
  beast::error_code ignored;
  raw.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (linger) {
    state.set(Session::writing, std::chrono::steady_clock::now() + std::chrono::seconds(2));
    auto& buffer = *state.buffer;
    std::size_t drained = 0;
    while (drained < (16u << 20)) {
      auto [ec, n] = co_await raw.async_read_some(buffer.prepare(65536), kAsTuple);
      if (ec) break;
      buffer.consume(buffer.size());
      drained += n;
    }
  }
  raw.socket().close(ignored);
}

template <class Stream>
asio::awaitable<bool> Server::exchange(Stream& stream, Session& state, const ConnectionInfo& info) {
  using Clock = std::chrono::steady_clock;
  auto& buffer = *state.buffer;
  std::string head;  // response head, reused for every response on this connection
  head.reserve(1024);
  while (!stopping() || buffer.size() > 0) {
    beast_http::request_parser<beast_http::string_body> parser;
    parser.header_limit(options_.max_request_headers_bytes);
    parser.body_limit(options_.max_request_body_bytes);
    state.parser = &parser;
    state.read_timed_out = false;
    if (buffer.size() > 0) state.set(Session::reading, Clock::now() + options_.request_headers_timeout);
    auto [read_ec, read_n] = co_await beast_http::async_read(stream, buffer, parser, kAsTuple);
    (void)read_n;
    state.parser = nullptr;
    if (read_ec) {
      auto error = classify_read_error(state.read_timed_out ? beast::error::timeout : read_ec);
      if (!error) co_return false;
      const Request* partial = parser.is_header_done() ? &parser.get() : nullptr;
      auto res = pipeline_.reject(*error, info, partial);
      res.keep_alive(false);
      state.set(Session::writing, Clock::now() + options_.write_timeout);
      co_await write_response(stream, res, head);
      co_return true;
    }
    state.set(Session::handling, Clock::now() + pipeline_.service_timeout());
    auto& request = parser.get();
    auto res = co_await pipeline_.handle(request, info);
    // A deadline cancellation ends with the handler; the connection goes on.
    co_await asio::this_coro::reset_cancellation_state();
    res.version(request.version());
    const bool keep_alive = request.keep_alive() && !stopping();
    res.keep_alive(keep_alive);
    state.set(Session::writing, Clock::now() + options_.write_timeout);
    const auto write_ec = co_await write_response(stream, res, head);
    if (write_ec || !keep_alive) co_return false;
    state.set(Session::idle, Clock::now() + options_.keep_alive_timeout);
  }
  co_return false;
}

void Server::close_sessions(bool idle_only) {
  std::lock_guard lock(sessions_mutex_);
  for (const auto& s : sessions_) {
    asio::post(s->executor, [s, idle_only] {
      if (!s->stream) return;
      // Idle means waiting for a request of which not one byte has arrived.
      const bool idle = s->phase.load(std::memory_order_relaxed) == Session::idle && !s->request_started();
      if (!idle_only || idle) close_stream(*s->stream);
    });
  }
}

asio::awaitable<std::size_t> Server::shutdown(std::chrono::milliseconds grace) {
  stopping_.store(true);
  for (auto& a : acceptors_) {
    asio::post(a->get_executor(), [acc = a.get()] {
      beast::error_code ignored;
      acc->close(ignored);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer tick(ex);
  // Idle connections are closed now and again on every tick: one that was busy when shutdown
  // began becomes idle only if a keep-alive slipped through, and is closed then.
  while (active_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
    close_sessions(true);
    tick.expires_after(std::chrono::milliseconds(20));
    co_await tick.async_wait(kAsTuple);
  }
  const std::size_t forced = active_connections();
  if (forced > 0) {
    log_.warn("shutdown grace period over; closing connections still busy", {{"connections", forced}});
    close_sessions(false);
    // A handler still running notices only at its next await; give it a moment, no more.
    const auto hard_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (active_connections() > 0 && std::chrono::steady_clock::now() < hard_deadline) {
      tick.expires_after(std::chrono::milliseconds(5));
      co_await tick.async_wait(kAsTuple);
    }
  }
  co_return forced;
}

}  // namespace nsl::http
