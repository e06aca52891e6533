#pragma once

#include "nsl/services/common/service.hpp"

namespace nsl::services::keys {

/// Key Management in the service list: its settings (Quotas:KeysPerAccount, KeyVersionsKept)
/// and its routes.
const Module& module();

}  // namespace nsl::services::keys
