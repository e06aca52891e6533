#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <thread>

#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include "nsl/app/commands.hpp"
#include "nsl/app/services.hpp"
#include "nsl/audit/writer.hpp"
#include "nsl/core/build_info.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/cache/cache.hpp"
#include "nsl/cache/rate_counter.hpp"
#include "nsl/core/ids.hpp"
#include "nsl/core/strings.hpp"
#include "nsl/db/maintenance.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/db/open.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/enclave/supervisor.hpp"
#include "nsl/http/health.hpp"
#include "nsl/http/openapi.hpp"
#include "nsl/http/pipeline.hpp"
#include "nsl/http/router.hpp"
#include "nsl/http/server.hpp"
#include "nsl/http/tls.hpp"
#include "nsl/identity/authenticator.hpp"

namespace nsl::app {
namespace {

// The enclave: started and supervised here (Enclave:Supervise), or one already running on its
// own, reached with the token in Enclave:TokenPath.
struct Enclave {
  std::unique_ptr<enclave::Supervisor> supervisor;
  std::unique_ptr<enclave::EnclaveClient> client;
  enclave::EnclaveInfo info;  // its first answer
};

Enclave start_enclave(const config::Settings& s, metrics::Registry& registry, log::Sink& sink) {
  Enclave e;
  const auto& c = s.enclave;
  if (s.security.enable_sgx) {
    throw StartupError(
        "Security:EnableSgx is true, but this build runs the enclave in simulation mode only "
        "(no SGX support is built); set it to false");
  }
  crypto::Bytes token;
  if (c.supervise) {
    enclave::SupervisorOptions options;
    options.binary = c.enclave_path.empty() ? enclave::default_enclave_binary() : c.enclave_path;
    options.socket_path = c.socket_path;
    options.sealing_key_path = c.sealing_key_path;
    options.max_connections = static_cast<std::size_t>(c.max_enclave_threads) * 4 + 4;
    e.supervisor = std::make_unique<enclave::Supervisor>(options, registry, sink.get("enclave.supervisor"));
    e.supervisor->start();
    token = e.supervisor->token();
  } else {
    std::ifstream in(c.token_path);
    std::string text;
    std::getline(in, text);
    auto parsed = crypto::from_hex(text);
    crypto::wipe(text.data(), text.size());
    if (!parsed) throw StartupError("Enclave:TokenPath " + c.token_path + ": cannot be read, or does not hold a hex token");
    token = std::move(*parsed);
  }
  e.client = std::make_unique<enclave::EnclaveClient>(
      enclave::ClientOptions{c.socket_path, std::move(token), static_cast<std::size_t>(c.max_enclave_threads),
                             std::chrono::milliseconds(c.request_timeout_ms)},
      registry, sink);
  try {
    e.info = e.client->info_blocking();
    const auto& info = e.info;
    // The attestation key and measurement are what relying parties pin (nsl attest verify).
    sink.get("enclave").info("enclave answers", {{"mode", info.mode},
                                                 {"measurement", info.measurement},
                                                 {"attestation_key", crypto::to_hex(info.attestation_public_key)},
                                                 {"memory_locked", info.memory_locked},
                                                 {"supervised", c.supervise}});
    if (!info.memory_locked) {
      sink.get("enclave").warn(
          "the enclave's keys and secrets are not in locked memory and may be written to swap: raise RLIMIT_MEMLOCK "
          "for nsl-enclave (the enclave's log says how)");
    }
  } catch (const std::exception& ex) {
    throw StartupError(std::string("the enclave does not answer on ") + c.socket_path + ": " + ex.what());
  }
  return e;
}

// Tokens: HS256 with Jwt:Secret when it is set (several replicas share it), else ES256 with the
// enclave's key (replicas sharing the sealing root share it; the server holds no signing secret).
identity::TokenSettings token_settings(const config::Settings& s, enclave::EnclaveClient& enclave) {
  identity::TokenSettings out;
  out.issuer = s.jwt.issuer;
  out.audience = s.jwt.audience.empty() ? "neo-service-layer" : s.jwt.audience;
  out.access_ttl = std::chrono::hours(24) * s.jwt.expiry_in_days;
  out.refresh_ttl = std::chrono::hours(24) * s.jwt.refresh_expiry_in_days;
  if (!s.jwt.secret.empty()) {
    out.keys.algorithm = "HS256";
    out.keys.hmac_secret.assign(s.jwt.secret.begin(), s.jwt.secret.end());
  } else {
    out.keys.algorithm = "ES256";
    out.keys.es256_public_key = enclave.jwt_public_key_blocking();
  }
  return out;
}

using namespace std::chrono_literals;

std::vector<http::ListenAddress> addresses_of(const config::ServerSettings& s) {
  std::vector<http::ListenAddress> out;
  for (const auto& u : s.urls) out.push_back({u.host, u.port, u.text, u.scheme == "https"});
  return out;
}

http::ServerOptions server_options(const config::Settings& s, std::string name) {
  http::ServerOptions o;
  o.name = std::move(name);
  o.max_request_body_bytes = s.server.max_request_body_bytes;
  o.max_request_headers_bytes = static_cast<std::uint32_t>(s.server.max_request_headers_bytes);
  o.request_headers_timeout = std::chrono::seconds(s.server.request_headers_timeout_seconds);
  o.keep_alive_timeout = std::chrono::seconds(s.server.keep_alive_timeout_seconds);
  return o;
}

http::PipelineSettings pipeline_settings(const config::Settings& s) {
  http::PipelineSettings p;
  p.max_concurrent_requests = s.services.max_concurrent_requests;
  p.service_timeout = std::chrono::seconds(s.services.service_timeout_seconds);
  p.require_https = s.security.require_https;
  for (const auto& proxy : s.server.trusted_proxies) {
    boost::system::error_code ec;
    auto a = asio::ip::make_address(proxy, ec);
    if (ec) throw StartupError("Server:TrustedProxies: \"" + proxy + "\" is not an IP address");
    p.trusted_proxies.push_back(a);
  }
  return p;
}

void add_metrics_route(http::Router& router, metrics::Registry& registry) {
  router.add({http::Verb::get, "/metrics", "metrics", "",
              [&registry](http::Context&) -> asio::awaitable<http::Response> {
                co_return http::text_response(200, registry.render(), "text/plain; version=0.0.4; charset=utf-8");
              },
              true, false,
              http::Doc{.summary = "Metrics in the Prometheus text format",
                        .responses = {{200, R"({"type": "string"})"}},
                        .content_type = "text/plain; version=0.0.4"}});
}

// Makes sure the schema is what this build expects before anything is served.
void prepare_schema(db::Database& database, const config::Settings& settings, const log::Logger& log) {
  database.with_connection_blocking([&](db::Connection& c) {
    if (settings.database.migrate_on_startup) {
      const auto applied = db::migrate(c, schema_migrations(), std::nullopt, [&](const db::Migration& m) {
        log.info("applying migration", {{"version", m.version}, {"name", m.name}});
      });
      const auto status = db::migration_status(c, schema_migrations());
      for (const auto& name : db::ensure_audit_partitions(c, std::chrono::system_clock::now())) {
        log.info("created audit partition", {{"partition", name}});
      }
      log.info("database schema ready", {{"database", database.describe()},
                                         {"version", status.current},
                                         {"applied_now", static_cast<std::uint64_t>(applied.size())}});
      return;
    }
    const auto status = db::migration_status(c, schema_migrations());
    if (!status.pending.empty()) {
      throw StartupError("the database schema is at version " + std::to_string(status.current) +
                         " and this build needs version " + std::to_string(status.latest) +
                         "; run `nsl migrate` (or set Database:MigrateOnStartup to true)");
    }
  });
}

/// The running configuration; reloadable parts are replaced as a whole new snapshot.
class SettingsStore {
 public:
  explicit SettingsStore(config::Settings s) : current_(std::make_shared<const config::Settings>(std::move(s))) {}
  std::shared_ptr<const config::Settings> get() const { return current_.load(); }
  void set(std::shared_ptr<const config::Settings> s) { current_.store(std::move(s)); }

