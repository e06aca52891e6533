#include "nsl/http/health.hpp"

#include <cmath>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <nlohmann/json.hpp>

namespace nsl::http {
namespace {

using Clock = std::chrono::steady_clock;

asio::awaitable<std::pair<CheckResult, double>> run_check(const HealthCheck& check, std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  const auto started = Clock::now();
  CheckResult result;
  // `||` completes with the first branch that succeeds, so the check must not throw inside it.
  auto guarded = [&check]() -> asio::awaitable<CheckResult> {
    CheckResult r;
    try {
      r = co_await check.run();
    } catch (const std::exception&) {
      // Checks describe their own failures safely; a stray exception text may hold internals.
      r = CheckResult{HealthStatus::unhealthy, "the check failed unexpectedly"};
    }
    co_return r;
  };
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto outcome = co_await (guarded() || timer.async_wait(asio::use_awaitable));
  if (outcome.index() == 0) {
    result = std::get<0>(std::move(outcome));
  } else {
    result = {HealthStatus::unhealthy, "no answer within " + std::to_string(timeout.count()) + " ms"};
  }
  co_return std::pair{result, std::chrono::duration<double, std::milli>(Clock::now() - started).count()};
}

}  // namespace

const char* health_status_name(HealthStatus s) noexcept {
  switch (s) {
    case HealthStatus::healthy:
      return "Healthy";
    case HealthStatus::degraded:
      return "Degraded";
    case HealthStatus::unhealthy:
      return "Unhealthy";
  }
  return "Unhealthy";
}

Health::Health(Options options) : options_(std::move(options)) {}

void Health::add_check(HealthCheck check) { checks_.push_back(std::move(check)); }

asio::awaitable<nlohmann::json> Health::report() {
  using nlohmann::json;
  HealthStatus overall = HealthStatus::healthy;
  json checks = json::object();
  json failing = json::array();
  // Checks run one after another; each is bounded by the timeout, and there are few of them.
  for (const auto& check : checks_) {
    auto [result, ms] = co_await run_check(check, options_.check_timeout);
    checks[check.name] = {{"status", health_status_name(result.status)},
                          {"duration_ms", std::round(ms * 1000.0) / 1000.0},
                          {"description", result.description}};
    if (result.status == HealthStatus::unhealthy) failing.push_back(check.name);
    if (static_cast<int>(result.status) > static_cast<int>(overall)) overall = result.status;
  }
  if (draining_.load()) {
    overall = HealthStatus::unhealthy;
    failing.push_back("shutdown");
    checks["shutdown"] = {{"status", "Unhealthy"}, {"duration_ms", 0}, {"description", "the server is shutting down"}};
  }
  co_return json{{"status", health_status_name(overall)},
                 {"failing", failing},
                 {"checks", checks},
                 {"version", options_.version},
                 {"environment", options_.environment},
                 {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count()}};
}

namespace {
constexpr const char* kStatus = R"({"type": "string", "enum": ["Healthy", "Degraded", "Unhealthy"]})";
const std::string kLive = std::string(R"({"type": "object", "required": ["status"], "properties": {"status": )") + kStatus + "}}";
const std::string kReady = std::string(R"({"type": "object", "required": ["status", "failing"], "properties": {"status": )") +
                           kStatus + R"(, "failing": {"type": "array", "items": {"type": "string"}}}})";
const std::string kReport =
    std::string(
        R"({"type": "object", "required": ["status", "failing", "checks", "version", "environment", "uptime_seconds"],)") +
    R"("properties": {"status": )" + kStatus + R"(, "failing": {"type": "array", "items": {"type": "string"}},)" +
    R"("checks": {"type": "object", "additionalProperties": {"type": "object", "required": ["status", "duration_ms", "description"],)" +
    R"("properties": {"status": )" + kStatus + R"(, "duration_ms": {"type": "number"}, "description": {"type": "string"}}}},)" +
    R"("version": {"type": "string"}, "environment": {"type": "string"}, "uptime_seconds": {"type": "integer"}}})";
}  // namespace

void Health::register_routes(Router& router) {
  router.add({Verb::get, "/health/live", "health", "",
              [](Context&) -> asio::awaitable<Response> { co_return json_response(200, R"({"status":"Healthy"})"); }, true, false,
              Doc{.summary = "Liveness: the process answers", .responses = {{200, kLive}}}});
  router.add(
      {Verb::get, "/health/ready", "health", "",
       [this](Context&) -> asio::awaitable<Response> {
         auto r = co_await report();
         const bool ok = r["status"] != "Unhealthy";
         co_return json_response(ok ? 200 : 503, nlohmann::json{{"status", r["status"]}, {"failing", r["failing"]}}.dump());
       },
       true, false,
       Doc{.summary = "Readiness: 503 while a check is Unhealthy or the server shuts down",
           .responses = {{200, kReady}, {503, kReady}}}});
  router.add({Verb::get, "/health", "health", "",
              [this](Context&) -> asio::awaitable<Response> {
                auto r = co_await report();
                co_return json_response(r["status"] == "Unhealthy" ? 503 : 200, r.dump());
              },
              true, false,
              Doc{.summary = "Every check with its status and description", .responses = {{200, kReport}, {503, kReport}}}});
}

}  // namespace nsl::http
