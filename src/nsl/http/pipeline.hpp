#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/http/rate_limit.hpp"
#include "nsl/http/router.hpp"
#include "nsl/http/types.hpp"

namespace nsl::http {

/// What the pipeline enforces for every request.
struct PipelineSettings {
  int max_concurrent_requests = 1000;
  std::chrono::milliseconds service_timeout{30'000};
  std::vector<asio::ip::address> trusted_proxies;
  /// Security:RequireHttps: plain HTTP gets 308 to https:// (health and metrics from trusted
  /// proxies excepted), on `https_port` (0 or 443: the default port).
  bool require_https = false;
  std::uint16_t https_port = 0;
};

/// The one middleware pipeline every request goes through, in this order:
///   1. request and correlation ids (X-Request-Id / X-Correlation-Id: taken if well-formed, else generated)
///   2. routing (404, 405 with Allow, 400 for a malformed path)
///   3. the concurrent-request bound (503 with Retry-After beyond Services:MaxConcurrentRequests)
///   4. the handler, under the per-request deadline (Services:ServiceTimeoutSeconds, then 504;
///      the server cancels the handler's pending operation when the deadline passes)
///   5. errors → application/problem+json (unexpected exceptions are logged and become a bare 500)
///   6. security headers (guide §7.2.1; HSTS only over HTTPS or a trusted X-Forwarded-Proto)
///   7. metrics (http_requests_total, http_request_duration_seconds) and one JSON access-log line
///   2b. authentication (every route that is not public) and the route's permission: 401 / 403
///   2c. rate limiting per principal, or per IP address for anonymous requests and failed
///       authentication (health and metrics exempt): X-RateLimit-* headers, queueing, then 429
///   8. the audit trail: one entry per request (health and metrics excepted), handed to the
///      auditor, which writes it off the request path
/// Establishes who a request comes from (bearer token or API key) and what they may do. Throws
/// RequestError (401 with WWW-Authenticate) when the credential is missing or refused.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual asio::awaitable<Principal> authenticate(Context& ctx) = 0;
  virtual bool allows(const Principal& principal, std::string_view permission) const = 0;
};

/// What the audit trail records of one request (guide §17.1, table audit_logs).
struct AuditEntry {
  std::string event_type = "api_request";  // or "admin_action": an account acting on another
  std::string service;
  std::string method;     // "GET /v1/api-keys/{id}": the route, not the path (no ids)
  std::string principal;  // the account's address, or its id; empty when anonymous
  std::string request_id;
  std::string correlation_id;
  std::string ip_address;
  std::string user_agent;
  std::string request_data;   // JSON: query, headers (credentials redacted), body when it failed
  std::string response_data;  // JSON: the response body when it failed; empty otherwise
  unsigned status = 0;
  std::string error_message;
  std::int64_t execution_time_ms = 0;
};

/// Takes audit entries off the request path (must not block).
class Auditor {
 public:
  virtual ~Auditor() = default;
  virtual void record(AuditEntry entry) = 0;
};

class Pipeline {
 public:
  /// Every request but health and metrics is recorded when an auditor is set.
  void set_auditor(Auditor* auditor) { auditor_ = auditor; }
  /// Routes that are not public need an authenticator; without one they answer 401.
  void set_authenticator(Authenticator* authenticator) { authenticator_ = authenticator; }
  /// The port HTTPS redirects point to (known once the listeners are bound; before start()).
  void set_https_port(std::uint16_t port) { settings_.https_port = port; }
  /// Every route but health and metrics is rate limited when a limiter is set.
  void set_rate_limiter(RateLimiter* limiter) { limiter_ = limiter; }
  /// Counts in `shared` (all replicas) when it answers, in the RateLimiter otherwise.
  void set_shared_rate_counter(SharedRateCounter* shared) { shared_ = shared; }
  Pipeline(const Router& router, PipelineSettings settings, metrics::Registry& registry, log::Sink& logs);

  /// Runs a fully read request through every step and returns the response to send.
  asio::awaitable<Response> handle(Request& request, const ConnectionInfo& connection);

  /// The response for a request that could not even be read (malformed, too large, too slow),
  /// with the same headers, metrics and access log as any other.
  Response reject(const RequestError& error, const ConnectionInfo& connection, const Request* partial);

  /// Requests currently inside handle().
  int in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  /// How long a handler may run (Services:ServiceTimeoutSeconds). The server enforces it by
  /// cancelling the handler's pending operation; the pipeline then answers 504.
  std::chrono::milliseconds service_timeout() const noexcept { return settings_.service_timeout; }

 private:
  asio::awaitable<Response> dispatch(Context& ctx);
  void finish(Context& ctx, Response& res, std::chrono::steady_clock::time_point started, std::string_view service,
              std::string_view method);
  Response error_response(const std::exception_ptr& error, const Context& ctx);
  AuditEntry audit_entry(const Context& ctx, const Response& res, std::string_view service, std::int64_t ms) const;
  /// Takes a permit for `key`: the time to wait in the queue, or RequestError 429.
  asio::awaitable<std::chrono::milliseconds> rate_limit(Context& ctx, const std::string& key);
  bool https_required(const Context& ctx, std::string_view service) const;
  Response https_redirect(const Context& ctx) const;

  const Router& router_;
  PipelineSettings settings_;
  Authenticator* authenticator_ = nullptr;
  RateLimiter* limiter_ = nullptr;
  SharedRateCounter* shared_ = nullptr;
  Auditor* auditor_ = nullptr;
  std::atomic<int> in_flight_{0};
  metrics::Family<metrics::Counter>& requests_total_;
  metrics::Family<metrics::Histogram>& request_duration_;
  log::Logger access_log_;
  log::Logger log_;
};

}  // namespace nsl::http
