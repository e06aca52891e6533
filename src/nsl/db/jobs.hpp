#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nsl/db/database.hpp"

namespace nsl::db {

/// A leased job: `attempt` is the fencing number of this lease (a holder whose lease expired and
/// was taken over can no longer complete the job).
struct Job {
  std::string id;
  std::string queue;
  std::string payload;  // JSON text
  std::int64_t attempt = 0;
  std::int64_t max_attempts = 0;
};

/// Background work shared by every replica of one database (oracle, randomness, automation run on
/// it). A job is leased by one replica at a time — `FOR UPDATE SKIP LOCKED` on PostgreSQL, the
/// single writer on SQLite — for a lease duration the holder extends while it works. A holder that
/// dies stops extending; once the lease expires another replica leases the job again. Completion
/// is accepted only from the current lease, so each job is completed exactly once.
class JobQueue {
 public:
  /// `owner` names this replica in leases (host and pid make a good one).
  JobQueue(Database& db, std::string owner) : db_(db), owner_(std::move(owner)) {}

  /// Adds a job; returns its id. `run_at` delays it.
  asio::awaitable<std::string> enqueue(std::string queue, std::string payload_json, int max_attempts = 5,
                                       std::chrono::system_clock::duration delay = {});
  /// Leases up to `limit` jobs of `queue` that are due, or whose lease expired.
  asio::awaitable<std::vector<Job>> lease(std::string queue, int limit, std::chrono::milliseconds lease_for);
  /// Extends the lease; false if it was lost (expired and taken by another replica).
  asio::awaitable<bool> extend(const Job& job, std::chrono::milliseconds lease_for);
  /// Records the result; false if the lease was lost, in which case the result is discarded.
  asio::awaitable<bool> complete(const Job& job, std::string result_json);
  /// Records a failure: the job runs again after `retry_in` unless it has used its attempts.
  asio::awaitable<bool> fail(const Job& job, std::string error, std::chrono::milliseconds retry_in);

  const std::string& owner() const noexcept { return owner_; }

 private:
  Database& db_;
  std::string owner_;
};

}  // namespace nsl::db
