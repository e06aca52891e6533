#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/core/logging.hpp"
#include "nsl/db/database.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/http/pipeline.hpp"
#include "nsl/http/router.hpp"
#include "nsl/identity/jwt.hpp"
#include "nsl/identity/roles.hpp"

namespace nsl::identity {

struct IdentitySettings {
  std::string issuer = "neo-service-layer";
  std::string audience = "neo-service-layer";
  std::chrono::seconds access_ttl{std::chrono::hours(24)};
  std::chrono::seconds refresh_ttl{std::chrono::hours(24 * 7)};
  std::chrono::seconds nonce_ttl{std::chrono::minutes(5)};
  TokenKeys keys;  // HS256 with Jwt:Secret, else ES256 with the enclave's key
};

/// A new account and its first API key (shown once).
struct CreatedAccount {
  std::string account_id;
  std::string api_key;
};

/// Accounts (tenants), API keys, tokens and wallet sign-in; also the pipeline's authenticator.
/// Credentials: `Authorization: Bearer <access token>` or `X-API-Key: <key>`. API keys and
/// refresh tokens are stored as SHA-256 hashes only. Access tokens are JWTs (HS256 or ES256,
/// see IdentitySettings); their revocation is kept in the database, so every replica honours it.
class IdentityService final : public http::Authenticator {
 public:
  IdentityService(db::Database& database, enclave::EnclaveClient* enclave, IdentitySettings settings, log::Logger log);

  asio::awaitable<http::Principal> authenticate(http::Context& ctx) override;
  bool allows(const http::Principal& principal, std::string_view permission) const override;

  /// POST /v1/auth/token, /v1/auth/refresh, /v1/auth/revoke, GET /v1/auth/me,
  /// POST /v1/auth/wallet/challenge, /v1/auth/wallet/sign-in, and /v1/api-keys (create, list, revoke).
  void add_routes(http::Router& router);

  /// Creates an account with a first API key carrying all of its role's permissions (used by
  /// `nsl admin create`). Throws std::invalid_argument for a taken or malformed name.
  static CreatedAccount create_account(db::Connection& c, const std::string& name, Role role);

 private:
  asio::awaitable<nlohmann::json> issue_tokens(std::string account_id, std::string name, std::string role,
                                               std::vector<std::string> scope, std::string family);

  db::Database& db_;
  enclave::EnclaveClient* enclave_;
  IdentitySettings settings_;
  log::Logger log_;
};

}  // namespace nsl::identity
