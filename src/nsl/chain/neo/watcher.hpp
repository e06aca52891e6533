#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/chain/neo/rpc.hpp"
#include "nsl/chain/neo/stack_item.hpp"
#include "nsl/core/asio.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/db/database.hpp"

namespace nsl::chain::neo {

/// A contract notification from an executed transaction or from a block's OnPersist /
/// PostPersist run. (block_index, execution, index) is its position in chain order.
struct Notification {
  std::uint32_t block_index = 0;
  UInt256 block_hash{};
  std::optional<UInt256> transaction;  // std::nullopt for a block's own executions
  std::string trigger;                 // "Application", "OnPersist" or "PostPersist"
  std::uint32_t execution = 0;         // the execution's place in the block: OnPersist, transactions, PostPersist
  std::uint32_t index = 0;             // the notification's place in its execution
  UInt160 contract{};
  std::string event_name;
  StackItem state;            // the event's arguments (an Array)
  nlohmann::json state_json;  // the same, as the node sent it
};

/// A notification as JSON: {block, blockHash, transaction, trigger, execution, index, contract,
/// eventName, state}, hashes in display form.
nlohmann::json to_json(const Notification& n);

struct NotificationWatcherOptions {
  std::string name;                    // identifies the cursor: one per subscriber
  std::vector<UInt160> contracts;      // empty: every contract
  std::vector<std::string> events;     // empty: every event name
  std::uint32_t start_block = 0;       // where a new cursor starts
  std::uint32_t batch_blocks = 100;    // blocks handed over in one database transaction
  std::size_t fetch_concurrency = 16;  // RPC requests in flight while reading a batch
  /// How often to look for new blocks; by default the network's block time from getversion.
  std::optional<std::chrono::milliseconds> poll_interval;
};

/// The node's chain does not continue the one this cursor followed: the RPC endpoint is on
/// another network, or its chain was reset. Nothing is delivered until an operator resets the
/// cursor (or points the watcher back at the right network).
class ChainMismatch : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Follows Neo N3 blocks from a cursor persisted in the database and hands every notification
/// that matches the filter to the handler exactly once, in chain order. Only notifications of
/// executions that ended in HALT are delivered: a faulted transaction's events never happened.
///
/// The handler runs inside the database transaction that advances the cursor, so what it writes
/// commits together with the cursor: after a crash or restart of this process nothing is missed
/// and nothing is handed over twice. Neo N3 blocks are final once produced (dBFT), so there are
/// no reorganisations to undo; the watcher still checks that each batch extends the last block
/// it processed and refuses (ChainMismatch) if the node is on another chain.
class NotificationWatcher {
 public:
  using Handler = std::function<void(const Notification&, db::Connection&)>;

  NotificationWatcher(RpcClient& rpc, db::Database& database, NotificationWatcherOptions options, Handler handler,
                      log::Logger log);

  /// One step: processes up to `batch_blocks` new blocks. Returns the number of blocks processed.
  asio::awaitable<std::size_t> poll_once();
  /// Polls until stop(); RPC failures are logged and retried after the poll interval.
  asio::awaitable<void> run();
  void stop() { stopping_.store(true); }

  /// The next block the cursor will process (std::nullopt before the first poll created it).
  asio::awaitable<std::optional<std::uint32_t>> next_block();

 private:
  bool matches(const UInt160& contract, const std::string& event) const;

  RpcClient& rpc_;
  db::Database& db_;
  NotificationWatcherOptions options_;
  Handler handler_;
  log::Logger log_;
  bool block_executions_ = true;  // whether the filter can match a native contract's notifications
  std::atomic<bool> stopping_{false};
};

}  // namespace nsl::chain::neo
