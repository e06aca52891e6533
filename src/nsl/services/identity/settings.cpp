#include "nsl/services/identity/settings.hpp"

namespace nsl::services::identity {

const config::SectionSpec& settings_spec() {
  static const config::SectionSpec spec =
      config::Section<Settings>("Quotas")
          .integer("ApiKeysPerAccount", &Settings::api_keys_per_account, 1, 100000, "API keys not revoked one account may hold")
          .spec();
  return spec;
}

}  // namespace nsl::services::identity
