#pragma once

#include <optional>
#include <string>

#include "nsl/core/asio.hpp"
#include "nsl/db/database.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/http/router.hpp"

namespace nsl::services::secrets {

/// The Secrets service: named, versioned values per account, sealed by the enclave (the database
/// holds only sealed blobs bound to account, name and version).
///   POST   /v1/secrets {name, value}          create                    secrets:write
///   PUT    /v1/secrets/{name} {value}         a new version             secrets:write
///   GET    /v1/secrets, /v1/secrets/{name}    metadata only             secrets:read-metadata
///   POST   /v1/secrets/{name}/reveal          the value                 secrets:read (not in the user role)
///   DELETE /v1/secrets/{name}                 every version             secrets:write
class SecretStore {
 public:
  /// An account holds at most `secrets_per_account` names (Quotas:SecretsPerAccount), each with
  /// its newest `versions_kept` versions (Quotas:SecretVersionsKept).
  SecretStore(db::Database& database, enclave::EnclaveClient& enclave, int secrets_per_account = 1000, int versions_kept = 10)
      : db_(database), enclave_(enclave), secrets_per_account_(secrets_per_account), versions_kept_(versions_kept) {}

  void add_routes(http::Router& router);
  /// The newest value of a secret, for services that use it on the caller's behalf (oracle
  /// request headers, compute jobs) without returning it; std::nullopt if there is none.
  asio::awaitable<std::optional<std::string>> value(std::string account, std::string name);

 private:
  db::Database& db_;
  enclave::EnclaveClient& enclave_;
  int secrets_per_account_;
  int versions_kept_;
};

}  // namespace nsl::services::secrets
