#pragma once

#include <cstdint>

#include "nsl/core/config.hpp"

namespace nsl::services::storage {

/// `Storage`: quotas per owner (entries and bytes of values).
struct Settings {
  std::int64_t max_keys_per_owner = 10000;
  std::int64_t max_megabytes_per_owner = 100;
  std::int64_t max_bytes_per_owner() const { return max_megabytes_per_owner << 20; }
  bool operator==(const Settings&) const = default;
};

/// The keys of `Storage` this service reads (and their defaults, above).
const config::SectionSpec& settings_spec();

}  // namespace nsl::services::storage
