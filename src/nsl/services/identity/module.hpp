#pragma once

#include "nsl/services/common/service.hpp"

namespace nsl::services::identity {

/// This service in the service list (src/nsl/app/services.cpp).
const Module& module();

}  // namespace nsl::services::identity
