#include "nsl/chain/neo/watcher.hpp"

#include <algorithm>

#include "nsl/core/parallel.hpp"

namespace nsl::chain::neo {
namespace {

using nlohmann::json;
constexpr const char* kChain = "neo-n3";

// One application log to read: a block's (OnPersist, PostPersist) or a transaction's.
struct Container {
  std::size_t block = 0;  // index into the batch
  UInt256 hash{};
  bool is_block = false;
};

}  // namespace

json to_json(const Notification& n) {
  return {{"block", n.block_index},
          {"blockHash", to_display(n.block_hash)},
          {"transaction", n.transaction ? json(to_display(*n.transaction)) : json(nullptr)},
          {"trigger", n.trigger},
          {"execution", n.execution},
          {"index", n.index},
          {"contract", to_display(n.contract)},
          {"eventName", n.event_name},
          {"state", n.state_json}};
}

NotificationWatcher::NotificationWatcher(RpcClient& rpc, db::Database& database, NotificationWatcherOptions options,
                                         Handler handler, log::Logger log)
    : rpc_(rpc), db_(database), options_(std::move(options)), handler_(std::move(handler)), log_(std::move(log)) {
  if (options_.name.empty()) throw std::invalid_argument("a watcher needs a name (its cursor's)");
  if (options_.batch_blocks == 0) throw std::invalid_argument("watcher batch_blocks must be at least 1");
  // Blocks' own executions run native contracts only: skip reading them when no native can match.
  block_executions_ =
      options_.contracts.empty() || std::any_of(options_.contracts.begin(), options_.contracts.end(), is_native_contract);
}

bool NotificationWatcher::matches(const UInt160& contract, const std::string& event) const {
  const auto& c = options_.contracts;
  const auto& e = options_.events;
  return (c.empty() || std::find(c.begin(), c.end(), contract) != c.end()) &&
         (e.empty() || std::find(e.begin(), e.end(), event) != e.end());
}

asio::awaitable<std::optional<std::uint32_t>> NotificationWatcher::next_block() {
  const auto row = co_await db_.run([&](db::Connection& c) {
    return c.query("SELECT next_block FROM chain_cursors WHERE chain = $1 AND name = $2", {std::string(kChain), options_.name});
  });
  std::optional<std::uint32_t> out;
  if (!row.empty()) out = static_cast<std::uint32_t>(row.get<std::int64_t>(0, 0));
  co_return out;
}

asio::awaitable<std::size_t> NotificationWatcher::poll_once() {
  const auto cursor = co_await next_block();
  if (!cursor) {
    // A new cursor. The hash of the block before the start lets the first batch check that it
    // continues the chain the cursor was created on.
    std::optional<std::string> baseline;
    if (options_.start_block > 0) {
      const auto before = co_await rpc_.block(options_.start_block - 1);
      if (!before) {
        throw std::invalid_argument("watcher " + options_.name + ": start block " + std::to_string(options_.start_block) +
                                    " is beyond the node's chain");
      }
      baseline = to_display(before->hash);
    }
    co_await db_.transaction([&](db::Connection& c) {
      const auto created =
          c.query("INSERT INTO chain_cursors (chain, name, next_block) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                  {std::string(kChain), options_.name, static_cast<std::int64_t>(options_.start_block)});
      if (created.affected == 1 && baseline) {
        c.query("INSERT INTO chain_seen_blocks (chain, name, number, hash) VALUES ($1, $2, $3, $4)",
                {std::string(kChain), options_.name, static_cast<std::int64_t>(options_.start_block) - 1, *baseline});
      }
    });
    log_.info("watcher cursor created", {{"watcher", options_.name}, {"chain", kChain}, {"start_block", options_.start_block}});
    co_return 0;
  }
  const std::uint32_t next = *cursor;
  const std::uint32_t count = co_await rpc_.block_count();  // height + 1
  if (next >= count) co_return 0;
  const std::uint32_t to = std::min<std::uint32_t>(count - 1, next + options_.batch_blocks - 1);

  // The batch's blocks, read concurrently.
  std::vector<std::optional<BlockInfo>> blocks(to - next + 1);
  co_await for_each_bounded(blocks.size(), options_.fetch_concurrency, [&](std::size_t i) -> asio::awaitable<void> {
    blocks[i] = co_await rpc_.block(next + static_cast<std::uint32_t>(i));
  });
  // A node behind a load balancer may not have the newest block yet: stop at the first gap.
  const auto gap = std::find_if(blocks.begin(), blocks.end(), [](const auto& b) { return !b.has_value(); });
  blocks.erase(gap, blocks.end());
  if (blocks.empty()) co_return 0;

  // Each block must extend the previous one, the first the last block this cursor processed.
  const auto previous = co_await db_.run([&](db::Connection& c) {
    return c.query("SELECT hash FROM chain_seen_blocks WHERE chain = $1 AND name = $2 AND number = $3",
                   {std::string(kChain), options_.name, static_cast<std::int64_t>(next) - 1});
  });
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const auto expected =
        i == 0 ? (previous.empty() ? std::string() : previous.get<std::string>(0, 0)) : to_display(blocks[i - 1]->hash);
    if (!expected.empty() && to_display(blocks[i]->previous_hash) != expected) {
      throw ChainMismatch("watcher " + options_.name + ": block " + std::to_string(blocks[i]->index) +
                          " of the node does not follow block " + expected +
                          " this cursor processed: the node is on another network or its chain was reset");
    }
  }

  // Their application logs, read concurrently.
  std::vector<Container> containers;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    if (block_executions_) containers.push_back({b, blocks[b]->hash, true});
    for (const auto& tx : blocks[b]->transactions) containers.push_back({b, tx, false});
  }
  std::vector<std::optional<std::vector<Execution>>> logs(containers.size());
  co_await for_each_bounded(containers.size(), options_.fetch_concurrency, [&](std::size_t i) -> asio::awaitable<void> {
    logs[i] = co_await rpc_.application_logs(containers[i].hash);
  });
  for (std::size_t i = 0; i < logs.size(); ++i) {
    if (!logs[i]) {
      throw std::runtime_error("the node has no application log for " +
                               std::string(containers[i].is_block ? "block " : "transaction ") + to_display(containers[i].hash) +
                               ": is its ApplicationLogs plugin (C#) or its RPC service complete?");
    }
  }

