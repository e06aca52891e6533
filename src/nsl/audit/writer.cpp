#include "nsl/audit/writer.hpp"

#include <nlohmann/json.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/core/strings.hpp"

namespace nsl::audit {
namespace {

using nlohmann::json;
// A batch is written once this many records wait (or every 100 ms): small enough that the
// database's share of the work comes evenly, not as a burst that holds up other requests (with
// 500, the storage benchmark's p95 was 11 ms; with 100, 8 ms).
constexpr std::size_t kBatch = 100;
const std::vector<std::string> kColumns{"event_type",     "user_address",  "service_name",     "method_name",  "request_id",
                                        "correlation_id", "ip_address",    "user_agent",       "request_data", "response_data",
                                        "status_code",    "error_message", "execution_time_ms"};
constexpr const char* kReducedNote = "[the database refused this record's free-text fields; they were not stored]";

db::Value text_or_null(const std::string& s) { return s.empty() ? db::Value(nullptr) : db::Value(s); }

// PostgreSQL's jsonb cannot hold U+0000; an escaped NUL in a recorded body becomes U+FFFD so the
// record is still stored (on every dialect, so the trail reads the same everywhere).
std::string storable_json(std::string text) {
  for (auto pos = text.find("\\u0000"); pos != std::string::npos; pos = text.find("\\u0000", pos + 6)) {
    text.replace(pos, 6, "\\ufffd");
  }
  return text;
}

}  // namespace

AuditWriter::AuditWriter(db::Database& database, metrics::Registry& registry, log::Logger log, std::size_t capacity)
    : db_(database),
      log_(std::move(log)),
      capacity_(capacity),
      written_(registry.counter("nsl_audit_records_written_total", "Audit records stored in audit_logs.").with({})),
      dropped_(registry.counter("nsl_audit_records_dropped_total", "Audit records dropped because the queue was full.").with({})),
      failures_(registry.counter("nsl_audit_write_failures_total", "Failed attempts to store a batch of audit records (retried).")
                    .with({})),
      reduced_(registry
                   .counter("nsl_audit_records_reduced_total",
                            "Audit records stored without their free-text fields, which the database refused.")
                   .with({})) {
  registry.add_collector([this](std::vector<metrics::Registry::Sample>& out) {
    std::lock_guard lock(mutex_);
    out.push_back({"nsl_audit_queue_depth",
                   "Audit records waiting to be stored.",
                   metrics::Type::gauge,
                   {},
                   static_cast<double>(queue_.size() + in_progress_)});
  });
  thread_ = std::thread([this] { loop(); });
}

AuditWriter::~AuditWriter() { stop(); }

void AuditWriter::record(http::AuditEntry entry) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() < capacity_) {
      queue_.push_back(std::move(entry));
      if (queue_.size() >= kBatch) wake_.notify_one();
      return;
    }
  }
  dropped_.inc();
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (now - last_drop_log_ > std::chrono::seconds(1)) {
    last_drop_log_ = now;
    log_.error("audit queue full: records are being dropped (see nsl_audit_records_dropped_total)", {{"capacity", capacity_}});
  }
}

std::vector<db::Value> AuditWriter::row_of(const http::AuditEntry& e, bool reduced) {
  // Every text column valid UTF-8 without U+0000 and cut to its length at a character boundary,
  // so no header or message a client sent can make the database refuse the record.
  std::vector<db::Value> row;
  row.reserve(kColumns.size());
  row.emplace_back(storable_text(e.event_type, 50));
  row.push_back(text_or_null(storable_text(e.principal, 42)));
  row.emplace_back(storable_text(e.service, 50));
  row.emplace_back(storable_text(e.method, 100));
  row.emplace_back(storable_text(e.request_id, 100));
  row.emplace_back(storable_text(e.correlation_id, 100));
  row.push_back(text_or_null(storable_text(e.ip_address, 45)));
  row.push_back(text_or_null(reduced ? std::string() : storable_text(e.user_agent, 512)));
  row.push_back(text_or_null(reduced ? std::string() : storable_json(e.request_data)));
  row.push_back(text_or_null(reduced ? std::string() : storable_json(e.response_data)));
  row.emplace_back(std::int64_t{e.status});
  row.push_back(text_or_null(reduced ? std::string(kReducedNote) : storable_text(e.error_message, 4096)));
  row.emplace_back(e.execution_time_ms);
  return row;
}

