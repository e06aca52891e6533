#pragma once

#include "nsl/http/router.hpp"

namespace nsl::identity {

/// `route` with its OpenAPI operation (operations.cpp); throws std::logic_error for a route that
/// has none, so that an undocumented identity route cannot start.
http::Route documented(http::Route route);

}  // namespace nsl::identity
