#include "nsl/http/pipeline.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nsl/core/ids.hpp"
#include "nsl/core/strings.hpp"
#include "nsl/http/problem.hpp"

#include <nlohmann/json.hpp>

namespace nsl::http {
namespace {

using Clock = std::chrono::steady_clock;

// Request bodies nest JSON at most this deep: serialising, copying or walking a parsed value
// recurses once per level, so a body of a million brackets would otherwise exhaust the stack.
constexpr std::size_t kMaxJsonDepth = 100;

// JSON pointer of the first string (member name or value) holding U+0000, if any.
std::optional<std::string> nul_pointer(const nlohmann::json& root) {
  std::vector<std::pair<const nlohmann::json*, std::string>> stack{{&root, ""}};
  while (!stack.empty()) {
    auto [j, path] = std::move(stack.back());
    stack.pop_back();
    if (j->is_string()) {
      if (j->get_ref<const std::string&>().find('\0') != std::string::npos) return path;
    } else if (j->is_object()) {
      for (const auto& [name, value] : j->items()) {
        auto member = path + "/" + name;
        if (name.find('\0') != std::string::npos) return member;
        stack.emplace_back(&value, std::move(member));
      }
    } else if (j->is_array()) {
      for (std::size_t i = 0; i < j->size(); ++i) stack.emplace_back(&(*j)[i], path + "/" + std::to_string(i));
    }
  }
  return std::nullopt;
}

// What every route may assume of a request body: JSON nested at most kMaxJsonDepth levels, and
// no U+0000 in any string (PostgreSQL's text and jsonb cannot hold it; refused on every backend
// alike). A 400 names the member.
void check_body(const std::string& body) {
  if (json_nesting_exceeds(body, kMaxJsonDepth)) {
    throw RequestError(ErrorKind::bad_request,
                       "the request body nests JSON more than " + std::to_string(kMaxJsonDepth) + " levels deep")
        .with_field("body", "must nest arrays and objects at most " + std::to_string(kMaxJsonDepth) + " levels deep");
  }
  if (body.find("\\u0000") == std::string::npos) return;
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return;  // the route reports JSON that does not parse
  const auto pointer = nul_pointer(j);
  if (!pointer) return;
  const auto shown = storable_text(*pointer, 200);
  const auto slash = shown.find('/', 1);
  const auto field = shown.empty() ? std::string("body") : shown.substr(1, slash == std::string::npos ? slash : slash - 1);
  throw RequestError(ErrorKind::bad_request, "the request body holds the character U+0000, which cannot be stored")
      .with_field(field, "must not contain the character U+0000" + (shown.empty() ? std::string() : " (at " + shown + ")"));
}

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
    "font-src 'self'; connect-src 'self' wss://;";

std::string_view method_label(const Request& req) {
  switch (req.method()) {
    case Verb::get:
      return "GET";
    case Verb::head:
      return "HEAD";
    case Verb::post:
      return "POST";
    case Verb::put:
      return "PUT";
    case Verb::delete_:
      return "DELETE";
    case Verb::patch:
      return "PATCH";
    case Verb::options:
      return "OPTIONS";
    default:
      return "OTHER";
  }
}

// Handlers never set these, so they are appended without a lookup (set() would search first).
void add_security_headers(Response& res, bool https) {
  res.insert("X-Content-Type-Options", "nosniff");
  res.insert(Field::x_frame_options, "DENY");
  res.insert("X-XSS-Protection", "1; mode=block");
  res.insert("Referrer-Policy", "strict-origin-when-cross-origin");
  res.insert("Content-Security-Policy", kContentSecurityPolicy);
  if (res.find(Field::cache_control) == res.end()) res.insert(Field::cache_control, "no-store");
  if (https) res.insert(Field::strict_transport_security, "max-age=31536000; includeSubDomains; preload");
}

bool is_trusted(const std::vector<asio::ip::address>& proxies, const asio::ip::address& a) {
  for (const auto& p : proxies) {
    if (p == a) return true;
    // An IPv4 peer may arrive as an IPv4-mapped IPv6 address on a dual-stack listener.
    if (a.is_v6() && a.to_v6().is_v4_mapped() && p.is_v4() &&
        asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()) == p.to_v4())
      return true;
  }
  return false;
}

std::string id_from(const Request& req, Field field_or_unknown, std::string_view name) {
  auto it = name.empty() ? req.find(field_or_unknown) : req.find(name);
  if (it != req.end() && is_acceptable_request_id(std::string_view(it->value()))) return std::string(it->value());
  return {};
}

}  // namespace

