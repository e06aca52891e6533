#include "nsl/services/keys/settings.hpp"

namespace nsl::services::keys {

const config::SectionSpec& settings_spec() {
  static const config::SectionSpec spec =
      config::Section<Settings>("Quotas")
          .integer("KeysPerAccount", &Settings::keys_per_account, 1, 10000000,
                   "keys one account may hold (each with its versions)")
          .integer("KeyVersionsKept", &Settings::versions_kept, 1, 1000,
                   "versions of one key kept; older ones and their sealed material are deleted")
          .spec();
  return spec;
}

}  // namespace nsl::services::keys
