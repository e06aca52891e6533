// The Storage service's own logic, without HTTP: a real enclave process and a real database, on
// SQLite and on PostgreSQL (when NSL_TEST_PG_URL names a server).

#include <gtest/gtest.h>

#include <set>

#include "nsl/core/errors.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/services/common/testing/service_test.hpp"
#include "nsl/services/storage/storage.hpp"
#include "nsl/services/storage/schema.hpp"

namespace nsl::services::storage {
namespace {

using nsl::testing::run_sync;
using services::testing::failure_kind;

Put value(std::string key, std::string clear, bool encrypted = false) {
  Put p;
  p.key = std::move(key);
  p.clear = std::move(clear);
  p.encrypted = encrypted;
  return p;
}

std::string without_spaces(std::string s) {
  std::erase(s, ' ');
  return s;
}

class Storage : public services::testing::ServiceTest {
 protected:
  Storage() : ServiceTest(storage::migrations()) {}
  void SetUp() override {
    ServiceTest::SetUp();
    if (IsSkipped()) return;
    service_ = std::make_unique<StorageService>(*db_, enclave(), cache_, Settings{3, 1}, registry_, log::Logger{});
  }
  StorageService& storage() { return *service_; }
  std::string read(const std::string& owner, const std::string& key, const std::string& reader = "", bool own = true) {
    const auto entry = run_sync(storage().readable(owner, key, reader, own));
    return run_sync(storage().value(owner, key, *entry));
  }
  std::string stored_text() {
    std::string all;
    db_->with_connection_blocking([&](db::Connection& c) {
      const auto r = c.query("SELECT value FROM storage_data");
      for (std::size_t i = 0; i < r.rows.size(); ++i) all += r.get<std::string>(i, 0);
    });
    return all;
  }

