#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "nsl/app/services.hpp"
#include "nsl/core/testing/temp_dir.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/db/sqlite_database.hpp"

namespace nsl::app {
namespace {

// The one history the server applies, joined from the platform, identity and each module: its
// versions run 1, 2, 3, ... with no gap, so that no two modules could have claimed one number.
TEST(Schema, TheJoinedHistoryHasEveryVersionOnceInOrder) {
  int expected = 1;
  for (const auto& m : schema_migrations()) {
    EXPECT_EQ(m.version, expected++) << m.name;
    EXPECT_FALSE(m.name.empty());
  }
  EXPECT_GE(expected, 11);
}

// Databases in the field recorded these checksums when they applied each version: a change to
// the SQL of an applied migration (or moving it between modules in a way that changes its text)
// makes every such database refuse to start. New versions are added here when they are released.
TEST(Schema, AppliedMigrationsKeepTheirChecksums) {
  struct Pinned {
    int version;
    const char* sqlite;
    const char* postgres;
  };
  const Pinned pinned[] = {
      {1, "6274779b2bef7683f9cac2a69a22d7f283040a1a604e8cd107797e08deec6a33",
       "800e5b8cb45477879652665c928dbda2accdf8fcd9893cfa2def38310e5221e5"},
      {2, "ddef3f7e90d9d82cd060d8ddacc0516b800b848a3106f3df64841e97ea2bb0ef",
       "5a566c9dcba75f57bce952a0ebd40484f08f57bc5d1474dc6e4aa6d16d44cd11"},
      {3, "c239ada83e781909c924f2fd41b2f189270775d9d8ef5f21eb6fdee8ad2e8672",
       "df5ac2a363c2e18eed61008638e33c9a8ecaede80e052a23950da9df2a5f1bc0"},
      {4, "522eb426f73a9cfca51df97ee9c678fe150b48e6cb9ce0e481bd7da297f8f37d",
       "8a06e0804ca4bc735d47224d1f2155b1950f190a7d803b2bfdadf4806b69e72b"},
      {5, "30a1f847e7fb53a5ca9d08cb2237358ad33c7fa180769f280caa7ac87710fc75",
       "312b3050a5f1a8126243332025dfdb643fb5f3957dcd3a7ddd0e030c5fbb76e4"},
      {6, "99a1d1bd5532aab80db31dd654ce2a16f2de217d6e0965211b681d82d2f82021",
       "3b506e1d336e32aa72a7070fb9f5305b57702a66cc252670367276d8707fa7d2"},
      {7, "14a14aa3fc0f5e85ff05eeb1e01e87c3467b27bbab1d87ddcb45edb88f4820e3",
       "9a4b475c98565caa3403801b3ce322902f172733d9d383af1ad18e97d7726a41"},
      {8, "bb16c918689157a5de7454cdfa62dcb17437de375205a00d993526ea7a3eea3c",
       "b9193cb2b38f77735cb394a2aace4e90afb2232e51631d40c8691974229c052c"},
      {9, "69fbeeeff3069f860d159cf1a6703c7da94b5d37c7e9b78571c711c654ac1d34",
       "69fbeeeff3069f860d159cf1a6703c7da94b5d37c7e9b78571c711c654ac1d34"},
      {10, "38c659618c260f102e1e704c9461526e4ba7af60fbdae2dcc961a39bdece43de",
       "11744d162b0e94a69186e0bc63a6825a9b97b72c79e273b36010771ae705a970"},
  };
  const auto& all = schema_migrations();
  ASSERT_GE(all.size(), std::size(pinned));
  for (const auto& p : pinned) {
    const auto& m = all.at(static_cast<std::size_t>(p.version - 1));
    ASSERT_EQ(m.version, p.version);
    EXPECT_EQ(db::migration_checksum(m, db::Dialect::sqlite), p.sqlite) << "version " << p.version;
    EXPECT_EQ(db::migration_checksum(m, db::Dialect::postgres), p.postgres) << "version " << p.version;
  }
}

TEST(Schema, AFreshDatabaseGetsEveryModulesTables) {
  nsl::testing::TempDir dir{"schema"};
  auto c = db::SqliteDatabase::open({(dir.path() / "nsl.db").string(), 1, 10000});
  EXPECT_EQ(db::migrate(*c, schema_migrations()).size(), schema_migrations().size());
  for (const char* table : {"storage_data", "storage_keys", "oracle_requests", "audit_logs", "accounts", "api_keys",
                            "refresh_tokens", "revoked_tokens", "wallet_nonces", "keys", "secrets", "jobs", "chain_cursors"}) {
    EXPECT_EQ(c->query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1", {std::string(table)})
                  .get<std::int64_t>(0, 0),
              1)
        << table;
  }
  std::vector<std::string> columns;
  for (const auto& row : c->query("SELECT name FROM pragma_table_info('storage_data')").rows)
    columns.push_back(std::get<std::string>(row[0]));
  EXPECT_EQ(columns, (std::vector<std::string>{"id", "user_address", "key", "value", "encrypted", "access_level", "size_bytes",
                                               "created_at", "updated_at", "accessed_count", "last_accessed", "expires_at",
                                               "metadata", "deleted_at", "shared_with"}));
}

// `nsl retention run` prints one line per rule, in this order, as it always has.
TEST(Schema, RetentionRulesComeFromTheirModules) {
  std::vector<std::string> what;
  for (const auto& r : retention_rules()) what.push_back(r.what);
  EXPECT_EQ(what, (std::vector<std::string>{"expired storage entries removed", "expired sign-in nonces and tokens removed"}));
}

}  // namespace
}  // namespace nsl::app
