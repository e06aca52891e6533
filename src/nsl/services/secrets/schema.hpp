#pragma once

// The Secrets service: its schema versions (in the one history every module shares, src/nsl/app/services.cpp)
// and what retention removes of its data.

#include <vector>

#include "nsl/db/maintenance.hpp"
#include "nsl/db/migrations.hpp"

namespace nsl::services::secrets {

/// Version 6: sealed, versioned values per account.
std::vector<db::Migration> migrations();

}  // namespace nsl::services::secrets
