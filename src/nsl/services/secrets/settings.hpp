#pragma once

#include "nsl/core/config.hpp"

namespace nsl::services::secrets {

/// `Quotas` for secrets: what one account may hold.
struct Settings {
  int secrets_per_account = 1000;  // names
  int versions_kept = 10;          // versions of one secret; older ones are deleted
  bool operator==(const Settings&) const = default;
};

/// The keys of `Quotas` this service reads (and their defaults, above).
const config::SectionSpec& settings_spec();

}  // namespace nsl::services::secrets
