#pragma once

// Secrets: named, versioned values per account, sealed by the enclave (the database holds only
// sealed blobs bound to account, name and version). What the service does, without HTTP.

#include <optional>
#include <string>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/db/database.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/services/secrets/settings.hpp"
#include "nsl/services/secrets/store.hpp"

namespace nsl::services::secrets {

/// A secret's name: 1 to 128 letters, digits and - _ . : (400 naming `name` otherwise).
std::string valid_name(std::string_view name);

class SecretService {
 public:
  SecretService(db::Database& database, enclave::EnclaveClient& enclave, Settings settings);

  /// Version 1 of a new secret: 409 when the name is taken or the account holds
  /// Quotas:SecretsPerAccount names. `value` (1 byte to 64 KiB) is wiped.
  asio::awaitable<Metadata> create(std::string account, std::string name, std::string value);
  /// The next version of an existing secret (404 if there is none); the newest
  /// Quotas:SecretVersionsKept versions are kept. `value` is wiped.
  asio::awaitable<Metadata> update(std::string account, std::string name, std::string value);
  asio::awaitable<std::vector<Metadata>> list(std::string account);
  /// 404 if there is no such secret.
  asio::awaitable<Metadata> metadata(std::string account, std::string name);
  /// The newest value, for the caller or for services that use it on the caller's behalf (oracle
  /// request headers, compute jobs) without returning it; std::nullopt if there is none.
  asio::awaitable<std::optional<std::string>> value(std::string account, std::string name);
  /// Deletes every version; 404 if there is none.
  asio::awaitable<void> remove(std::string account, std::string name);

 private:
  asio::awaitable<Metadata> store(std::string account, std::string name, std::string value, bool create);

  SecretStore store_;
  enclave::EnclaveClient& enclave_;
  Settings settings_;
};

}  // namespace nsl::services::secrets
