// The Secrets service's own logic, without HTTP: a real enclave process and a real database, on
// SQLite and on PostgreSQL (when NSL_TEST_PG_URL names a server).

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "nsl/core/errors.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/services/common/testing/service_test.hpp"
#include "nsl/services/secrets/secrets.hpp"
#include "nsl/services/secrets/schema.hpp"

namespace nsl::services::secrets {
namespace {

using nsl::testing::run_sync;
using services::testing::failure_kind;

class Secrets : public services::testing::ServiceTest {
 protected:
  Secrets() : ServiceTest(secrets::migrations()) {}
  void SetUp() override {
    ServiceTest::SetUp();
    if (IsSkipped()) return;
    add_accounts({"acct-a", "acct-b"});
    service_ = std::make_unique<SecretService>(*db_, enclave(), Settings{2, 3});
  }
  SecretService& secrets() { return *service_; }
  std::int64_t stored_versions(const std::string& name) { return count("SELECT count(*) FROM secrets WHERE name = $1", {name}); }
  std::string stored_text() {
    std::string all;
    db_->with_connection_blocking([&](db::Connection& c) {
      const auto r = c.query("SELECT sealed FROM secrets");
      for (std::size_t i = 0; i < r.rows.size(); ++i) all += r.get<std::string>(i, 0);
    });
    return all;
  }

  std::unique_ptr<SecretService> service_;
};

TEST_P(Secrets, AValueIsStoredSealedAndReadBackByItsAccountOnly) {
  const auto m = run_sync(secrets().create("acct-a", "api.token", "s3cr3t-value"));
  EXPECT_EQ(m.name, "api.token");
  EXPECT_EQ(m.version, 1);
  EXPECT_EQ(m.bytes, 12);
  EXPECT_EQ(run_sync(secrets().value("acct-a", "api.token")), "s3cr3t-value");
  EXPECT_EQ(stored_text().find(crypto::to_hex(crypto::as_bytes("s3cr3t-value"))), std::string::npos);  // sealed, not hex of it
  EXPECT_EQ(run_sync(secrets().value("acct-b", "api.token")), std::nullopt);
  EXPECT_EQ(failure_kind([&] { run_sync(secrets().metadata("acct-b", "api.token")); }), ErrorKind::not_found);
  EXPECT_EQ(failure_kind([&] { run_sync(secrets().remove("acct-b", "api.token")); }), ErrorKind::not_found);
  EXPECT_EQ(run_sync(secrets().metadata("acct-a", "api.token")), m);
}

TEST_P(Secrets, UpdatesAddVersionsAndOnlyTheNewestAreKept) {
  run_sync(secrets().create("acct-a", "rotating", "v1"));
  Metadata last;
  for (int v = 2; v <= 5; ++v) last = run_sync(secrets().update("acct-a", "rotating", "v" + std::to_string(v)));
  EXPECT_EQ(last.version, 5);
  EXPECT_EQ(run_sync(secrets().value("acct-a", "rotating")), "v5");
  EXPECT_EQ(stored_versions("rotating"), 3);  // Settings{.versions_kept = 3}
  const auto list = run_sync(secrets().list("acct-a"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], last);
  EXPECT_EQ(failure_kind([&] { run_sync(secrets().update("acct-a", "missing", "x")); }), ErrorKind::not_found);
}

TEST_P(Secrets, ATakenNameAFullQuotaAndABadValueAreRefused) {
  run_sync(secrets().create("acct-a", "one", "1"));
  EXPECT_EQ(failure_kind([&] { run_sync(secrets().create("acct-a", "one", "again")); }), ErrorKind::conflict);
  run_sync(secrets().create("acct-a", "two", "2"));
  EXPECT_EQ(failure_kind([&] { run_sync(secrets().create("acct-a", "three", "3")); }), ErrorKind::conflict);  // quota 2
  run_sync(secrets().create("acct-b", "three", "3"));  // quotas are per account
  try {
    run_sync(secrets().create("acct-b", "big", std::string(64 * 1024 + 1, 'x')));
    FAIL() << "a value over 64 KiB was stored";
  } catch (const RequestError& e) {
    ASSERT_EQ(e.field_errors().size(), 1u);
    EXPECT_EQ(e.field_errors()[0].field, "value");
  }
  EXPECT_EQ(failure_kind([] { valid_name("bad name!"); }), ErrorKind::bad_request);
  EXPECT_EQ(valid_name("a.b:c-d_e"), "a.b:c-d_e");
}

TEST_P(Secrets, ConcurrentUpdatesEachStoreAVersionOfTheirOwn) {
  run_sync(secrets().create("acct-a", "busy", "0"));
  std::vector<std::thread> threads;
  std::mutex m;
  std::set<std::int64_t> versions;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      const auto v = run_sync(secrets().update("acct-a", "busy", "w" + std::to_string(i))).version;
      std::lock_guard lock(m);
      versions.insert(v);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(versions, (std::set<std::int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(run_sync(secrets().metadata("acct-a", "busy")).version, 5);
}

TEST_P(Secrets, ARemovedSecretIsGoneWithEveryVersion) {
  run_sync(secrets().create("acct-a", "gone", "1"));
  run_sync(secrets().update("acct-a", "gone", "2"));
  run_sync(secrets().remove("acct-a", "gone"));
  EXPECT_EQ(stored_versions("gone"), 0);
  EXPECT_EQ(run_sync(secrets().value("acct-a", "gone")), std::nullopt);
  EXPECT_EQ(failure_kind([&] { run_sync(secrets().remove("acct-a", "gone")); }), ErrorKind::not_found);
  EXPECT_EQ(run_sync(secrets().create("acct-a", "gone", "new")).version, 1);  // the name is free again
}

INSTANTIATE_TEST_SUITE_P(Db, Secrets, services::testing::kBackends, services::testing::backend_name);

}  // namespace
}  // namespace nsl::services::secrets
