#pragma once

#include <vector>

#include "nsl/core/config.hpp"
#include "nsl/services/common/service.hpp"

namespace nsl::app {

/// The services this server runs, in the order their routes are added and their background work
/// starts. A new service adds its module here (and its folder to the build).
const std::vector<const services::Module*>& service_modules();

/// The settings sections the services own, in the order `nsl config check` prints them: each
/// module's section, then identity's.
const config::SectionSpecs& service_settings();

/// The one schema history: the platform's versions, identity's and each module's
/// (db::compose_migrations; a version two modules claim stops the program at once).
const std::vector<db::Migration>& schema_migrations();

/// What retention removes besides old audit records: each module's rules, then identity's.
const std::vector<db::Retention>& retention_rules();

}  // namespace nsl::app