Pipeline::Pipeline(const Router& router, PipelineSettings settings, metrics::Registry& registry, log::Sink& logs)
    : router_(router),
      settings_(std::move(settings)),
      requests_total_(registry.counter("http_requests_total", "HTTP requests served, by service, method and status.",
                                       {"service", "method", "status"})),
      request_duration_(registry.histogram("http_request_duration_seconds",
                                           "Time from a request fully read to its response ready, by service.", {"service"})),
      access_log_(logs.get("http.access")),
      log_(logs.get("http")) {
  registry.add_collector([this](std::vector<metrics::Registry::Sample>& out) {
    out.push_back({"http_requests_in_flight",
                   "Requests currently being handled.",
                   metrics::Type::gauge,
                   {},
                   static_cast<double>(in_flight())});
  });
}

asio::awaitable<Response> Pipeline::handle(Request& request, const ConnectionInfo& connection) {
  const auto started = Clock::now();
  // 1. ids
  std::string request_id = id_from(request, Field::unknown, "X-Request-Id");
  if (request_id.empty()) request_id = time_ordered_uuid();
  std::string correlation_id = id_from(request, Field::unknown, "X-Correlation-Id");
  if (correlation_id.empty()) correlation_id = request_id;

  const std::string_view target(request.target());
  const auto qpos = target.find('?');
  Context ctx{request, connection, target.substr(0, qpos),
              qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1)};
  ctx.request_id = std::move(request_id);
  ctx.correlation_id = std::move(correlation_id);
  ctx.https = connection.tls;
  if (!ctx.https && is_trusted(settings_.trusted_proxies, connection.remote)) {
    auto it = request.find("X-Forwarded-Proto");
    ctx.https = it != request.end() && iequals(trim(it->value()), "https");
  }

  in_flight_.fetch_add(1, std::memory_order_relaxed);
  Response res;
  std::string_view service = "unknown";
  try {
    // 2. routing
    if (ctx.path.empty() || ctx.path.front() != '/') {
      throw BadRequest("the request target must be an absolute path such as /health");
    }
    auto match = router_.match(request.method(), ctx.path);
    if (match.bad_path) throw BadRequest("the request path has a malformed percent-escape");
    if (!match.route) {
      if (!match.allow.empty()) {
        throw RequestError(ErrorKind::method_not_allowed,
                           std::string(request.method_string()) + " is not allowed here; allowed: " + match.allow)
            .with_header("Allow", match.allow);
      }
      throw NotFound("no route matches " + std::string(ctx.path));
    }
    ctx.route = match.route;
    ctx.params = std::move(match.params);
    check_body(request.body());
    service = match.route->service;
    if (https_required(ctx, service)) {
      // Security:RequireHttps: plain HTTP is sent to the same path over HTTPS (308 keeps the
      // method and body), before anything else happens.
      res = https_redirect(ctx);
    } else {
      // 2b. authentication and the route's permission
      const bool limited = limiter_ && service != "health" && service != "metrics";
      if (!match.route->is_public) {
        if (!authenticator_)
          throw RequestError(ErrorKind::unauthorized, "authentication is required").with_header("WWW-Authenticate", "Bearer");
        std::exception_ptr refused;
        try {
          ctx.principal = co_await authenticator_->authenticate(ctx);
        } catch (...) {
          refused = std::current_exception();
        }
        if (refused) {
          // Failed attempts count against the caller's address: guessing keys runs into the limit.
          if (limited) (void)co_await rate_limit(ctx, "ip:" + ctx.connection.remote.to_string());
          std::rethrow_exception(refused);
        }
        if (!match.route->permission.empty() && !authenticator_->allows(*ctx.principal, match.route->permission)) {
          throw RequestError(ErrorKind::forbidden, "this credential lacks the permission " + match.route->permission);
        }
      }
      // 2c. rate limiting
      if (limited) {
        const std::string key =
            ctx.principal ? "principal:" + ctx.principal->account_id : "ip:" + ctx.connection.remote.to_string();
        const auto wait = co_await rate_limit(ctx, key);
        if (wait.count() > 0) {
          asio::steady_timer queued(co_await asio::this_coro::executor, wait);
          co_await queued.async_wait(asio::use_awaitable);
        }
      }
      // 3. concurrency bound
      if (in_flight_.load(std::memory_order_relaxed) > settings_.max_concurrent_requests) {
        throw Unavailable("the server is at its limit of concurrent requests; retry shortly").with_header("Retry-After", "1");
      }
      // 4. handler under the deadline
      res = co_await dispatch(ctx);
    }
  } catch (...) {
    // 5. errors
    res = error_response(std::current_exception(), ctx);
  }
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  for (const auto& [name, value] : ctx.response_headers) res.set(name, value);
  if (request.method() == Verb::head) {
    // HEAD gets GET's headers; Content-Length stays that of the body it would have had.
    const auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  finish(ctx, res, started, service, method_label(request));
  co_return res;
}

