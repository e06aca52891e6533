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
};

/// HTTP/1.1 server on Beast: keep-alive, header and body limits, read and idle timeouts, and a
/// graceful shutdown that stops accepting, closes idle connections and lets requests already
/// being read or handled finish (their responses carry `Connection: close`).
class Server {
 public:
  Server(asio::io_context& ioc, ServerOptions options, Pipeline& pipeline, metrics::Registry& registry, log::Sink& logs);
  ~Server();

  /// Binds every address. Throws StartupError naming the address that failed.
  void listen(const std::vector<ListenAddress>& addresses);
  /// The bound endpoints (with the real port when port 0 was asked for).
  std::vector<asio::ip::tcp::endpoint> local_endpoints() const;
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

  asio::awaitable<void> accept_loop(Acceptor& acceptor);
  asio::awaitable<void> session(asio::ip::tcp::socket socket, std::shared_ptr<Session> state);
  asio::awaitable<void> sweep();
  void close_sessions(bool idle_only);

  asio::io_context& ioc_;
  ServerOptions options_;
  Pipeline& pipeline_;
  log::Logger log_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> active_{0};
  std::mutex sessions_mutex_;
  std::list<std::shared_ptr<Session>> sessions_;
  std::chrono::milliseconds sweep_interval_;
};

}  // namespace nsl::http
