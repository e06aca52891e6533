#include "nsl/services/storage/settings.hpp"

namespace nsl::services::storage {

const config::SectionSpec& settings_spec() {
  static const config::SectionSpec spec =
      config::Section<Settings>("Storage")
          .integer("MaxKeysPerOwner", &Settings::max_keys_per_owner, 1, 100000000, "entries one owner may hold")
          .integer("MaxMegabytesPerOwner", &Settings::max_megabytes_per_owner, 1, 1024 * 1024, "MiB of values one owner may hold")
          .spec();
  return spec;
}

}  // namespace nsl::services::storage
