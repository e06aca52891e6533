#include "nsl/http/server.hpp"

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
#include <boost/beast/http/write.hpp>

#include "nsl/core/errors.hpp"

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
  if (ec.category() == beast_http::make_error_code(beast_http::error::bad_target).category() && ec != beast_http::error::end_of_stream &&
      ec != beast_http::error::partial_message) {
    return RequestError(ErrorKind::bad_request, "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

}  // namespace

struct Server::Session {
  explicit Session(asio::any_io_executor ex) : executor(ex), read_timer(ex) {}
  asio::any_io_executor executor;  // the connection's strand
  beast::tcp_stream* stream = nullptr;  // touched only on the strand
  bool idle = true;                      // waiting for the first byte of a request
  // Bounds reading one request. Unlike the stream's own expiry it cancels the read instead of
  // closing the socket, so that a 408 can still be sent.
  asio::steady_timer read_timer;
  bool read_timed_out = false;
};

Server::Server(asio::io_context& ioc, ServerOptions options, Pipeline& pipeline, metrics::Registry& registry,
               log::Sink& logs)
    : ioc_(ioc), options_(std::move(options)), pipeline_(pipeline), log_(logs.get("http.server")) {
  registry.add_collector([this](std::vector<metrics::Registry::Sample>& out) {
    out.push_back({"api_active_connections", "Open client connections.", metrics::Type::gauge,
                   {{"service", options_.name}}, static_cast<double>(active_connections())});
  });
}

Server::~Server() = default;

void Server::listen(const std::vector<ListenAddress>& addresses) {
  for (const auto& a : addresses) {
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
  }
}

std::vector<tcp::endpoint> Server::local_endpoints() const {
  std::vector<tcp::endpoint> out;
  for (const auto& a : acceptors_) {
    beast::error_code ec;
    out.push_back(a->local_endpoint(ec));
  }
  return out;
}

void Server::start() {
  for (auto& a : acceptors_) {
    asio::co_spawn(a->get_executor(), accept_loop(*a), asio::detached);
  }
}

asio::awaitable<void> Server::accept_loop(Acceptor& acceptor) {
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
    asio::co_spawn(strand, session(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> Server::session(tcp::socket socket) {
  active_.fetch_add(1, std::memory_order_relaxed);
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  ConnectionInfo info;
  if (auto remote = socket.remote_endpoint(ignored); !ignored) {
    info.remote = remote.address();
    info.remote_port = remote.port();
  }
  beast::tcp_stream stream(std::move(socket));
  auto state = std::make_shared<Session>(stream.get_executor());
  state->stream = &stream;
  std::list<std::shared_ptr<Session>>::iterator self;
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.push_front(state);
    self = sessions_.begin();
  }

  beast::flat_buffer buffer;
  bool first = true;
  bool linger = false;
  while (true) {
    // Wait for the first byte of the next request as an idle connection, which a shutdown may
    // close; from then on the request is in progress and will be answered.
    if (buffer.size() == 0) {
      if (stopping()) break;
      state->idle = true;
      stream.expires_after(first ? options_.request_headers_timeout : options_.keep_alive_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kAsTuple);
      state->idle = false;
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    beast_http::request_parser<beast_http::string_body> parser;
    parser.header_limit(options_.max_request_headers_bytes);
    parser.body_limit(options_.max_request_body_bytes);
    stream.expires_never();
    state->read_timed_out = false;
    state->read_timer.expires_after(options_.request_headers_timeout);
    state->read_timer.async_wait([state](const beast::error_code& ec) {
      if (ec || !state->stream) return;
      state->read_timed_out = true;
      beast::error_code ignored_ec;
      state->stream->socket().cancel(ignored_ec);
    });
    auto [read_ec, read_n] = co_await beast_http::async_read(stream, buffer, parser, kAsTuple);
    (void)read_n;
    state->read_timer.cancel();
    if (read_ec) {
      auto error = classify_read_error(state->read_timed_out ? beast::error::timeout : read_ec);
      if (!error) break;
      const Request* partial = parser.is_header_done() ? &parser.get() : nullptr;
      auto res = pipeline_.reject(*error, info, partial);
      res.keep_alive(false);
      stream.expires_after(options_.write_timeout);
      co_await beast_http::async_write(stream, res, kAsTuple);
      linger = true;
      break;
    }
    auto& request = parser.get();
    auto res = co_await pipeline_.handle(request, info);
    res.version(request.version());
    const bool keep_alive = request.keep_alive() && !stopping();
    res.keep_alive(keep_alive);
    stream.expires_after(options_.write_timeout);
    auto [write_ec, written] = co_await beast_http::async_write(stream, res, kAsTuple);
    (void)written;
    if (write_ec || !keep_alive) break;
  }

  if (linger) {
    // After an error response the client may still be sending: read and discard for a moment
    // so it sees the response instead of a connection reset.
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds(2));
    std::size_t drained = 0;
    while (drained < (16u << 20)) {
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(65536), kAsTuple);
      if (ec) break;
      buffer.consume(buffer.size());
      drained += n;
    }
  } else {
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
  state->stream = nullptr;
  state->read_timer.cancel();
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(self);
  }
  stream.socket().close(ignored);
  active_.fetch_sub(1, std::memory_order_relaxed);
}

void Server::close_sessions(bool idle_only) {
  std::lock_guard lock(sessions_mutex_);
  for (const auto& s : sessions_) {
    asio::post(s->executor, [s, idle_only] {
      if (s->stream && (!idle_only || s->idle)) {
        beast::error_code ignored;
        s->stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        s->stream->socket().cancel(ignored);
      }
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
