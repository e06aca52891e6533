#pragma once

// The storage tables: storage_data (one row per owner and key; a deleted entry keeps its row
// until the retention job, with deleted_at set) and storage_keys (each owner's sealed data key).
// SQL that runs on SQLite and PostgreSQL alike.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/db/database.hpp"

namespace nsl::services::storage {

/// A new value for an entry, as it will be stored.
struct EntryWrite {
  std::string id;  // a new time-ordered id: kept only if the entry is created
  std::string owner, key;
  std::string stored;  // JSON text: the value as sent, or the ciphertext as a JSON string
  bool encrypted = false;
  std::string level;                      // used when the write creates the entry or `level_given`
  std::optional<std::string> principals;  // a JSON array, when given
  bool level_given = false;
  std::int64_t size = 0;  // of the clear value
  std::string now;
  std::optional<std::string> expires_at, metadata;
};

/// One entry of a listing.
struct Listed {
  std::string key;
  std::int64_t size_bytes = 0;
  bool encrypted = false;
  std::string access_level, created_at, updated_at;
  std::optional<std::string> expires_at;
};

/// One entry of an owner's export, the value as stored.
struct Exported {
  std::string key, stored;
  bool encrypted = false;
  std::string access_level;
  std::int64_t size_bytes = 0;
  std::string created_at, updated_at;
  std::optional<std::string> expires_at, metadata;
  std::int64_t accessed_count = 0;
};

/// Counts for the compliance report: all records, encrypted ones, and those older than the limit.
struct RecordCounts {
  std::int64_t records = 0, encrypted = 0, old = 0;
};

/// Reads since the last flush per (owner, key): how many, and the time of the last one.
struct OwnerKeyLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    const std::string_view a1 = a.first, a2 = a.second, b1 = b.first, b2 = b.second;
    return a1 < b1 || (a1 == b1 && a2 < b2);
  }
};
using Accesses =
    std::map<std::pair<std::string, std::string>, std::pair<std::int64_t, std::chrono::system_clock::time_point>, OwnerKeyLess>;

class StorageStore {
 public:
  explicit StorageStore(db::Database& database) : db_(database) {}

  db::Dialect dialect() const { return db_.dialect(); }

  /// A live entry as JSON text (the form the cache keeps), or nothing.
  asio::awaitable<std::optional<std::string>> load(std::string owner, std::string key);
  /// The size of the live entry under (owner, key), if there is one.
  asio::awaitable<std::optional<std::int64_t>> live_size(std::string owner, std::string key);
  /// The owner's live entries and their bytes.
  asio::awaitable<std::pair<std::int64_t, std::int64_t>> usage(std::string owner);
  /// Creates or replaces the entry (group commit may send several as one statement); true if it
  /// was created (a deleted entry stored again is created: a new id and creation time).
  asio::awaitable<bool> upsert(const EntryWrite& w);
  /// Adds read counts and the time of the last read.
  asio::awaitable<void> add_accesses(const Accesses& accesses);
  /// A page of the owner's live, unexpired entries, newest first, after (created_at, key).
  asio::awaitable<std::vector<Listed>> list(std::string owner, std::string prefix, int limit,
                                            std::optional<std::pair<std::string, std::string>> after);
  /// How many rows were deleted.
  asio::awaitable<std::int64_t> remove(std::string owner, std::string key);
  /// Sets who may read a live entry; how many rows changed.
  asio::awaitable<std::int64_t> share(std::string owner, std::string key, std::string level, std::string principals);
  asio::awaitable<std::optional<std::pair<std::int64_t, std::string>>> access_counts(std::string owner, std::string key);
  asio::awaitable<std::vector<Exported>> export_owner(std::string owner);
  /// The keys the owner has (live or deleted).
  asio::awaitable<std::vector<std::string>> keys_of(std::string owner);
  /// Deletes every row of the owner and its data key; the keys deleted.
  asio::awaitable<std::vector<std::string>> erase_owner(std::string owner);
  /// The owner's sealed data key (hex), if it has one.
  asio::awaitable<std::optional<std::string>> data_key(std::string owner);
  /// Stores a data key unless one exists already; the one stored (the winner's, if two raced).
  asio::awaitable<std::string> add_data_key(std::string owner, std::string sealed);
  /// Storage entries and audit records, of one owner or all, and how many are older than the limits.
  asio::awaitable<std::pair<RecordCounts, RecordCounts>> compliance(std::optional<std::string> owner, std::string storage_before,
                                                                    std::string audit_before);

 private:
  db::Database& db_;
};

}  // namespace nsl::services::storage
