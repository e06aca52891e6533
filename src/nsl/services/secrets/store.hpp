#pragma once

// The secrets table: every kept version of every secret, sealed (SQL that runs on SQLite and
// PostgreSQL alike).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/db/database.hpp"

namespace nsl::services::secrets {

/// What is known of a secret without opening it: its newest version.
struct Metadata {
  std::string name;
  std::int64_t version = 0;
  std::int64_t bytes = 0;
  std::string created_at;
  bool operator==(const Metadata&) const = default;
};

/// The newest version of a secret, sealed.
struct Sealed {
  std::int64_t version = 0;
  crypto::Bytes sealed;
};

/// Why a version was not stored.
enum class StoreOutcome { stored, version_taken, gone, over_quota };

class SecretStore {
 public:
  explicit SecretStore(db::Database& database) : db_(database) {}

  /// The highest version of `name`, 0 if there is none.
  asio::awaitable<std::int64_t> newest_version(std::string account, std::string name);
  /// Stores `sealed` as `version` of `name`, in one write transaction, if that number is still
  /// the next one, the secret still exists (unless `create`), and a new name fits `quota`.
  /// Retires older versions and deletes all but the newest `versions_kept`.
  asio::awaitable<StoreOutcome> insert(std::string account, std::string name, std::int64_t version, crypto::Bytes sealed,
                                       std::int64_t bytes, bool create, int quota, int versions_kept, Metadata& stored);
  asio::awaitable<std::vector<Metadata>> list(std::string account);
  asio::awaitable<std::optional<Metadata>> metadata(std::string account, std::string name);
  asio::awaitable<std::optional<Sealed>> newest(std::string account, std::string name);
  /// Deletes every version; how many rows went.
  asio::awaitable<std::int64_t> remove(std::string account, std::string name);

 private:
  db::Database& db_;
};

}  // namespace nsl::services::secrets
