#include "nsl/app/services.hpp"

#include "nsl/identity/settings.hpp"
#include "nsl/services/attestation/module.hpp"
#include "nsl/services/audit/module.hpp"
#include "nsl/services/keys/module.hpp"
#include "nsl/services/secrets/module.hpp"
#include "nsl/services/storage/module.hpp"

namespace nsl::app {

const std::vector<const services::Module*>& service_modules() {
  static const std::vector<const services::Module*> modules{
      &services::attestation::module(), &services::storage::module(), &services::keys::module(),
      &services::secrets::module(),     &services::audit::module(),
  };
  return modules;
}

const config::SectionSpecs& service_settings() {
  static const config::SectionSpecs specs = [] {
    config::SectionSpecs out;
    for (const auto* m : service_modules()) {
      if (m->settings) out.push_back(m->settings);
    }
    out.push_back(&identity::settings_spec());
    return out;
  }();
  return specs;
}

}  // namespace nsl::app
