#pragma once

#include "nsl/services/common/service.hpp"

namespace nsl::services::audit {

/// Reading the audit trail (GET /v1/audit), served when Security:EnableAuditLogging is on.
const Module& module();

}  // namespace nsl::services::audit
