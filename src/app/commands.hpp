#pragma once

#include <optional>
#include <string>

#include "nsl/core/config.hpp"

namespace nsl::app {

/// `nsl serve`: runs the API server until SIGTERM/SIGINT; returns the exit code.
int serve(const config::Source& source);

/// `nsl migrate`: applies pending migrations (or reports them with `status_only`).
int migrate(const config::Source& source, bool status_only, std::optional<int> target);

/// `nsl config check`: validates the configuration and prints it with secrets masked.
int config_check(const config::Source& source);

/// `nsl version`.
int version();

}  // namespace nsl::app
