#include "nsl/services/storage/schema.hpp"

#include <chrono>

namespace nsl::services::storage {
namespace {

// The guide's later sections query storage_data.deleted_at (§13.2.2 composite index, §17.2
// retention and erasure), which its §9.1.2 schema lacks; this version adds it.
constexpr const char* kV2Sqlite = R"sql(
ALTER TABLE storage_data ADD COLUMN deleted_at TEXT;
CREATE INDEX idx_storage_composite ON storage_data(user_address, created_at DESC) WHERE deleted_at IS NULL;
)sql";

constexpr const char* kV2Postgres = R"sql(
ALTER TABLE storage_data ADD COLUMN deleted_at TIMESTAMPTZ;
CREATE INDEX idx_storage_composite ON storage_data(user_address, created_at DESC) WHERE deleted_at IS NULL;
)sql";

// Storage service: with whom an entry is shared, and each owner's data key sealed by the enclave.
constexpr const char* kV8Sqlite = R"sql(
ALTER TABLE storage_data ADD COLUMN shared_with TEXT CHECK (shared_with IS NULL OR json_valid(shared_with));
CREATE TABLE storage_keys (
  owner      TEXT PRIMARY KEY,
  sealed     TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
)sql";

constexpr const char* kV8Postgres = R"sql(
ALTER TABLE storage_data ADD COLUMN shared_with JSONB;
CREATE TABLE storage_keys (
  owner      VARCHAR(42) PRIMARY KEY,
  sealed     TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);
)sql";

// The unique (user_address, key) index answers every lookup these two did, and every write paid
// for them. Worse, PostgreSQL's generic plans for a one-entry lookup picked them (or the partial
// listing index) on a table whose statistics were not yet gathered, and then read every entry of
// the owner for each lookup.
constexpr const char* kV9 = R"sql(
DROP INDEX idx_storage_user_address;
DROP INDEX idx_storage_key;
)sql";

}  // namespace

std::vector<db::Migration> migrations() {
  return {
      {2,
       "storage_data.deleted_at and the composite listing index",
       {{db::Dialect::sqlite, kV2Sqlite}, {db::Dialect::postgres, kV2Postgres}}},
      {8, "storage: sharing and per-owner data keys", {{db::Dialect::sqlite, kV8Sqlite}, {db::Dialect::postgres, kV8Postgres}}},
      {9,
       "storage: drop the single-column indexes the unique (user_address, key) index covers",
       {{db::Dialect::sqlite, kV9}, {db::Dialect::postgres, kV9}}},
  };
}

std::vector<db::Retention> retention() {
  return {
      {"storage_expired", "expired storage entries removed", [](db::Connection& c, std::chrono::system_clock::time_point now) {
         return c.query("DELETE FROM storage_data WHERE expires_at IS NOT NULL AND expires_at < $1", {db::utc_text(now)})
             .affected;
       }}};
}

}  // namespace nsl::services::storage
