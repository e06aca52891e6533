#include "nsl/services/audit/audit.hpp"

#include <variant>

namespace nsl::services::audit {
namespace {

using nlohmann::json;

// The query and its parameters for `filter`.
std::pair<std::string, std::vector<db::Value>> query_of(const Filter& filter) {
  std::string sql =
      "SELECT id, event_type, user_address, service_name, method_name, request_id, correlation_id, ip_address, "
      "user_agent, request_data, response_data, status_code, error_message, execution_time_ms, created_at "
      "FROM audit_logs WHERE 1 = 1";
  std::vector<db::Value> params;
  const auto add = [&](const char* clause, db::Value value) {
    params.push_back(std::move(value));
    sql += std::string(" AND ") + clause + " $" + std::to_string(params.size());
  };
  if (filter.principal) add("user_address =", *filter.principal);
  if (filter.service) add("service_name =", *filter.service);
  if (filter.event_type) add("event_type =", *filter.event_type);
  if (filter.request_id) add("request_id =", *filter.request_id);
  if (filter.status) add("status_code =", *filter.status);
  if (filter.from) add("created_at >=", *filter.from);
  if (filter.to) add("created_at <", *filter.to);
  if (filter.before) add("id <", *filter.before);
  sql += " ORDER BY id DESC LIMIT " + std::to_string(filter.limit);
  return {std::move(sql), std::move(params)};
}

json entry_of(const db::Result& rows, std::size_t i) {
  json e;
  for (std::size_t k = 0; k < rows.columns.size(); ++k) {
    const auto& v = rows.rows[i][k];
    const auto& column = rows.columns[k];
    if (std::holds_alternative<std::nullptr_t>(v)) {
      e[column] = nullptr;
    } else if (std::holds_alternative<std::int64_t>(v)) {
      e[column] = std::get<std::int64_t>(v);
    } else if (std::holds_alternative<std::string>(v)) {
      const auto& text = std::get<std::string>(v);
      const bool is_json = column == "request_data" || column == "response_data";
      e[column] = is_json ? json::parse(text, nullptr, false) : json(text);
    }
  }
  return e;
}

}  // namespace

asio::awaitable<Page> AuditLog::entries(const Filter& filter) {
  const auto query = query_of(filter);
  const auto rows = co_await db_.run([&](db::Connection& c) { return c.query(query.first, query.second); });
  Page page;
  for (std::size_t i = 0; i < rows.rows.size(); ++i) page.entries.push_back(entry_of(rows, i));
  if (static_cast<int>(page.entries.size()) == filter.limit) page.next_before = page.entries.back()["id"].get<std::int64_t>();
  co_return page;
}

}  // namespace nsl::services::audit
