// The audit routes: parse the filter, read the entries (audit.hpp), render them.
#include "nsl/services/audit/routes.hpp"

#include <chrono>
#include <regex>

#include "nsl/core/errors.hpp"
#include "nsl/services/common/route_table.hpp"

namespace nsl::services::audit {
namespace {

using http::Context;
using http::Response;
using http::Verb;
using nlohmann::json;

class Routes {
 public:
  explicit Routes(AuditLog& log) : log_(log) {}
  asio::awaitable<Response> entries(Context& ctx);

 private:
  AuditLog& log_;
};

constexpr const char* kText = R"js({"type": "string", "minLength": 1, "maxLength": 100})js";
// A date or an RFC 3339 UTC time from year 1 to 9999 (a day past its month's end is still refused).
constexpr const char* kTime = R"js({"type": "string",
  "pattern": "^([1-9]\\d{3}|0[1-9]\\d{2}|00[1-9]\\d|000[1-9])-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])(T([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,6})?)?Z)?$"})js";
constexpr const char* kNumber = R"js({"type": "integer", "minimum": 0, "maximum": 999999999999999})js";
constexpr const char* kEntries = R"js({"type": "object", "required": ["entries"], "properties": {
  "next_before": {"type": "integer"},
  "entries": {"type": "array", "items": {"type": "object",
    "required": ["id", "event_type", "service_name", "method_name", "status_code", "created_at"],
    "properties": {"id": {"type": "integer"}, "event_type": {"type": "string"},
      "user_address": {"type": ["string", "null"]}, "service_name": {"type": ["string", "null"]},
      "method_name": {"type": ["string", "null"]}, "request_id": {"type": ["string", "null"]},
      "status_code": {"type": ["integer", "null"]}, "created_at": {"type": "string"}}}}}})js";

const RouteRow<Routes> kRoutes[] = {
    {Verb::get,
     "/v1/audit",
     "audit:read",
     &Routes::entries,
     {.summary = "Audit entries, newest first",
      .responses = {{200, kEntries}},
      .query = {{"principal", kText},
                {"service", kText},
                {"event_type", kText},
                {"request_id", kText},
                {"status", R"js({"type": "integer", "minimum": 100, "maximum": 599})js"},
                {"from", kTime},
                {"to", kTime},
                {"before", kNumber},
                {"limit", R"js({"type": "integer", "minimum": 1, "maximum": 1000})js"}}}},
};

// `from` / `to` filters: an RFC 3339 UTC time or a date that exists, from year 1 to 9999, so that
// both dialects compare it as a time (PostgreSQL refuses year 0 and 30 February).
bool time_filter(const std::string& v) {
  static const std::regex kTimeText(R"((\d{4})-(\d{2})-(\d{2})(T(\d{2}):(\d{2})(:(\d{2})(\.\d{1,6})?)?Z)?)");
  std::smatch m;
  if (!std::regex_match(v, m, kTimeText)) return false;
  const auto field = [&](int i) { return m[i].matched ? std::stoi(m[i].str()) : 0; };
  const std::chrono::year_month_day day{std::chrono::year(field(1)), std::chrono::month(static_cast<unsigned>(field(2))),
                                        std::chrono::day(static_cast<unsigned>(field(3)))};
  return field(1) >= 1 && day.ok() && field(5) < 24 && field(6) < 60 && field(8) < 60;
}

std::optional<std::string> text(const Context& ctx, const char* name) {
  auto v = ctx.query_param(name);
  if (!v) return std::nullopt;
  if (v->empty() || v->size() > 100) {
    throw RequestError(ErrorKind::bad_request, std::string(name) + " is malformed")
        .with_field(name, "must be 1 to 100 characters");
  }
  return v;
}

std::optional<std::string> time(const Context& ctx, const char* name) {
  auto v = text(ctx, name);
  if (v && !time_filter(*v)) {
    throw RequestError(ErrorKind::bad_request, std::string(name) + " must be a UTC time")
        .with_field(name, "must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS.fffZ");
  }
  return v;
}

std::optional<std::int64_t> number(const Context& ctx, const char* name) {
  const auto v = text(ctx, name);
  if (!v) return std::nullopt;
  if (v->find_first_not_of("0123456789") != std::string::npos || v->size() > 15) {
    throw RequestError(ErrorKind::bad_request, std::string(name) + " must be a number").with_field(name, "must be a number");
  }
  return static_cast<std::int64_t>(std::stoll(*v));
}

Filter filter_of(const Context& ctx) {
  Filter f;
  f.principal = text(ctx, "principal");
  f.service = text(ctx, "service");
  f.event_type = text(ctx, "event_type");
  f.request_id = text(ctx, "request_id");  // from an answer's X-Request-Id or problem+json
  f.status = number(ctx, "status");
  if (f.status && (*f.status < 100 || *f.status > 599)) {
    // The column is a 32-bit integer: a larger figure would make PostgreSQL fail the query.
    throw RequestError(ErrorKind::bad_request, "status must be an HTTP status").with_field("status", "must be 100 to 599");
  }
  f.from = time(ctx, "from");
  f.to = time(ctx, "to");
  f.before = number(ctx, "before");
  if (const auto l = ctx.query_param("limit")) {
    if (l->empty() || l->find_first_not_of("0123456789") != std::string::npos || l->size() > 4 || std::stoi(*l) < 1 ||
        std::stoi(*l) > 1000) {
      throw RequestError(ErrorKind::bad_request, "limit must be 1 to 1000").with_field("limit", "must be 1 to 1000");
    }
    f.limit = std::stoi(*l);
  }
  return f;
}

asio::awaitable<Response> Routes::entries(Context& ctx) {
  const auto filter = filter_of(ctx);
  const auto page = co_await log_.entries(filter);
  json body{{"entries", page.entries}};
  if (page.next_before) body["next_before"] = *page.next_before;
  co_return http::json_response(200, body.dump());
}

}  // namespace

void add_routes(http::Router& router, AuditLog& log) {
  add_route_table<Routes>(router, "audit", std::make_shared<Routes>(log), kRoutes);
}

}  // namespace nsl::services::audit
