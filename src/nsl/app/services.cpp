#include "nsl/app/services.hpp"

#include "nsl/services/attestation/module.hpp"
#include "nsl/services/audit/module.hpp"
#include "nsl/services/identity/module.hpp"
#include "nsl/services/keys/module.hpp"
#include "nsl/services/secrets/module.hpp"
#include "nsl/services/storage/module.hpp"

namespace nsl::app {

const std::vector<const services::Module*>& service_modules() {
  static const std::vector<const services::Module*> modules{
      &services::attestation::module(), &services::storage::module(), &services::keys::module(),
      &services::secrets::module(),     &services::audit::module(),   &services::identity::module(),
  };
  return modules;
}

const config::SectionSpecs& service_settings() {
  static const config::SectionSpecs specs = [] {
    config::SectionSpecs out;
    for (const auto* m : service_modules()) {
      if (m->settings) out.push_back(m->settings);
    }
    return out;
  }();
  return specs;
}

const std::vector<db::Migration>& schema_migrations() {
  static const std::vector<db::Migration> all = [] {
    std::vector<std::vector<db::Migration>> parts{db::platform_migrations()};
    for (const auto* m : service_modules()) {
      if (m->migrations) parts.push_back(m->migrations());
    }
    return db::compose_migrations(parts);
  }();
  return all;
}

const std::vector<db::Retention>& retention_rules() {
  static const std::vector<db::Retention> rules = [] {
    std::vector<db::Retention> out;
    for (const auto* m : service_modules()) {
      if (!m->retention) continue;
      for (auto& rule : m->retention()) out.push_back(std::move(rule));
    }
    return out;
  }();
  return rules;
}

}  // namespace nsl::app
