#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/core/thread_pool.hpp"

namespace nsl::http {

/// One outbound HTTP request.
struct OutboundRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10'000};  // the whole exchange, connect included
  std::size_t max_response_bytes = std::size_t{16} << 20;
};

/// What came back.
struct OutboundResponse {
  long status = 0;
  std::string body;
  std::string content_type;
};

/// An outbound request that got no HTTP answer. `kind` lets callers decide to retry or fail over.
class OutboundError : public std::runtime_error {
 public:
  enum class Kind { timeout, connect, tls, too_large, invalid_url, other };
  OutboundError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }
  /// Worth retrying, possibly on another endpoint.
  bool transient() const noexcept { return kind_ == Kind::timeout || kind_ == Kind::connect || kind_ == Kind::other; }

 private:
  Kind kind_;
};

/// Settings of one outbound dependency's client.
struct HttpClientOptions {
  std::string dependency;  // the `dependency` label of its metrics ("neox-rpc", "oracle-source", ...)
  std::size_t threads = 4;
  std::string user_agent = "nsl";
  /// A PEM file of the certificate authorities to trust instead of the system's (an operator's
  /// own CA); empty: the system CAs. Read at construction: a file that is missing or holds no
  /// certificate is refused then.
  std::string ca_bundle = {};
  /// Refuse plain http:// URLs (a dependency that must be reached over TLS).
  bool https_only = false;
};

/// HTTP(S) client for one outbound dependency: libcurl on a named thread pool, TLS 1.2 or newer
/// with the peer's certificate chain and host name always verified (against the system CAs or
/// `ca_bundle`); redirects are never followed, so an answer cannot move a request to plain HTTP; one reused handle per thread so connections are kept alive. Every
/// request has a deadline; responses are size-limited. Exports
/// `nsl_outbound_requests_total{dependency,outcome}` and
/// `nsl_outbound_request_duration_seconds{dependency}`.
class HttpClient {
 public:
  HttpClient(HttpClientOptions options, metrics::Registry& registry, log::Sink& logs);
  ~HttpClient();

  /// Throws std::invalid_argument when `ca_bundle` cannot be used.
  /// Sends the request; throws OutboundError when no HTTP response was received.
  asio::awaitable<OutboundResponse> send(OutboundRequest request);
  /// The same, on the calling thread (tools and tests outside an io_context).
  OutboundResponse send_blocking(const OutboundRequest& request);

 private:
  OutboundResponse perform(const OutboundRequest& request);

  HttpClientOptions options_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Histogram& duration_;
  log::Logger log_;
  ThreadPool pool_;
};

}  // namespace nsl::http
