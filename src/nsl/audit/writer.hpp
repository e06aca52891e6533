#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/db/database.hpp"
#include "nsl/http/pipeline.hpp"

namespace nsl::audit {

/// The audit trail (guide §17.1): entries queue in memory and a writer thread stores them in
/// audit_logs in batches (one transaction per batch, every 100 ms or 100 entries), so requests
/// never wait for it. A failed write is retried; entries are dropped only when the queue is full,
/// and then counted (`nsl_audit_records_dropped_total`) and logged, never silently. A record the
/// database refuses cannot hold back the others: it is stored without its free-text fields,
/// counted (`nsl_audit_records_reduced_total`) and logged. stop() — graceful shutdown — writes
/// everything still queued.
class AuditWriter final : public http::Auditor {
 public:
  AuditWriter(db::Database& database, metrics::Registry& registry, log::Logger log, std::size_t capacity = 100'000);
  ~AuditWriter() override;

  void record(http::AuditEntry entry) override;
  /// Returns once everything recorded so far is written (tests, `nsl audit export` consistency).
  void flush();
  /// Writes what is queued and stops the writer.
  void stop();

 private:
  void loop();
  bool write(std::deque<http::AuditEntry>& batch);
  bool write_each(std::deque<http::AuditEntry>& batch);
  /// The audit_logs row of an entry; `reduced` leaves out its free-text fields.
  static std::vector<db::Value> row_of(const http::AuditEntry& e, bool reduced);

  db::Database& db_;
  log::Logger log_;
  std::size_t capacity_;
  metrics::Counter& written_;
  metrics::Counter& dropped_;
  metrics::Counter& failures_;
  metrics::Counter& reduced_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<http::AuditEntry> queue_;
  std::size_t in_progress_ = 0;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point last_drop_log_{};
  std::thread thread_;
};

}  // namespace nsl::audit
