#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "nsl/core/asio.hpp"
#include "nsl/http/router.hpp"

namespace nsl::http {

/// Outcome of one dependency check (the names of ASP.NET health checks, which the guide's
/// operators already know).
enum class HealthStatus { healthy, degraded, unhealthy };
const char* health_status_name(HealthStatus s) noexcept;

struct CheckResult {
  HealthStatus status = HealthStatus::healthy;
  std::string description;
};

/// A named readiness check of one dependency (database; later cache, enclave, chain RPC).
struct HealthCheck {
  std::string name;
  std::function<asio::awaitable<CheckResult>()> run;
};

/// Serves /health/live, /health/ready and /health (guide §10.1.2).
class Health {
 public:
  struct Options {
    std::chrono::milliseconds check_timeout{5000};
    std::string version;
    std::string environment;
  };
  explicit Health(Options options);

  void add_check(HealthCheck check);
  /// Marks the process as draining: readiness answers 503 so load balancers stop routing here.
  void set_draining() noexcept { draining_.store(true); }
  /// Adds the three routes (public, service label "health").
  void register_routes(Router& router);

  /// Runs every check (concurrently, each under the timeout) and builds the full report.
  asio::awaitable<nlohmann::json> report();

 private:
  Options options_;
  std::vector<HealthCheck> checks_;
  std::atomic<bool> draining_{false};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace nsl::http
