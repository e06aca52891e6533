#pragma once

// The audit trail as its readers see it (guide §17.1): entries of audit_logs, newest first, by
// filter. The platform's audit writer (src/nsl/audit) records them; this service only reads.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "nsl/core/asio.hpp"
#include "nsl/db/database.hpp"

namespace nsl::services::audit {

/// Which entries: each set field narrows the answer.
struct Filter {
  std::optional<std::string> principal, service, event_type, request_id;
  std::optional<std::int64_t> status;
  std::optional<std::string> from, to;  // UTC times or dates: created_at >= from, < to
  std::optional<std::int64_t> before;   // the cursor: entries with a smaller id
  int limit = 100;
};

/// A page of entries; `next_before` continues it when the page is full.
struct Page {
  nlohmann::json entries = nlohmann::json::array();
  std::optional<std::int64_t> next_before;
};

class AuditLog {
 public:
  explicit AuditLog(db::Database& database) : db_(database) {}
  /// Entries newest first; request_data and response_data as the JSON they hold.
  asio::awaitable<Page> entries(const Filter& filter);

 private:
  db::Database& db_;
};

}  // namespace nsl::services::audit
