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

}  // namespace nsl::app