  // Everything in chain order: per block OnPersist, its transactions, PostPersist.
  std::vector<Notification> out;
  std::vector<std::uint32_t> execution_in_block(blocks.size(), 0);
  auto add = [&](std::size_t b, Execution& e, const std::optional<UInt256>& tx) {
    const auto position = execution_in_block[b]++;
    if (e.state != "HALT") return;
    std::uint32_t index = 0;
    for (auto& j : e.notifications) {
      const auto this_index = index++;
      const auto contract = parse_uint160(j.value("contract", ""));
      auto event = j.value("eventname", "");
      if (!contract) throw std::runtime_error("the node sent a notification with a malformed contract hash");
      if (!matches(*contract, event)) continue;
      Notification n;
      n.block_index = blocks[b]->index;
      n.block_hash = blocks[b]->hash;
      n.transaction = tx;
      n.trigger = e.trigger.empty() ? (tx ? "Application" : "") : e.trigger;
      n.execution = position;
      n.index = this_index;
      n.contract = *contract;
      n.event_name = std::move(event);
      if (auto it = j.find("state"); it != j.end()) n.state_json = std::move(*it);
      std::string why;
      auto state = parse_stack_item(n.state_json, &why);
      if (!state) throw std::runtime_error("the node sent a notification whose state does not decode: " + why);
      n.state = std::move(*state);
      out.push_back(std::move(n));
    }
  };
  std::size_t ci = 0;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    std::vector<Execution>* block_log = nullptr;
    if (block_executions_) block_log = &*logs[ci++];
    if (block_log) {
      for (auto& e : *block_log) {
        if (e.trigger == "OnPersist") add(b, e, std::nullopt);
      }
    } else {
      ++execution_in_block[b];  // OnPersist's place
    }
    for (const auto& tx : blocks[b]->transactions) {
      for (auto& e : *logs[ci++]) add(b, e, tx);
    }
    if (block_log) {
      for (auto& e : *block_log) {
        if (e.trigger == "PostPersist") add(b, e, std::nullopt);
      }
    }
  }

  // Hand them over and advance the cursor in one transaction.
  const std::uint32_t last = blocks.back()->index;
  const auto last_hash = to_display(blocks.back()->hash);
  co_await db_.transaction([&](db::Connection& c) {
    const auto moved =
        c.query("UPDATE chain_cursors SET next_block = $4, updated_at = $5 WHERE chain = $1 AND name = $2 AND next_block = $3",
                {std::string(kChain), options_.name, static_cast<std::int64_t>(next), static_cast<std::int64_t>(last) + 1,
                 db::utc_now_text()});
    if (moved.affected != 1) {
      // Another watcher with the same name advanced the cursor meanwhile: hand nothing over.
      throw std::runtime_error("watcher " + options_.name + ": the cursor moved under this watcher (two watchers share a name?)");
    }
    for (const auto& n : out) handler_(n, c);
    c.query("DELETE FROM chain_seen_blocks WHERE chain = $1 AND name = $2", {std::string(kChain), options_.name});
    c.query("INSERT INTO chain_seen_blocks (chain, name, number, hash) VALUES ($1, $2, $3, $4)",
            {std::string(kChain), options_.name, static_cast<std::int64_t>(last), last_hash});
  });
  if (!out.empty()) {
    log_.debug("notifications delivered",
               {{"watcher", options_.name}, {"from_block", next}, {"to_block", last}, {"notifications", out.size()}});
  }
  co_return blocks.size();
}

asio::awaitable<void> NotificationWatcher::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::chrono::milliseconds interval{1000};
  if (options_.poll_interval) {
    interval = *options_.poll_interval;
  }
  bool interval_known = options_.poll_interval.has_value();
  while (!stopping_.load()) {
    std::size_t processed = 0;
    try {
      if (!interval_known) {
        const auto v = co_await rpc_.version();
        if (v.ms_per_block > 0) interval = std::chrono::milliseconds(v.ms_per_block);
        interval_known = true;
      }
      processed = co_await poll_once();
    } catch (const std::exception& e) {
      log_.error("watcher poll failed; retrying", {{"watcher", options_.name}, {"chain", kChain}, {"error", e.what()}});
    }
    if (processed > 0) continue;  // more may be waiting: poll again at once
    timer.expires_after(interval);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace nsl::chain::neo
