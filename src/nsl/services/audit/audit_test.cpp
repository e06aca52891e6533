// Reading the audit trail, without HTTP: entries the platform's audit writer stored, on SQLite
// and on PostgreSQL (when NSL_TEST_PG_URL names a server).

#include <gtest/gtest.h>

#include "nsl/audit/writer.hpp"
#include "nsl/core/testing/run_sync.hpp"
#include "nsl/db/maintenance.hpp"
#include "nsl/services/audit/audit.hpp"
#include "nsl/services/common/testing/service_test.hpp"

namespace nsl::services::audit {
namespace {

using nsl::testing::run_sync;

class Audit : public services::testing::ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    if (IsSkipped()) return;
    db_->with_connection_blocking([](db::Connection& c) { db::ensure_audit_partitions(c, std::chrono::system_clock::now()); });
    nsl::audit::AuditWriter writer(*db_, registry_, log::Logger{});
    for (int i = 0; i < 5; ++i) {
      http::AuditEntry e;
      e.service = i % 2 ? "keys" : "storage";
      e.method = "POST /v1/keys";
      e.principal = i < 3 ? "alice" : "bob";
      e.request_id = "req-" + std::to_string(i);
      e.status = i == 4 ? 409 : 200;
      e.request_data = R"({"query": {"n": )" + std::to_string(i) + "}}";
      writer.record(std::move(e));
    }
    writer.stop();
  }
  std::vector<std::string> request_ids(const Page& page) {
    std::vector<std::string> out;
    for (const auto& e : page.entries) out.push_back(e["request_id"].get<std::string>());
    return out;
  }
  AuditLog log_{*db_};
};

TEST_P(Audit, EntriesComeNewestFirstWithTheirJson) {
  const auto page = run_sync(log_.entries({}));
  EXPECT_EQ(request_ids(page), (std::vector<std::string>{"req-4", "req-3", "req-2", "req-1", "req-0"}));
  EXPECT_EQ(page.entries[0]["request_data"]["query"]["n"], 4);  // JSON, not text
  EXPECT_EQ(page.entries[0]["status_code"], 409);
  EXPECT_FALSE(page.next_before);
}

TEST_P(Audit, FiltersNarrowTheAnswer) {
  Filter f;
  f.principal = "alice";
  f.service = "storage";
  EXPECT_EQ(request_ids(run_sync(log_.entries(f))), (std::vector<std::string>{"req-2", "req-0"}));
  Filter by_status;
  by_status.status = 409;
  EXPECT_EQ(request_ids(run_sync(log_.entries(by_status))), (std::vector<std::string>{"req-4"}));
  Filter later;
  later.from = "2999-01-01";
  EXPECT_TRUE(run_sync(log_.entries(later)).entries.empty());
  Filter earlier;
  earlier.to = "2999-01-01T00:00:00Z";
  EXPECT_EQ(run_sync(log_.entries(earlier)).entries.size(), 5u);
}

TEST_P(Audit, PagesFollowTheCursor) {
  Filter f;
  f.limit = 2;
  std::vector<std::string> seen;
  for (int pages = 0; pages < 5; ++pages) {
    const auto page = run_sync(log_.entries(f));
    for (const auto& id : request_ids(page)) seen.push_back(id);
    if (!page.next_before) break;
    f.before = *page.next_before;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"req-4", "req-3", "req-2", "req-1", "req-0"}));
}

INSTANTIATE_TEST_SUITE_P(Db, Audit, services::testing::kBackends, services::testing::backend_name);

}  // namespace
}  // namespace nsl::services::audit