 private:
  std::atomic<std::shared_ptr<const config::Settings>> current_;
};

// Polls the configuration files once a second (guide §6.3). A change that fails validation is
// rejected with the running settings kept; valid changes to log levels and rate limits apply at
// once; other changes are reported as needing a restart.
http::RateLimitSettings rate_limit_settings(const config::RateLimitingSettings& r) {
  http::RateLimitSettings out;
  out.enabled = r.enabled;
  out.permit_limit = r.permit_limit;
  out.window = std::chrono::duration_cast<std::chrono::milliseconds>(r.window);
  out.queue_limit = r.queue_limit;
  out.oldest_first = r.queue_processing_order == "OldestFirst";
  return out;
}

// Reloads the HTTPS certificate when its files change (checked every second): new connections
// get the new one; a change that does not load keeps the current one and is logged.
asio::awaitable<void> watch_certificate(http::TlsCertificate& certificate, log::Logger log, const std::atomic<bool>& stopping) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping.load()) {
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    try {
      if (certificate.reload_if_changed()) log.info("TLS certificate reloaded", {{"certificate", certificate.describe()}});
    } catch (const std::exception& e) {
      log.error("TLS certificate reload failed; keeping the current certificate", {{"error", e.what()}});
    }
  }
}

// RateLimiting:Routes as the limiter takes them: each route's own limits over the general ones.
std::map<std::string, http::RateLimitSettings> route_limits(const config::RateLimitingSettings& r) {
  std::map<std::string, http::RateLimitSettings> out;
  const auto base = rate_limit_settings(r);
  for (const auto& [route, limit] : r.routes) {
    auto one = base;
    one.permit_limit = limit.permit_limit;
    one.window = std::chrono::duration_cast<std::chrono::milliseconds>(limit.window);
    one.queue_limit = limit.queue_limit;
    out[route] = one;
  }
  return out;
}

