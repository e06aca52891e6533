#pragma once

// Test helper for a service's own logic: a fresh database on the backend the test is
// parameterised with (SQLite, or PostgreSQL when NSL_TEST_PG_URL names a server), one real
// enclave process shared by the test binary, and a two-level cache without Redis.
//
//   class Keys : public services::testing::ServiceTest { protected: Keys() : ServiceTest(keys::migrations()) {} };
//   TEST_P(Keys, ...) { KeyService keys(*db_, enclave(), cache_, Settings{}); ... }
//   INSTANTIATE_TEST_SUITE_P(Db, Keys, services::testing::kBackends, services::testing::backend_name);

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "nsl/cache/cache.hpp"
#include "nsl/core/errors.hpp"
#include "nsl/db/testing/backend.hpp"
#include "nsl/enclave/testing/local_enclave.hpp"
#include "nsl/identity/schema.hpp"

namespace nsl::services::testing {

inline const auto kBackends = ::testing::Values(std::string("sqlite"), std::string("postgres"));
inline std::string backend_name(const ::testing::TestParamInfo<std::string>& p) { return p.param; }

/// The kind of RequestError `f` throws; ErrorKind::internal when it throws none.
template <class F>
ErrorKind failure_kind(F f) {
  try {
    f();
  } catch (const RequestError& e) {
    return e.kind();
  }
  return ErrorKind::internal;
}

class ServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  /// `own`: the service's schema versions (its module's migrations()), applied with the
  /// platform's and identity's (accounts).
  explicit ServiceTest(const std::vector<db::Migration>& own = {})
      : db_(GetParam(), db::compose_migrations({db::platform_migrations(), identity::migrations(), own})) {}

  void SetUp() override {
    if (!db_.available()) GTEST_SKIP() << "NSL_TEST_PG_URL is not set (scripts/test.sh starts a PostgreSQL server)";
  }

  /// The enclave, started once for the whole binary: each test's keys live in its own database.
  static enclave::EnclaveClient& enclave() {
    static enclave::testing::LocalEnclave e;
    return e.client();
  }

  /// Accounts (role user) that rows of a service may refer to.
  void add_accounts(std::initializer_list<const char*> ids) {
    db_->with_connection_blocking([&](db::Connection& c) {
      for (const std::string id : ids)
        c.query("INSERT INTO accounts (id, name, kind, role) VALUES ($1, $1, 'name', 'user')", {id});
    });
  }

  /// One number the database answers (a count).
  std::int64_t count(const std::string& sql, std::vector<db::Value> params = {}) {
    std::int64_t n = -1;
    db_->with_connection_blocking([&](db::Connection& c) { n = c.query(sql, params).get<std::int64_t>(0, 0); });
    return n;
  }

  db::testing::TestDatabase db_;
  metrics::Registry registry_;
  cache::Cache cache_{nullptr, cache::CacheOptions{}, "test-replica", registry_, log::Logger{}};
};

}  // namespace nsl::services::testing