bool Pipeline::https_required(const Context& ctx, std::string_view service) const {
  if (!settings_.require_https || ctx.https) return false;
  // Health and metrics stay reachable over plain HTTP for probes and scrapers on trusted peers.
  return !((service == "health" || service == "metrics") && is_trusted(settings_.trusted_proxies, ctx.connection.remote));
}

Response Pipeline::https_redirect(const Context& ctx) const {
  std::string host(ctx.request[Field::host]);
  if (host.empty()) throw BadRequest("a Host header is required");
  // The host without its port (an IPv6 literal keeps its brackets).
  const auto bracket = host.rfind(']');
  const auto colon = host.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) host.resize(colon);
  if (settings_.https_port != 0 && settings_.https_port != 443) host += ":" + std::to_string(settings_.https_port);
  Response res{beast_http::status::permanent_redirect, 11};
  res.set(Field::location, "https://" + host + std::string(ctx.request.target()));
  res.set(Field::content_type, "text/plain; charset=utf-8");
  res.body() = "HTTPS is required: https://" + host + std::string(ctx.request.target()) + "\n";
  return res;
}

asio::awaitable<std::chrono::milliseconds> Pipeline::rate_limit(Context& ctx, const std::string& key) {
  // A route with a limit of its own (RateLimiting:Routes) counts in a budget of its own.
  const auto policy = ctx.route ? limiter_->policy_for(beast_http::to_string(ctx.route->verb), ctx.route->pattern)
                                : RateLimiter::Policy{limiter_->settings(), ""};
  const auto bucket = key + policy.bucket_suffix;
  std::optional<RateLimiter::Decision> shared;
  if (shared_) shared = co_await shared_->acquire(bucket, policy.settings);
  const auto d = shared ? *shared : limiter_->acquire(bucket, policy.settings);
  const auto reset_s = std::to_string((d.reset.count() + 999) / 1000);
  ctx.response_headers = {{"X-RateLimit-Limit", std::to_string(d.limit)},
                          {"X-RateLimit-Remaining", std::to_string(d.remaining)},
                          {"X-RateLimit-Reset", reset_s}};
  if (!d.allowed) {
    throw RequestError(ErrorKind::too_many_requests,
                       "too many requests: at most " + std::to_string(d.limit) + " per window; retry after " + reset_s + " s")
        .with_header("Retry-After", reset_s);
  }
  co_return d.wait;
}

namespace {

// A handler's outcome as a value, so that a failure can be told apart from a deadline.
struct Outcome {
  Response response;
  std::exception_ptr error;
};

asio::awaitable<Outcome> guarded(const Handler& handler, Context& ctx) {
  // Assign from co_await into a named object: GCC 12 mis-destroys temporaries when co_await
  // appears inside a braced initializer.
  Outcome out;
  try {
    out.response = co_await handler(ctx);
  } catch (...) {
    out.error = std::current_exception();
  }
  co_return out;
}

}  // namespace

