#include "nsl/app/services.hpp"

#include "nsl/identity/settings.hpp"
#include "nsl/services/keys/settings.hpp"
#include "nsl/services/secrets/settings.hpp"
#include "nsl/services/storage/settings.hpp"

namespace nsl::app {

const config::SectionSpecs& service_settings() {
  static const config::SectionSpecs specs{
      &services::storage::settings_spec(),
      &services::keys::settings_spec(),
      &services::secrets::settings_spec(),
      &identity::settings_spec(),
  };
  return specs;
}

}  // namespace nsl::app