// The RateLimiting:Routes keys that name no route of this server (a typo would silently limit
// nothing).
std::vector<std::string> unknown_limited_routes(const config::RateLimitingSettings& r, const http::Router& router) {
  std::vector<std::string> unknown;
  for (const auto& [key, limit] : r.routes) {
    const auto space = key.find(' ');
    const auto verb = space == std::string::npos ? std::string() : key.substr(0, space);
    const auto pattern = space == std::string::npos ? key : key.substr(space + 1);
    bool found = false;
    for (const auto& route : router.routes()) {
      found =
          found || (route.pattern == pattern && (verb.empty() || verb == std::string(http::beast_http::to_string(route.verb))));
    }
    if (!found) unknown.push_back(key);
  }
  return unknown;
}

// Names this process among the replicas (cache invalidations and acknowledgements).
std::string replica_id() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(::getpid()) + "-" + random_uuid().substr(0, 8);
}

// Hourly upkeep on every replica (each step is idempotent): audit partitions ahead of time on
// PostgreSQL, and retention (guide §17.2): expired storage_data and audit records older than
// Security:AuditRetentionDays.
asio::awaitable<void> maintain_database(db::Database& database, const SettingsStore& store, log::Logger log,
                                        const std::atomic<bool>& stopping) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping.load()) {
    const int days = store.get()->security.audit_retention_days;
    try {
      const auto report = co_await database.run([days](db::Connection& c) {
        const auto now = std::chrono::system_clock::now();
        db::ensure_audit_partitions(c, now);
        return db::apply_retention(c, now, days, retention_rules());
      });
      if (report.any()) {
        const auto dropped = join(report.partitions_dropped, ", ");
        std::vector<log::Field> fields{{"audit_rows", report.audit_rows}, {"partitions_dropped", dropped}};
        for (const auto& r : report.removed) fields.emplace_back(r.key, r.rows);
        log.log(log::Level::info, "retention applied", fields);
      }
    } catch (const std::exception& e) {
      log.warn("database upkeep failed; trying again in an hour", {{"error", e.what()}});
    }
    timer.expires_after(1h);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> watch_configuration(config::Source source, SettingsStore& store, log::Sink& sink,
                                          http::RateLimiter& limiter, const http::Router& router, log::Logger log,
                                          const std::atomic<bool>& stopping) {
  auto fingerprint = source.fingerprint();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping.load()) {
    timer.expires_after(1s);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping.load()) break;
    const auto now = source.fingerprint();
    if (now == fingerprint) continue;
    fingerprint = now;
    config::Settings next;
    try {
      next = config::load(source, service_settings());
    } catch (const config::ConfigError& e) {
      log.error("configuration reload rejected; keeping the running settings", {{"errors", join(e.errors(), "; ")}});
      continue;
    }
    const auto running = store.get();
    const auto restart = config::restart_required_changes(*running, next, service_settings());
    if (!restart.empty()) {
      log.warn("configuration changes that need a restart were not applied", {{"sections", join(restart, ", ")}});
    }
    std::vector<std::string> applied;
    if (!(running->logging == next.logging)) applied.emplace_back("Logging");
    if (!(running->rate_limiting == next.rate_limiting)) applied.emplace_back("RateLimiting");
    if (applied.empty()) continue;
    auto updated = std::make_shared<config::Settings>(*running);
    updated->logging = next.logging;
    updated->rate_limiting = next.rate_limiting;
    sink.set_levels(updated->logging.levels);
    limiter.update(rate_limit_settings(updated->rate_limiting));
    limiter.update_routes(route_limits(updated->rate_limiting));
    if (const auto unknown = unknown_limited_routes(updated->rate_limiting, router); !unknown.empty()) {
      log.warn("RateLimiting:Routes names routes this server does not have", {{"routes", join(unknown, ", ")}});
    }
    store.set(std::move(updated));
    log.info("configuration reloaded", {{"applied", join(applied, ", ")}});
  }
}

}  // namespace

