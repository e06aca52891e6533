#pragma once

#include "nsl/http/router.hpp"
#include "nsl/services/identity/identity.hpp"

namespace nsl::services::identity {

/// The identity routes, each one parse → IdentityService call → answer:
///   POST /v1/auth/token, /v1/auth/refresh           tokens for an API key or a refresh token  public
///   POST /v1/auth/wallet/challenge, /sign-in         wallet sign-in                            public
///   GET  /v1/auth/keys                               the ES256 public key                      public
///   POST /v1/auth/revoke, GET /v1/auth/me            the caller's token and principal
///   POST, GET /v1/api-keys, DELETE /v1/api-keys/{id} the caller's API keys
///   /v1/admin/accounts...                            list, show, create, role, disable, enable,
///                                                    API keys of another account  accounts:read, accounts:write
void add_routes(http::Router& router, IdentityService& identity);

}  // namespace nsl::services::identity
