#pragma once

// The keys table: every version of every key, its sealed blob and public key (SQL that runs on
// SQLite and PostgreSQL alike).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/db/database.hpp"

namespace nsl::services::keys {

/// One version of a key as stored.
struct KeyRecord {
  std::string id, name, kind;
  std::int64_t version = 0;
  std::string status;  // active | disabled | retired (an older version)
  crypto::Bytes sealed, public_key;
  bool exportable = false;
  std::string created_at;
  bool operator==(const KeyRecord&) const = default;
};

/// Why a new version was not stored.
enum class StoreOutcome { stored, name_taken, key_gone, version_taken, over_quota };

class KeyStore {
 public:
  explicit KeyStore(db::Database& database) : db_(database) {}

  /// The newest version of a key that is not retired.
  asio::awaitable<std::optional<KeyRecord>> newest(std::string account, std::string id);
  /// The newest version of every key of the account, oldest key first.
  asio::awaitable<std::vector<KeyRecord>> list(std::string account);
  /// The highest version number of a key, if it exists.
  asio::awaitable<std::optional<std::int64_t>> newest_version(std::string account, std::string id);

  /// Stores `record` (its created_at is set on success). Version 1 is a new key: refused when the
  /// account has a key of that name, or holds `quota` keys. A later version must be the next
  /// number; older versions are retired and all but the newest `versions_kept` deleted. Concurrent
  /// writers meet here, in one write transaction.
  asio::awaitable<StoreOutcome> insert(std::string account, KeyRecord& record, int quota, int versions_kept);
  /// Marks one version disabled.
  asio::awaitable<void> disable(std::string id, std::int64_t version);
  /// Deletes every version of a key; how many rows went.
  asio::awaitable<std::int64_t> remove(std::string account, std::string id);

 private:
  db::Database& db_;
};

}  // namespace nsl::services::keys