// The handler runs under the request deadline, which the server enforces: when it passes, the
// server cancels whatever the handler is awaiting, and that failure is reported here as a 504.
asio::awaitable<Response> Pipeline::dispatch(Context& ctx) {
  ctx.deadline = Clock::now() + settings_.service_timeout;
  auto result = co_await guarded(ctx.route->handler, ctx);
  if (result.error) {
    if (Clock::now() >= ctx.deadline) {
      throw RequestError(ErrorKind::timeout, "the request did not complete within " +
                                                 std::to_string(settings_.service_timeout.count() / 1000) + " seconds");
    }
    std::rethrow_exception(result.error);
  }
  co_return std::move(result.response);
}

namespace {

// Whether a JSON member's name says it holds a credential: password, secret, token, private
// key, API key (any case, with or without separators).
bool secret_name(const std::string& name) {
  std::string n;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (const char* word : {"password", "passphrase", "secret", "token", "privatekey", "apikey", "wif"}) {
    if (n.find(word) != std::string::npos) return true;
  }
  return false;
}

void redact(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (secret_name(it.key())) {
        it.value() = "[REDACTED]";
      } else {
        redact(it.value());
      }
    }
  } else if (j.is_array()) {
    for (auto& x : j) redact(x);
  }
}

// A body for the audit trail: JSON with credentials redacted, other text (and JSON too deep to
// walk safely) truncated to 16 KiB.
nlohmann::json audit_body(const std::string& body) {
  if (body.empty()) return nullptr;
  auto j = json_nesting_exceeds(body, kMaxJsonDepth) ? nlohmann::json(nlohmann::json::value_t::discarded)
                                                     : nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded()) {
    redact(j);
    return j;
  }
  constexpr std::size_t kMax = 16 * 1024;
  return body.size() > kMax ? body.substr(0, kMax) + "...(truncated)" : body;
}

// Accounts signed in with a wallet are named by their address; others by their id.
std::string audit_principal(const Principal& p) {
  const bool neo = p.name.size() == 34 && p.name[0] == 'N';
  const bool evm = p.name.size() == 42 && p.name.rfind("0x", 0) == 0;
  return neo || evm ? p.name : p.account_id;
}

}  // namespace

