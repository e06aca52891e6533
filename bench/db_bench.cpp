// Single-row upserts into storage_data through the database layer's write path
// (Database::write: group commit, pipelined on PostgreSQL), from CALLERS concurrent callers for
// SECONDS. Each write counts only once its commit is acknowledged. Prints JSON.
//
//   nsl_bench_db CONNECTION_STRING SECONDS CALLERS KEYS
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "nsl/core/asio.hpp"
#include "nsl/db/migrations.hpp"
#include "nsl/db/postgres.hpp"

namespace asio = boost::asio;

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s CONNECTION_STRING SECONDS CALLERS KEYS\n", argv[0]);
    return 2;
  }
  auto options = nsl::db::parse_pg_connection_string(argv[1]);
  const int seconds = std::stoi(argv[2]), callers = std::stoi(argv[3]), keys = std::stoi(argv[4]);
  options.max_pool = std::max(options.max_pool, 8);
  nsl::metrics::Registry registry;
  nsl::db::PgDatabase db(options, registry, nsl::log::Logger{});
  db.with_connection_blocking([](nsl::db::Connection& c) { nsl::db::migrate(c, nsl::db::platform_migrations()); });

  asio::io_context ioc;
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(callers));
  std::atomic<long> failures{0};
  for (int i = 0; i < callers; ++i) {
    asio::co_spawn(
        ioc,
        [&, i]() -> asio::awaitable<void> {
          std::minstd_rand random(static_cast<unsigned>(i + 1));
          auto& mine = latencies[static_cast<std::size_t>(i)];
          while (!stop.load(std::memory_order_relaxed)) {
            const nsl::db::Statement upsert{
                "INSERT INTO storage_data (user_address, key, value, size_bytes) VALUES ('bench', $1, '{\"v\":1}', 7) "
                "ON CONFLICT (user_address, key) DO UPDATE SET value = excluded.value, updated_at = now()",
                {"k" + std::to_string(random() % static_cast<unsigned>(keys) + 1)}};
            const auto t0 = Clock::now();
            try {
              co_await db.write(upsert);
              mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            } catch (const std::exception&) {
              ++failures;
            }
          }
        },
        asio::detached);
  }
  const auto started = Clock::now();
  std::thread timer([&] {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop = true;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads) t.join();
  timer.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const auto pct = [&](double q) {
    return all.empty() ? 0.0 : all[static_cast<std::size_t>(q * static_cast<double>(all.size() - 1))];
  };
  std::printf("{\"writes\": %zu, \"per_s\": %.0f, \"p50_ms\": %.2f, \"p99_ms\": %.2f, \"failures\": %ld}\n", all.size(),
              static_cast<double>(all.size()) / elapsed, pct(0.5), pct(0.99), failures.load());
  return failures.load() == 0 ? 0 : 1;
}
