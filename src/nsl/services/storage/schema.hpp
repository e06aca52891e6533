#pragma once

// The Storage service: its schema versions (in the one history every module shares, src/nsl/app/services.cpp)
// and what retention removes of its data.

#include <vector>

#include "nsl/db/maintenance.hpp"
#include "nsl/db/migrations.hpp"

namespace nsl::services::storage {

/// Versions 2 (deleted_at and the listing index), 8 (sharing, data keys) and 9 (indexes dropped).
std::vector<db::Migration> migrations();

/// Entries past their expires_at.
std::vector<db::Retention> retention();

}  // namespace nsl::services::storage
