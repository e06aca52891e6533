#pragma once

// The shape every service has. A service module (src/nsl/services/<name>/) holds its domain
// logic, its store, its routes and its settings section, and offers one `Module` entry that the
// application's service list (src/nsl/app/services.cpp) names. The server builds each service
// from the platform below, adds its routes and health checks, runs its background work and stops
// it at shutdown, in list order; nothing else in the server knows a service by name.

#include <memory>
#include <string_view>
#include <vector>

#include "nsl/cache/cache.hpp"
#include "nsl/core/asio.hpp"
#include "nsl/core/config.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/db/database.hpp"
#include "nsl/db/maintenance.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/http/health.hpp"
#include "nsl/http/router.hpp"
#include "nsl/identity/authenticator.hpp"

namespace nsl::services {

/// What the platform gives a service: the settings it started with (a service reads its own
/// section with `settings.get<S>()`), the database, the enclave, the two-level cache, the metrics
/// registry, the log sink, and the pipeline's authenticator (told of revocations and account
/// changes by the identity service).
struct Platform {
  const config::Settings& settings;
  db::Database& database;
  enclave::EnclaveClient& enclave;
  cache::Cache& cache;
  metrics::Registry& registry;
  log::Sink& sink;
  identity::Authenticator& authenticator;
};

/// A running service.
class Service {
 public:
  virtual ~Service() = default;
  /// Its routes, each with its permission and OpenAPI operation.
  virtual void add_routes(http::Router& router) = 0;
  /// Its checks for GET /health/ready, if any.
  virtual void add_health_checks(http::Health& /*health*/) {}
  /// Background work (flushing counters, watching a chain), started on the IO threads once the
  /// server listens; it returns soon after stop().
  virtual asio::awaitable<void> run() { co_return; }
  /// At shutdown, once the last request has been answered: background work ends.
  virtual void stop() {}
  /// After stop(): write what is still held in memory. Failures are the service's to log.
  virtual asio::awaitable<void> drain() { co_return; }
};

/// The usual factory of a Module: `S` is built from the platform (`explicit S(Platform&)`).
template <class S>
std::unique_ptr<Service> make_service(Platform& platform) {
  return std::make_unique<S>(platform);
}

/// One entry of the service list.
struct Module {
  std::string_view name;
  /// Its settings section, read and checked with every other section; null if it has none.
  const config::SectionSpec* settings;
  std::unique_ptr<Service> (*make)(Platform& platform);
  /// Its schema versions, numbered in the one history all modules share (the application joins
  /// them with db::compose_migrations); null if it keeps no tables of its own.
  std::vector<db::Migration> (*migrations)() = nullptr;
  /// What retention removes of its data, each hour and on `nsl retention run`; null if nothing.
  std::vector<db::Retention> (*retention)() = nullptr;
};

}  // namespace nsl::services
