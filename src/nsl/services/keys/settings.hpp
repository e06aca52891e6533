#pragma once

#include "nsl/core/config.hpp"

namespace nsl::services::keys {

/// `Quotas` for keys: what one account may hold.
struct Settings {
  int keys_per_account = 1000;  // keys, each with all its versions
  int versions_kept = 10;       // versions of one key; older ones (sealed material too) are deleted
  bool operator==(const Settings&) const = default;
};

/// The keys of `Quotas` this service reads (and their defaults, above).
const config::SectionSpec& settings_spec();

}  // namespace nsl::services::keys
