#pragma once

// Key management: its schema versions (in the one history every module shares, src/nsl/app/services.cpp)
// and what retention removes of its data.

#include <vector>

#include "nsl/db/maintenance.hpp"
#include "nsl/db/migrations.hpp"

namespace nsl::services::keys {

/// Version 5: sealed key versions per account.
std::vector<db::Migration> migrations();

}  // namespace nsl::services::keys
