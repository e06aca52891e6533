#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "nsl/core/asio.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/http/pipeline.hpp"

namespace nsl::http {

/// Limits and timeouts of one HTTP listener set.
struct ServerOptions {
  std::string name = "nsl";  // the `service` label of api_active_connections
  std::uint64_t max_request_body_bytes = 4u << 20;
  std::uint32_t max_request_headers_bytes = 32u << 10;
  std::chrono::milliseconds request_headers_timeout{30'000};  // also bounds reading the body
  std::chrono::milliseconds keep_alive_timeout{120'000};
  std::chrono::milliseconds write_timeout{30'000};
};

/// An address to listen on.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
  std::string text;  // as configured, for messages
  bool tls = false;  // HTTPS: needs set_tls()
};

class TlsCertificate;

/// HTTP/1.1 server on Beast, plain or over TLS: keep-alive, header and body limits, read and idle
/// timeouts (the TLS handshake counts as reading the request), and a graceful shutdown that stops
/// accepting, closes idle connections and lets requests already being read or handled finish
/// (their responses carry `Connection: close`).
class Server {
 public:
  Server(asio::io_context& ioc, ServerOptions options, Pipeline& pipeline, metrics::Registry& registry, log::Sink& logs);
  ~Server();

  /// The certificate HTTPS listeners serve (new connections take its newest context).
  void set_tls(const TlsCertificate* tls) { tls_ = tls; }
  /// Binds every address. Throws StartupError naming the address that failed.
  void listen(const std::vector<ListenAddress>& addresses);
  /// The bound endpoints (with the real port when port 0 was asked for).
  std::vector<asio::ip::tcp::endpoint> local_endpoints() const;
  /// Whether each bound endpoint (in the same order) speaks TLS.
  std::vector<bool> local_tls() const;
  /// Starts accepting on every bound address.
  void start();
  /// Graceful shutdown; completes when every connection is closed or `grace` has passed
  /// (then the remaining connections are closed). Returns the number closed forcibly.
  asio::awaitable<std::size_t> shutdown(std::chrono::milliseconds grace);

  std::size_t active_connections() const noexcept { return active_.load(std::memory_order_relaxed); }
  bool stopping() const noexcept { return stopping_.load(std::memory_order_relaxed); }

 private:
  struct Session;
  using Acceptor = asio::ip::tcp::acceptor;

  asio::awaitable<void> accept_loop(Acceptor& acceptor, bool tls);
  asio::awaitable<void> session(asio::ip::tcp::socket socket, std::shared_ptr<Session> state, bool tls);
  /// Requests and responses on one connection until it ends; true when an error response was
  /// sent and the client may still be sending.
  template <class Stream>
  asio::awaitable<bool> exchange(Stream& stream, Session& state, const ConnectionInfo& info);
  /// Ends the connection; after an error response, first reads and discards what the client is
  /// still sending (for a moment) so that it sees the response rather than a reset.
  asio::awaitable<void> finish_connection(boost::beast::tcp_stream& raw, Session& state, bool linger);
  asio::awaitable<void> sweep();
  void close_sessions(bool idle_only);

  asio::io_context& ioc_;
  ServerOptions options_;
  Pipeline& pipeline_;
  log::Logger log_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::vector<bool> acceptor_tls_;
  const TlsCertificate* tls_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> active_{0};
  std::mutex sessions_mutex_;
  std::list<std::shared_ptr<Session>> sessions_;
  std::chrono::milliseconds sweep_interval_;
};

}  // namespace nsl::http
