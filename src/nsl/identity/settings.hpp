#pragma once

#include "nsl/core/config.hpp"

namespace nsl::identity {

/// `Quotas` for identity: API keys per account (wallet sign-in makes accounts for anybody).
struct QuotaSettings {
  int api_keys_per_account = 100;  // API keys not revoked
  bool operator==(const QuotaSettings&) const = default;
};

/// The keys of `Quotas` identity reads (and their defaults, above).
const config::SectionSpec& settings_spec();

}  // namespace nsl::identity