int serve(const config::Source& source) {
  std::signal(SIGPIPE, SIG_IGN);
  SettingsStore store(config::load(source, service_settings()));
  const auto settings = store.get();

  log::Sink sink;
  sink.set_levels(settings->logging.levels);
  const auto log = sink.get("app");
  log.info("starting nsl", {{"version", build_info::kVersion},
                            {"environment", settings->environment},
                            {"configuration", join(settings->sources, ", ")}});

  metrics::Registry registry;
  metrics::add_process_collector(registry);
  registry.gauge("nsl_build_info", "Build of the running nsl binary (value is always 1).", {"version", "build_type"})
      .with({build_info::kVersion, build_info::kBuildType})
      .set(1);
  registry.add_collector([&sink](std::vector<metrics::Registry::Sample>& out) {
    out.push_back({"nsl_log_lines_dropped_total",
                   "Log lines dropped because the log buffer was full.",
                   metrics::Type::counter,
                   {},
                   static_cast<double>(sink.dropped())});
  });

  auto database = db::open_database(*settings, registry, sink.get("db"));
  prepare_schema(*database, *settings, log);
  auto enclave = start_enclave(*settings, registry, sink);

  const unsigned threads = settings->server.threads > 0 ? static_cast<unsigned>(settings->server.threads)
                                                        : std::max(1u, std::thread::hardware_concurrency());
  asio::io_context ioc(static_cast<int>(threads));
  // Requests to the enclave go out from the IO threads themselves; the guard lets go of the
  // connections before ioc is destroyed.
  enclave.client->attach(ioc.get_executor());
  const enclave::EnclaveClient::Attached enclave_attached{*enclave.client};

  http::Router router;
  http::Health health({5s, build_info::kVersion, settings->environment});
  health.add_check({"database", [&database]() -> asio::awaitable<http::CheckResult> {
                      try {
                        co_await database->probe();
                        co_return http::CheckResult{http::HealthStatus::healthy, database->describe()};
                      } catch (const std::exception&) {
                        co_return http::CheckResult{http::HealthStatus::unhealthy, "the database does not answer"};
                      }
                    }});
  // Redis (optional): the L2 cache, invalidations between replicas and shared rate-limit counters.
  std::unique_ptr<cache::RedisClient> redis;
  if (!trim(settings->connection_strings.redis).empty()) {
    cache::RedisOptions redis_options;
    try {
      redis_options = cache::parse_redis_connection_string(settings->connection_strings.redis);
    } catch (const std::invalid_argument& e) {
      throw StartupError(std::string("ConnectionStrings:Redis: ") + e.what());
    }
    redis = std::make_unique<cache::RedisClient>(ioc.get_executor(), redis_options, registry, sink.get("cache"));
  }
  cache::CacheOptions cache_options;
  cache_options.l1_ttl = std::chrono::seconds(settings->cache.l1_ttl_seconds);
  cache_options.l2_ttl = std::chrono::seconds(settings->cache.l2_ttl_seconds);
  cache_options.l1_max_entries = static_cast<std::size_t>(settings->cache.l1_max_entries);
  cache_options.lease = std::chrono::milliseconds(settings->cache.lease_ms);
  cache::Cache cache(redis.get(), cache_options, replica_id(), registry, sink.get("cache"));
  cache.start(ioc.get_executor());
  if (redis) {
    redis->start();
    log.info("cache: L1 in process, L2 in Redis", {{"redis", redis->options().describe()}});
  }
  health.add_check({"cache", [&redis]() -> asio::awaitable<http::CheckResult> {
                      if (!redis)
                        co_return http::CheckResult{http::HealthStatus::healthy, "in-process L1 only (no Redis configured)"};
                      if (redis->connected())
                        co_return http::CheckResult{http::HealthStatus::healthy, redis->options().describe()};
                      co_return http::CheckResult{
                          http::HealthStatus::degraded,
                          "Redis at " + redis->options().describe() + " is not connected; serving from the database"};
                    }});
  // 1 while the enclave's keys and secrets are in locked memory; read at start and by each health check.
  auto& memory_locked = registry
                            .gauge("nsl_enclave_memory_locked",
                                   "1 while the enclave holds keys and secrets in locked memory (never written to swap)")
                            .with({});
  memory_locked.set(enclave.info.memory_locked ? 1 : 0);
  health.add_check({"enclave", [&enclave, &memory_locked]() -> asio::awaitable<http::CheckResult> {
                      enclave::EnclaveInfo info;
                      try {
                        info = co_await enclave.client->info();
                      } catch (const std::exception&) {
                        co_return http::CheckResult{http::HealthStatus::unhealthy, "the enclave does not answer"};
                      }
                      memory_locked.set(info.memory_locked ? 1 : 0);
                      std::string mode =
                          info.mode == "simulation"
                              ? "simulation mode: no SGX hardware; the enclave is a separate process of nsl's own OS user"
                              : info.mode + " mode";
                      if (!info.memory_locked) {
                        co_return http::CheckResult{http::HealthStatus::degraded,
                                                    mode +
                                                        "; keys and secrets are NOT in locked memory and may be written to swap "
                                                        "(raise RLIMIT_MEMLOCK for nsl-enclave)"};
                      }
                      co_return http::CheckResult{http::HealthStatus::healthy, mode + "; keys and secrets in locked memory"};
                    }});
  health.register_routes(router);
  http::add_openapi_route(router, {"Neo Service Layer", build_info::kVersion});
  add_metrics_route(router, registry);
  // Credentials: checked on every request by the authenticator, handed out by the identity service.
  identity::Authenticator authenticator(*database, enclave.client.get(), token_settings(*settings, *enclave.client),
                                        sink.get("identity"));
  authenticator.add_metrics(registry);
  health.add_check(
      {"identity", [&authenticator]() -> asio::awaitable<http::CheckResult> { co_return authenticator.sync_health(); }});
  // The audit trail (Security:EnableAuditLogging): every request but health and metrics.
  std::unique_ptr<audit::AuditWriter> audit_writer;
  if (settings->security.enable_audit_logging) {
    audit_writer = std::make_unique<audit::AuditWriter>(*database, registry, sink.get("audit"));
  }
  // The services, in the order of the service list (src/nsl/app/services.cpp).
  services::Platform platform{*settings, *database, *enclave.client, cache, registry, sink, authenticator};
  std::vector<std::unique_ptr<services::Service>> running;
  for (const auto* module : service_modules()) {
    running.push_back(module->make(platform));
    running.back()->add_routes(router);
    running.back()->add_health_checks(health);
  }

  // Every route, whoever added it, carries its OpenAPI operation: the document is the contract.
  if (const auto problems = http::openapi_problems(router); !problems.empty()) {
    throw std::logic_error("routes without a complete OpenAPI operation: " + join(problems, "; "));
  }
  http::Pipeline pipeline(router, pipeline_settings(*settings), registry, sink);
  pipeline.set_authenticator(&authenticator);
  http::RateLimiter limiter(rate_limit_settings(settings->rate_limiting));
  if (const auto unknown = unknown_limited_routes(settings->rate_limiting, router); !unknown.empty()) {
    throw StartupError("RateLimiting:Routes names routes this server does not have: " + join(unknown, ", ") +
                       " (write them as \"VERB /pattern\", e.g. \"POST /v1/auth/token\" or \"POST /v1/keys/{id}/sign\")");
  }
  limiter.update_routes(route_limits(settings->rate_limiting));
  pipeline.set_rate_limiter(&limiter);
  std::unique_ptr<cache::RedisRateCounter> shared_counter;
  if (redis) {
    shared_counter = std::make_unique<cache::RedisRateCounter>(*redis);
    pipeline.set_shared_rate_counter(shared_counter.get());
  }
  if (audit_writer) pipeline.set_auditor(audit_writer.get());
  http::Server server(ioc, server_options(*settings, "nsl"), pipeline, registry, sink);
  std::unique_ptr<http::TlsCertificate> certificate;
  if (!settings->server.certificate_path.empty()) {
    certificate =
        std::make_unique<http::TlsCertificate>(settings->server.certificate_path, settings->server.certificate_key_path);
    server.set_tls(certificate.get());
    log.info("TLS certificate loaded", {{"certificate", certificate->describe()}});
  }
  server.listen(addresses_of(settings->server));

  // Optional listener that serves only /metrics (Metrics:Port).
  http::Router metrics_router;
  add_metrics_route(metrics_router, registry);
  http::Pipeline metrics_pipeline(metrics_router, pipeline_settings(*settings), registry, sink);
  std::unique_ptr<http::Server> metrics_server;
  if (settings->metrics.port > 0) {
    metrics_server = std::make_unique<http::Server>(ioc, server_options(*settings, "metrics"), metrics_pipeline, registry, sink);
    const auto& host = settings->server.urls.front().host;
    metrics_server->listen(
        {{host, static_cast<std::uint16_t>(settings->metrics.port), "Metrics:Port " + std::to_string(settings->metrics.port)}});
  }

  const auto endpoints = server.local_endpoints();
  const auto tls = server.local_tls();
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const auto& ep = endpoints[i];
    const auto host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
    const std::string scheme = tls[i] ? "https" : "http";
    log.info("Now listening on: " + scheme + "://" + host + ":" + std::to_string(ep.port()),
             {{"address", ep.address().to_string()}, {"port", ep.port()}, {"tls", static_cast<bool>(tls[i])}});
    if (tls[i]) pipeline.set_https_port(ep.port());
  }
  if (metrics_server) {
    for (const auto& ep : metrics_server->local_endpoints()) {
      log.info("Metrics listening on: http://" + ep.address().to_string() + ":" + std::to_string(ep.port()) + "/metrics",
               {{"port", ep.port()}});
    }
  }
  server.start();
  if (metrics_server) metrics_server->start();

  std::atomic<bool> stopping{false};
  asio::co_spawn(ioc, watch_configuration(source, store, sink, limiter, router, sink.get("config"), stopping), asio::detached);
  if (certificate) asio::co_spawn(ioc, watch_certificate(*certificate, sink.get("tls"), stopping), asio::detached);
  asio::co_spawn(ioc, maintain_database(*database, store, sink.get("db"), stopping), asio::detached);
  for (auto& service : running) asio::co_spawn(ioc, service->run(), asio::detached);
  // Revocations and disabled accounts from other replicas, within a second.
  asio::co_spawn(ioc, authenticator.run_sync(1s), asio::detached);

  int exit_code = 0;
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    log.info("shutdown requested",
             {{"signal", signo == SIGTERM ? "SIGTERM" : "SIGINT"}, {"grace_seconds", settings->server.shutdown_timeout_seconds}});
    stopping.store(true);
    authenticator.stop();
    health.set_draining();
    // A second signal stops at once.
    signals.async_wait([&](const boost::system::error_code& ec2, int) {
      if (ec2) return;
      log.warn("second signal: stopping without waiting for requests in flight");
      exit_code = 1;
      ioc.stop();
    });
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          const auto grace = std::chrono::seconds(settings->server.shutdown_timeout_seconds);
          const auto forced = co_await server.shutdown(grace);
          if (metrics_server) co_await metrics_server->shutdown(1s);
          for (auto& service : running) service->stop();
          for (auto& service : running) co_await service->drain();
          log.info("HTTP server stopped", {{"connections_closed_forcibly", forced}});
          signals.cancel();
          ioc.stop();
        },
        asio::detached);
  });

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < threads; ++i) {
    workers.emplace_back([&ioc, i] {
      pthread_setname_np(pthread_self(), ("nsl-io-" + std::to_string(i)).c_str());
      ioc.run();
    });
  }
  ioc.run();
  for (auto& t : workers) t.join();
  if (audit_writer) audit_writer->stop();  // writes every record still queued
  if (enclave.supervisor) enclave.supervisor->stop();
  log.info("stopped", {{"exit_code", exit_code}});
  sink.flush();
  return exit_code;
}

}  // namespace nsl::app
