#pragma once

// Identity: its schema versions (in the one history every module shares, src/nsl/app/services.cpp)
// and what retention removes of its data.

#include <vector>

#include "nsl/db/maintenance.hpp"
#include "nsl/db/migrations.hpp"

namespace nsl::identity {

/// Versions 4 (accounts, API keys, tokens, nonces) and 10 (role changes, revoked keys reach tokens).
std::vector<db::Migration> migrations();

/// Expired sign-in nonces, refresh tokens and revocations of expired access tokens.
std::vector<db::Retention> retention();

}  // namespace nsl::identity