  std::unique_ptr<StorageService> service_;
};

TEST_P(Storage, AValueIsStoredAsSentAndReplaced) {
  const std::string big = R"({"wei":123456789012345678901234567890,"list":[1,2.5,"x",null,true]})";
  EXPECT_TRUE(run_sync(storage().put("neo-n3:a", value("k1", big))).created);
  // As sent, no rounding beyond 64 bits (PostgreSQL's json type may space it out).
  EXPECT_EQ(without_spaces(read("neo-n3:a", "k1")), big);
  EXPECT_FALSE(run_sync(storage().put("neo-n3:a", value("k1", "[1,2,3]"))).created);
  EXPECT_EQ(without_spaces(read("neo-n3:a", "k1")), "[1,2,3]");  // the cached entry was replaced too
  EXPECT_EQ(failure_kind([&] { read("neo-n3:b", "k1"); }), ErrorKind::not_found);
}

TEST_P(Storage, AnEncryptedValueIsStoredOnlyAsCiphertext) {
  run_sync(storage().put("neo-n3:a", value("secret", R"("the clear text")", true)));
  EXPECT_EQ(stored_text().find("the clear text"), std::string::npos);
  EXPECT_EQ(read("neo-n3:a", "secret"), R"("the clear text")");
  const auto exported = run_sync(storage().export_owner("neo-n3:a"));
  ASSERT_EQ(exported.size(), 1u);
  EXPECT_EQ(exported[0].stored, R"("the clear text")");
  EXPECT_TRUE(exported[0].encrypted);
}

TEST_P(Storage, OthersReadOnlyWhatIsSharedWithThemOrPublic) {
  run_sync(storage().put("neo-n3:a", value("k", "1")));
  EXPECT_EQ(failure_kind([&] { read("neo-n3:a", "k", "bob", false); }), ErrorKind::not_found);
  run_sync(storage().share("neo-n3:a", "k", "shared", R"(["bob"])"));
  EXPECT_EQ(read("neo-n3:a", "k", "bob", false), "1");
  EXPECT_EQ(failure_kind([&] { read("neo-n3:a", "k", "carol", false); }), ErrorKind::not_found);
  run_sync(storage().share("neo-n3:a", "k", "public", "[]"));
  EXPECT_EQ(read("neo-n3:a", "k", "carol", false), "1");
  EXPECT_EQ(failure_kind([&] { run_sync(storage().share("neo-n3:a", "missing", "public", "[]")); }), ErrorKind::not_found);
}

TEST_P(Storage, QuotasCountEntriesAndBytesButNotReplacements) {
  for (const auto* k : {"a", "b", "c"}) run_sync(storage().put("neo-x:q", value(k, "1")));
  EXPECT_EQ(failure_kind([&] { run_sync(storage().put("neo-x:q", value("d", "1"))); }), ErrorKind::conflict);  // 3 keys
  for (int i = 0; i < 5; ++i) run_sync(storage().put("neo-x:q", value("a", std::to_string(i))));  // replacing is free
  const std::string half(600 * 1024, 'x');
  run_sync(storage().put("neo-x:r", value("big", '"' + half + '"')));
  EXPECT_EQ(failure_kind([&] { run_sync(storage().put("neo-x:r", value("big2", '"' + half + '"'))); }),
            ErrorKind::conflict);                                        // 1 MiB
  run_sync(storage().put("neo-x:r", value("big", '"' + half + "y\"")));  // the old size is given back
  run_sync(storage().remove("neo-x:q", "a"));
  run_sync(storage().put("neo-x:q", value("d", "1")));  // room again
}

TEST_P(Storage, ListingIsNewestFirstWithPrefixAndCursor) {
  for (const auto* k : {"p:1", "q:1", "p:2"}) run_sync(storage().put("neo-n3:l", value(k, "0")));
  const auto all = run_sync(storage().list("neo-n3:l", "", 10, ""));
  ASSERT_EQ(all.items.size(), 3u);
  EXPECT_FALSE(all.next);
  EXPECT_GE(all.items[0].created_at, all.items[1].created_at);
  EXPECT_GE(all.items[1].created_at, all.items[2].created_at);
  const auto first = run_sync(storage().list("neo-n3:l", "p:", 1, ""));
  ASSERT_EQ(first.items.size(), 1u);
  ASSERT_TRUE(first.next);
  const auto second = run_sync(storage().list("neo-n3:l", "p:", 1, *first.next));
  ASSERT_EQ(second.items.size(), 1u);
  ASSERT_TRUE(second.next);
  EXPECT_TRUE(run_sync(storage().list("neo-n3:l", "p:", 1, *second.next)).items.empty());
  EXPECT_EQ((std::set<std::string>{first.items[0].key, second.items[0].key}), (std::set<std::string>{"p:1", "p:2"}));
  try {
    run_sync(storage().list("neo-n3:l", "", 10, "zz"));
    FAIL() << "a made-up cursor was taken";
  } catch (const RequestError& e) {
    ASSERT_EQ(e.field_errors().size(), 1u);
    EXPECT_EQ(e.field_errors()[0].field, "cursor");
  }
}

TEST_P(Storage, AnExpiredEntryIsNotRead) {
  auto p = value("old", "1");
  p.expires_at = db::utc_now_text(-std::chrono::seconds(1));
  run_sync(storage().put("neo-n3:e", std::move(p)));
  EXPECT_EQ(failure_kind([&] { read("neo-n3:e", "old"); }), ErrorKind::not_found);
}

TEST_P(Storage, RetentionRemovesExpiredEntriesOnly) {
  auto gone = value("gone", "1");
  gone.expires_at = db::utc_now_text(-std::chrono::seconds(1));
  run_sync(storage().put("neo-n3:r", std::move(gone)));
  auto later = value("later", "2");
  later.expires_at = db::utc_now_text(std::chrono::hours(1));
  run_sync(storage().put("neo-n3:r", std::move(later)));
  run_sync(storage().put("neo-n3:r", value("kept", "3")));
  const auto rules = storage::retention();
  ASSERT_EQ(rules.size(), 1u);
  std::int64_t removed = -1;
  db_->with_connection_blocking([&](db::Connection& c) { removed = rules[0].apply(c, std::chrono::system_clock::now()); });
  EXPECT_EQ(removed, 1);
  EXPECT_EQ(count("SELECT count(*) FROM storage_data WHERE user_address = 'neo-n3:r'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM storage_data WHERE key = 'gone'"), 0);
}

TEST_P(Storage, ReadsAreCountedInBatches) {
  run_sync(storage().put("neo-n3:c", value("k", "1")));
  for (int i = 0; i < 3; ++i) read("neo-n3:c", "k");
  EXPECT_EQ(run_sync(storage().access_counts("neo-n3:c", "k"))->first, 0);  // not written yet
  run_sync(storage().flush_access_counts());
  const auto counts = run_sync(storage().access_counts("neo-n3:c", "k"));
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->first, 3);
  EXPECT_NE(counts->second, "null");
}

TEST_P(Storage, ErasingAnOwnerTakesItsEntriesAndDataKey) {
  run_sync(storage().put("neo-n3:gone", value("a", "1", true)));
  run_sync(storage().put("neo-n3:gone", value("b", "2")));
  run_sync(storage().put("neo-n3:kept", value("a", "3")));
  read("neo-n3:gone", "a");  // cached
  EXPECT_EQ(run_sync(storage().compliance(std::string("neo-n3:gone"))).first.records, 2);
  EXPECT_EQ(run_sync(storage().compliance(std::string("neo-n3:gone"))).first.encrypted, 1);
  EXPECT_EQ(run_sync(storage().erase_owner("neo-n3:gone", "admin")), 2);
  EXPECT_EQ(failure_kind([&] { read("neo-n3:gone", "a"); }), ErrorKind::not_found);
  EXPECT_TRUE(run_sync(storage().export_owner("neo-n3:gone")).empty());
  EXPECT_EQ(read("neo-n3:kept", "a"), "3");
  EXPECT_EQ(count("SELECT count(*) FROM storage_keys WHERE owner = $1", {"neo-n3:gone"}), 0);
  EXPECT_EQ(run_sync(storage().compliance(std::nullopt)).first.records, 1);
}

INSTANTIATE_TEST_SUITE_P(Db, Storage, services::testing::kBackends, services::testing::backend_name);

}  // namespace
}  // namespace nsl::services::storage
