#include "nsl/services/secrets/settings.hpp"

namespace nsl::services::secrets {

const config::SectionSpec& settings_spec() {
  static const config::SectionSpec spec =
      config::Section<Settings>("Quotas")
          .integer("SecretsPerAccount", &Settings::secrets_per_account, 1, 10000000, "secret names one account may hold")
          .integer("SecretVersionsKept", &Settings::versions_kept, 1, 1000, "versions of one secret kept; older ones are deleted")
          .spec();
  return spec;
}

}  // namespace nsl::services::secrets
