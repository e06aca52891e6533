#pragma once

#include "nsl/core/config.hpp"

namespace nsl::services::identity {

/// `Quotas` for identity: API keys per account (wallet sign-in makes accounts for anybody).
struct Settings {
  int api_keys_per_account = 100;  // API keys not revoked
  bool operator==(const Settings&) const = default;
};

/// The keys of `Quotas` this service reads (and their defaults, above).
const config::SectionSpec& settings_spec();

}  // namespace nsl::services::identity
