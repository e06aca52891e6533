#pragma once

#include "nsl/http/router.hpp"
#include "nsl/services/secrets/secrets.hpp"

namespace nsl::services::secrets {

/// The Secrets routes, each one parse → SecretService call → answer:
///   POST   /v1/secrets {name, value}          create                    secrets:write
///   PUT    /v1/secrets/{name} {value}         a new version             secrets:write
///   GET    /v1/secrets, /v1/secrets/{name}    metadata only             secrets:read-metadata
///   POST   /v1/secrets/{name}/reveal          the value                 secrets:read (not in the user role)
///   DELETE /v1/secrets/{name}                 every version             secrets:write
void add_routes(http::Router& router, SecretService& secrets);

}  // namespace nsl::services::secrets
