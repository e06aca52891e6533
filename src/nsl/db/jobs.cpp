#include "nsl/db/jobs.hpp"

#include "nsl/core/ids.hpp"

namespace nsl::db {

asio::awaitable<std::string> JobQueue::enqueue(std::string queue, std::string payload_json, int max_attempts,
                                               std::chrono::system_clock::duration delay) {
  auto id = random_uuid();
  const Statement insert{
      "INSERT INTO jobs (id, queue, payload, status, max_attempts, run_at) VALUES ($1, $2, $3, 'pending', $4, $5)",
      {id, std::move(queue), std::move(payload_json), std::int64_t{max_attempts}, utc_now_text(delay)}};
  co_await db_.write(insert);
  co_return id;
}

asio::awaitable<std::vector<Job>> JobQueue::lease(std::string queue, int limit, std::chrono::milliseconds lease_for) {
  const auto now = utc_now_text();
  const auto until = utc_now_text(lease_for);
  const auto rows = co_await db_.run([&](Connection& c) {
    // One statement, outside an explicit transaction: on PostgreSQL the row locks of SKIP LOCKED
    // keep concurrent replicas off each other's jobs; SQLite runs one writer at a time.
    const std::string lock = c.dialect() == Dialect::postgres ? " FOR UPDATE SKIP LOCKED" : "";
    return c.query(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1 "
        "WHERE id IN (SELECT id FROM jobs WHERE queue = $3 AND "
        "((status = 'pending' AND run_at <= $4) OR (status = 'running' AND lease_until < $4)) "
        "ORDER BY run_at, id LIMIT $5" +
            lock +
            ") "
            "RETURNING id, queue, payload, attempts, max_attempts",
        {owner_, until, queue, now, std::int64_t{limit}});
  });
  std::vector<Job> jobs;
  for (std::size_t i = 0; i < rows.rows.size(); ++i) {
    jobs.push_back({rows.get<std::string>(i, 0), rows.get<std::string>(i, 1), rows.get<std::string>(i, 2),
                    rows.get<std::int64_t>(i, 3), rows.get<std::int64_t>(i, 4)});
  }
  co_return jobs;
}

asio::awaitable<bool> JobQueue::extend(const Job& job, std::chrono::milliseconds lease_for) {
  const auto r = co_await db_.run([&](Connection& c) {
    return c.query("UPDATE jobs SET lease_until = $4 WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND status = 'running'",
                   {job.id, owner_, job.attempt, utc_now_text(lease_for)});
  });
  co_return r.affected == 1;
}

asio::awaitable<bool> JobQueue::complete(const Job& job, std::string result_json) {
  const Statement done{
      "UPDATE jobs SET status = 'done', result = $4, finished_at = $5, lease_owner = NULL, lease_until = NULL "
      "WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND status = 'running'",
      {job.id, owner_, job.attempt, std::move(result_json), utc_now_text()}};
  const auto r = co_await db_.write(done);
  co_return r.affected == 1;
}

asio::awaitable<bool> JobQueue::fail(const Job& job, std::string error, std::chrono::milliseconds retry_in) {
  const auto r = co_await db_.run([&](Connection& c) {
    auto out = c.query(
        "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END, "
        "error = $4, run_at = $5, lease_owner = NULL, lease_until = NULL "
        "WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND status = 'running'",
        {job.id, owner_, job.attempt, error, utc_now_text(retry_in)});
    c.query("UPDATE jobs SET finished_at = $2 WHERE id = $1 AND status = 'failed' AND finished_at IS NULL",
            {job.id, utc_now_text()});
    return out;
  });
  co_return r.affected == 1;
}

}  // namespace nsl::db
