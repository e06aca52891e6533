#include "nsl/identity/settings.hpp"

namespace nsl::identity {

const config::SectionSpec& settings_spec() {
  static const config::SectionSpec spec = config::Section<QuotaSettings>("Quotas")
                                              .integer("ApiKeysPerAccount", &QuotaSettings::api_keys_per_account, 1, 100000,
                                                       "API keys not revoked one account may hold")
                                              .spec();
  return spec;
}

}  // namespace nsl::identity
