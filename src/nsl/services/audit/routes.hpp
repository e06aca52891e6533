#pragma once

#include "nsl/http/router.hpp"
#include "nsl/services/audit/audit.hpp"

namespace nsl::services::audit {

/// GET /v1/audit: entries newest first, filtered by principal, service, event type, request id,
/// status and time range (`from`, `to`: UTC times or dates), `limit` (at most 1000) and the
/// cursor `before` (an entry id). Needs audit:read (auditors and admins).
void add_routes(http::Router& router, AuditLog& log);

}  // namespace nsl::services::audit