AuditEntry Pipeline::audit_entry(const Context& ctx, const Response& res, std::string_view service, std::int64_t ms) const {
  AuditEntry e;
  e.service = std::string(service);
  e.method = std::string(ctx.request.method_string()) + " " + (ctx.route ? ctx.route->pattern : std::string(ctx.path));
  if (e.method.size() > 100) e.method.resize(100);
  if (ctx.principal) e.principal = audit_principal(*ctx.principal);
  e.request_id = ctx.request_id;
  e.correlation_id = ctx.correlation_id;
  e.ip_address = ctx.connection.remote.to_string();
  e.user_agent = storable_text(ctx.request[Field::user_agent], 512);
  e.status = res.result_int();
  e.execution_time_ms = ms;
  const bool failed = e.status >= 400;
  if (!ctx.acting_on.empty()) e.event_type = "admin_action";
  // request_data: {"body", "headers", "query", "target_account"} (keys in that order), written
  // directly; header names sorted, the last of repeated ones kept, credentials redacted.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  for (const auto& h : ctx.request) headers.emplace_back(h.name_string(), h.value());
  std::stable_sort(headers.begin(), headers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string& data = e.request_data;
  data.reserve(256);
  data += '{';
  if (failed) {
    data += "\"body\":";
    data += ctx.route && ctx.route->audit_body
                ? audit_body(ctx.request.body()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                : std::string("\"[NOT RECORDED]\"");
    data += ',';
  }
  data += "\"headers\":{";
  bool first = true;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i + 1 < headers.size() && headers[i + 1].first == headers[i].first) continue;
    const auto name = headers[i].first;
    const bool credential = iequals(name, "Authorization") || iequals(name, "Cookie") || iequals(name, "X-API-Key") ||
                            iequals(name, "Proxy-Authorization");
    if (!first) data += ',';
    first = false;
    append_json_string(data, name);
    data += ':';
    append_json_string(data, credential ? std::string_view("[REDACTED]") : headers[i].second.substr(0, 1024));
  }
  data += "},\"query\":";
  append_json_string(data, ctx.query);
  if (!ctx.acting_on.empty()) {
    data += ",\"target_account\":";
    append_json_string(data, std::string_view(ctx.acting_on).substr(0, 200));
  }
  data += '}';
  if (failed) {
    e.response_data =
        nlohmann::json{{"body", audit_body(res.body())}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const auto problem = nlohmann::json::parse(res.body(), nullptr, false);
    if (problem.is_object() && problem.contains("detail") && problem["detail"].is_string()) {
      e.error_message = problem["detail"].get<std::string>();
    }
  }
  return e;
}

Response Pipeline::error_response(const std::exception_ptr& error, const Context& ctx) {
  try {
    std::rethrow_exception(error);
  } catch (const RequestError& e) {
    if (!e.internal_message().empty()) {
      log_.warn("request failed",
                {{"request_id", ctx.request_id}, {"status", status_of(e.kind())}, {"detail", e.internal_message()}});
    }
    return problem_response(e, ctx.path, ctx.request_id);
  } catch (const DependencyError& e) {
    log_.warn(
        "a dependency failed during the request",
        {{"request_id", ctx.request_id}, {"dependency", e.dependency()}, {"transient", e.transient()}, {"error", e.what()}});
    if (e.transient()) {
      return problem_response(RequestError(ErrorKind::unavailable, "the " + e.dependency() + " is unavailable; retry shortly")
                                  .with_header("Retry-After", "1"),
                              ctx.path, ctx.request_id);
    }
  } catch (const std::exception& e) {
    // The client learns only that it failed and the id to quote; the cause is logged.
    log_.error("unhandled error in request handler", {{"request_id", ctx.request_id}, {"error", e.what()}});
  } catch (...) {
    log_.error("unhandled non-standard exception in request handler", {{"request_id", ctx.request_id}});
  }
  return problem_response(RequestError(ErrorKind::internal, "an internal error occurred; quote the request id when reporting it"),
                          ctx.path, ctx.request_id);
}

Response Pipeline::reject(const RequestError& error, const ConnectionInfo& connection, const Request* partial) {
  const auto started = Clock::now();
  Request empty;
  Request& req = partial ? const_cast<Request&>(*partial) : empty;
  Context ctx{req, connection, {}, {}};
  ctx.request_id = id_from(req, Field::unknown, "X-Request-Id");
  if (ctx.request_id.empty()) ctx.request_id = time_ordered_uuid();
  ctx.correlation_id = id_from(req, Field::unknown, "X-Correlation-Id");
  if (ctx.correlation_id.empty()) ctx.correlation_id = ctx.request_id;
  const std::string_view target = partial ? std::string_view(partial->target()) : std::string_view{};
  ctx.path = target.substr(0, target.find('?'));
  auto res = problem_response(error, ctx.path, ctx.request_id);
  finish(ctx, res, started, "unknown", partial ? method_label(*partial) : "OTHER");
  return res;
}

void Pipeline::finish(Context& ctx, Response& res, Clock::time_point started, std::string_view service, std::string_view method) {
  // 6. headers
  add_security_headers(res, ctx.https);
  res.insert("X-Request-Id", ctx.request_id);
  res.insert("X-Correlation-Id", ctx.correlation_id);
  // 7. metrics and access log
  const auto status = res.result_int();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  char status_text[8];
  std::snprintf(status_text, sizeof status_text, "%u", status);
  requests_total_.with({service, method, status_text}).inc();
  request_duration_.with({service}).observe(seconds);
  if (access_log_.enabled(log::Level::info)) {
    const std::string remote_ip = ctx.connection.remote.to_string();
    std::vector<log::Field> fields{{"method", std::string_view(ctx.request.method_string())},
                                   {"path", ctx.path},
                                   {"status", status},
                                   {"duration_ms", seconds * 1000.0},
                                   {"service", service},
                                   {"request_id", ctx.request_id},
                                   {"correlation_id", ctx.correlation_id},
                                   {"remote_ip", remote_ip}};
    if (ctx.principal) fields.emplace_back("principal", ctx.principal->account_id);
    access_log_.log(log::Level::info, "request", fields);
  }
  // 8. audit trail
  if (auditor_ && service != "health" && service != "metrics") {
    auditor_->record(audit_entry(ctx, res, service, static_cast<std::int64_t>(seconds * 1000.0)));
  }
}

}  // namespace nsl::http