bool AuditWriter::write(std::deque<http::AuditEntry>& batch) {
  try {
    std::vector<std::vector<db::Value>> rows;
    rows.reserve(batch.size());
    for (const auto& e : batch) rows.push_back(row_of(e, false));
    db_.with_connection_blocking([&](db::Connection& c) { c.insert_rows("audit_logs", kColumns, rows); });
    written_.inc(static_cast<double>(batch.size()));
    batch.clear();
    return true;
  } catch (const db::DatabaseError& e) {
    failures_.inc();
    if (e.transient()) {
      log_.error("cannot store audit records; retrying", {{"records", batch.size()}, {"error", e.what()}});
      return false;
    }
    log_.error("the database refused a batch of audit records; storing them one by one",
               {{"records", batch.size()}, {"error", e.what()}});
    return write_each(batch);
  } catch (const std::exception& e) {
    failures_.inc();
    log_.error("cannot store audit records; retrying", {{"records", batch.size()}, {"error", e.what()}});
    return false;
  }
}

// After a refused batch: each record alone, so that one the database will not take cannot hold
// back the others. A record refused on its own is stored without its free-text fields (user agent,
// bodies, error message), marked as such; it is never dropped. Stored records leave `batch`, so a
// retry after a later failure writes only the rest.
bool AuditWriter::write_each(std::deque<http::AuditEntry>& batch) {
  while (!batch.empty()) {
    bool stored = false;
    for (const bool reduced : {false, true}) {
      try {
        db_.with_connection_blocking(
            [&](db::Connection& c) { c.insert_rows("audit_logs", kColumns, {row_of(batch.front(), reduced)}); });
        stored = true;
        if (reduced) {
          log_.error("an audit record was stored without its free-text fields, which the database refused",
                     {{"request_id", storable_text(batch.front().request_id, 100)}});
          reduced_.inc();
        }
        break;
      } catch (const db::DatabaseError& e) {
        failures_.inc();
        if (e.transient() || reduced) {
          log_.error("cannot store audit records; retrying", {{"records", batch.size()}, {"error", e.what()}});
          return false;
        }
      } catch (const std::exception& e) {
        failures_.inc();
        log_.error("cannot store audit records; retrying", {{"records", batch.size()}, {"error", e.what()}});
        return false;
      }
    }
    if (!stored) return false;
    written_.inc();
    batch.pop_front();
  }
  return true;
}

void AuditWriter::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_ || queue_.size() >= kBatch; });
    if (queue_.empty()) {
      idle_.notify_all();
      if (stopping_) return;
      continue;
    }
    std::deque<http::AuditEntry> batch;
    const auto n = std::min(queue_.size(), kBatch * 4);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    in_progress_ = batch.size();
    lock.unlock();
    bool stored = write(batch);
    for (int attempt = 0; !stored && attempt < 50; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      stored = write(batch);
    }
    lock.lock();
    in_progress_ = 0;
    if (!stored) {
      // Still failing after ~10 s: back into the queue (oldest first); counted if it overflows.
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
      while (queue_.size() > capacity_) {
        queue_.pop_back();
        dropped_.inc();
      }
      if (stopping_) return;
    }
  }
}

void AuditWriter::flush() {
  std::unique_lock lock(mutex_);
  wake_.notify_one();
  idle_.wait_for(lock, std::chrono::seconds(30), [this] { return queue_.empty() && in_progress_ == 0; });
}

void AuditWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

}  // namespace nsl::audit
