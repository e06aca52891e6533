#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "nsl/chain/neox/rpc.hpp"
#include "nsl/core/asio.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/db/database.hpp"

namespace nsl::chain::neox {

struct WatcherOptions {
  std::string name;               // identifies the cursor: one per subscriber
  LogFilter filter;               // addresses and topics (the block range is the watcher's)
  std::uint64_t start_block = 0;  // where a new cursor starts
  std::uint64_t batch_blocks = 500;
  std::uint64_t reorg_window = 128;  // blocks whose hashes and logs are kept to undo a reorganisation
  std::chrono::milliseconds poll_interval{2000};
};

/// Follows logs matching a filter from a cursor persisted in the database and hands each one to
/// the handler exactly once, in chain order. The handler runs inside the database transaction
/// that advances the cursor, so whatever it writes commits together with the cursor: after a
/// crash or restart nothing is missed and nothing is handed over twice. When the node's chain
/// no longer contains blocks already processed (a reorganisation), the logs delivered from them
/// are handed over again with `removed = true`, newest first, before the new chain's logs.
class LogWatcher {
 public:
  using Handler = std::function<void(const Log&, db::Connection&)>;

  LogWatcher(RpcClient& rpc, db::Database& database, WatcherOptions options, Handler handler, log::Logger log);

  /// One step: undo a reorganisation if there was one, then process up to `batch_blocks` new
  /// blocks. Returns the number of logs handed over (removals included).
  asio::awaitable<std::size_t> poll_once();
  /// Polls until stop() (RPC failures are logged and retried after the poll interval).
  asio::awaitable<void> run();
  void stop() { stopping_.store(true); }

 private:
  asio::awaitable<std::size_t> undo_reorganisation(std::uint64_t next);

  RpcClient& rpc_;
  db::Database& db_;
  WatcherOptions options_;
  Handler handler_;
  log::Logger log_;
  std::atomic<bool> stopping_{false};
};

/// A log as JSON (the shape of eth_getLogs), and back.
nlohmann::json log_to_json(const Log& log);

}  // namespace nsl::chain::neox
