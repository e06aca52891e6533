#pragma once

#include "nsl/core/config.hpp"

namespace nsl::app {

/// The settings sections the services own, in the order `nsl config check` prints them. A new
/// service adds its spec here.
const config::SectionSpecs& service_settings();

}  // namespace nsl::app
