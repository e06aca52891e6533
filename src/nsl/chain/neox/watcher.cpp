#include "nsl/chain/neox/watcher.hpp"

#include <algorithm>

#include <boost/asio/this_coro.hpp>

namespace nsl::chain::neox {
namespace {

using nlohmann::json;
constexpr const char* kChain = "neo-x";

// The block hash inside a stored log, in the dialect of the connection.
const char* block_hash_of_log(db::Connection& c) {
  return c.dialect() == db::Dialect::postgres ? "log->>'blockHash'" : "json_extract(log, '$.blockHash')";
}

std::string hex0x(crypto::ByteView b) { return "0x" + crypto::to_hex(b); }

std::string hex_u64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The node's hash of block `number` as stored ("0x..."), or nullopt when it has no such block.
asio::awaitable<std::optional<std::string>> block_hash(RpcClient& rpc, std::uint64_t number) {
  const auto header = co_await rpc.block_by_number(number);
  std::optional<std::string> out;
  if (header) out = hex0x(header->hash);
  co_return out;
}

}  // namespace

json log_to_json(const Log& l) {
  json topics = json::array();
  for (const auto& t : l.topics) topics.push_back(hex0x(t));
  return {{"address", to_checksum(l.address)},
          {"topics", topics},
          {"data", hex0x(l.data)},
          {"blockNumber", hex_u64(l.block_number)},
          {"blockHash", hex0x(l.block_hash)},
          {"transactionHash", hex0x(l.transaction_hash)},
          {"logIndex", hex_u64(l.log_index)},
          {"removed", l.removed}};
}

LogWatcher::LogWatcher(RpcClient& rpc, db::Database& database, WatcherOptions options, Handler handler, log::Logger log)
    : rpc_(rpc), db_(database), options_(std::move(options)), handler_(std::move(handler)), log_(std::move(log)) {}

asio::awaitable<std::size_t> LogWatcher::undo_reorganisation(std::uint64_t next) {
  // The most recent processed block whose stored hash the node still has is the fork point.
  const auto seen = co_await db_.run([&](db::Connection& c) {
    return c.query("SELECT number, hash FROM chain_seen_blocks WHERE chain = $1 AND name = $2 ORDER BY number DESC",
                   {std::string(kChain), options_.name});
  });
  if (seen.empty()) co_return 0;
  std::optional<std::uint64_t> fork;
  for (std::size_t i = 0; i < seen.rows.size(); ++i) {
    const auto number = static_cast<std::uint64_t>(seen.get<std::int64_t>(i, 0));
    const auto hash = co_await block_hash(rpc_, number);
    if (hash && *hash == seen.get<std::string>(i, 1)) {
      fork = number;
      break;
    }
  }
  const auto newest = static_cast<std::uint64_t>(seen.get<std::int64_t>(0, 0));
  if (fork && *fork == newest) co_return 0;  // no reorganisation
  if (!fork) {
    throw std::runtime_error("watcher " + options_.name + ": the chain was reorganised deeper than the " +
                             std::to_string(options_.reorg_window) + " blocks kept; reset its cursor");
  }
  // Stored hashes mark batch boundaries only, so the blocks above the fork are checked one by one:
  // only logs from blocks the node no longer has are taken back.
  const std::uint64_t back_to = *fork + 1;
  const auto delivered_blocks = co_await db_.run([&](db::Connection& c) {
    return c.query(std::string("SELECT DISTINCT block_number, ") + block_hash_of_log(c) +
                       " FROM chain_delivered_logs "
                       "WHERE chain = $1 AND name = $2 AND block_number >= $3",
                   {std::string(kChain), options_.name, static_cast<std::int64_t>(back_to)});
  });
  std::vector<std::int64_t> orphaned;
  for (std::size_t i = 0; i < delivered_blocks.rows.size(); ++i) {
    const auto number = delivered_blocks.get<std::int64_t>(i, 0);
    const auto hash = co_await block_hash(rpc_, static_cast<std::uint64_t>(number));
    if (!hash || *hash != delivered_blocks.get<std::string>(i, 1)) orphaned.push_back(number);
  }
  // Hand over the orphaned logs as removed, newest first, and move the cursor back, all in one
  // transaction. Logs of blocks that did not change stay delivered and are skipped when re-read.
  const auto removed = co_await db_.transaction([&](db::Connection& c) {
    std::size_t count = 0;
    std::sort(orphaned.rbegin(), orphaned.rend());
    for (const auto number : orphaned) {
      const std::vector<db::Value> key{std::string(kChain), options_.name, number};
      const auto logs = c.query(
          "SELECT log FROM chain_delivered_logs WHERE chain = $1 AND name = $2 AND block_number = $3 "
          "ORDER BY log_index DESC",
          key);
      for (std::size_t i = 0; i < logs.rows.size(); ++i) {
        auto l = parse_log(json::parse(logs.get<std::string>(i, 0)));
        l.removed = true;
        handler_(l, c);
        ++count;
      }
      c.query("DELETE FROM chain_delivered_logs WHERE chain = $1 AND name = $2 AND block_number = $3", key);
    }
    const std::vector<db::Value> key{std::string(kChain), options_.name, static_cast<std::int64_t>(back_to)};
    c.query("DELETE FROM chain_seen_blocks WHERE chain = $1 AND name = $2 AND number >= $3", key);
    c.query("UPDATE chain_cursors SET next_block = $3 WHERE chain = $1 AND name = $2", key);
    return count;
  });
  log_.warn("chain reorganisation: logs of orphaned blocks handed over as removed",
            {{"watcher", options_.name}, {"from_block", back_to}, {"to_block", next - 1}, {"logs", removed}});
  co_return removed;
}

asio::awaitable<std::size_t> LogWatcher::poll_once() {
  // The cursor, created at start_block the first time.
  const auto next_row = co_await db_.run([&](db::Connection& c) {
    return c.query("SELECT next_block FROM chain_cursors WHERE chain = $1 AND name = $2", {std::string(kChain), options_.name});
  });
  if (next_row.empty()) {
    // A new cursor: remember the hash of the block before the start, so that a reorganisation
    // reaching just past it is still found.
    std::optional<std::string> baseline;
    if (options_.start_block > 0) baseline = co_await block_hash(rpc_, options_.start_block - 1);
    co_await db_.transaction([&](db::Connection& c) {
      const auto created =
          c.query("INSERT INTO chain_cursors (chain, name, next_block) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                  {std::string(kChain), options_.name, static_cast<std::int64_t>(options_.start_block)});
      if (created.affected == 1 && baseline) {
        c.query(
            "INSERT INTO chain_seen_blocks (chain, name, number, hash) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (chain, name, number) DO UPDATE SET hash = excluded.hash",
            {std::string(kChain), options_.name, static_cast<std::int64_t>(options_.start_block - 1), *baseline});
      }
    });
    co_return 0;
  }
  const auto next_block = next_row.get<std::int64_t>(0, 0);
  std::uint64_t next = static_cast<std::uint64_t>(next_block);
  std::size_t delivered = co_await undo_reorganisation(next);
  if (delivered > 0) {
    const auto row = co_await db_.run([&](db::Connection& c) {
      return c.query("SELECT next_block FROM chain_cursors WHERE chain = $1 AND name = $2", {std::string(kChain), options_.name})
          .get<std::int64_t>(0, 0);
    });
    next = static_cast<std::uint64_t>(row);
  }
  const auto head = co_await rpc_.block_number();
  if (next > head) co_return delivered;
  const auto to = std::min(head, next + options_.batch_blocks - 1);
  // The hash of the range's last block is read before and after the logs: if it changed, the
  // chain moved under us and the range is read again on the next poll.
  const auto hash_before = co_await block_hash(rpc_, to);
  auto filter = options_.filter;
  filter.from_block = next;
  filter.to_block = to;
  auto logs = co_await rpc_.logs(filter);
  const auto hash_after = co_await block_hash(rpc_, to);
  if (!hash_before || hash_before != hash_after) co_return delivered;
  std::sort(logs.begin(), logs.end(), [](const Log& a, const Log& b) {
    return a.block_number != b.block_number ? a.block_number < b.block_number : a.log_index < b.log_index;
  });
  delivered += co_await db_.transaction([&](db::Connection& c) {
    std::size_t handed = 0;
    for (const auto& l : logs) {
      // Re-read after a reorganisation: a log from a block that did not change was handed over already.
      const auto earlier = c.query(std::string("SELECT ") + block_hash_of_log(c) +
                                       " FROM chain_delivered_logs "
                                       "WHERE chain = $1 AND name = $2 AND block_number = $3 AND log_index = $4",
                                   {std::string(kChain), options_.name, static_cast<std::int64_t>(l.block_number),
                                    static_cast<std::int64_t>(l.log_index)});
      if (!earlier.empty() && earlier.get<std::string>(0, 0) == hex0x(l.block_hash)) continue;
      handler_(l, c);
      ++handed;
      c.query("INSERT INTO chain_delivered_logs (chain, name, block_number, log_index, log) VALUES ($1, $2, $3, $4, $5)",
              {std::string(kChain), options_.name, static_cast<std::int64_t>(l.block_number),
               static_cast<std::int64_t>(l.log_index), log_to_json(l).dump()});
    }
    const std::int64_t new_next = static_cast<std::int64_t>(to + 1);
    c.query("UPDATE chain_cursors SET next_block = $3, updated_at = $4 WHERE chain = $1 AND name = $2",
            {std::string(kChain), options_.name, new_next, db::utc_now_text()});
    c.query(
        "INSERT INTO chain_seen_blocks (chain, name, number, hash) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (chain, name, number) DO UPDATE SET hash = excluded.hash",
        {std::string(kChain), options_.name, static_cast<std::int64_t>(to), *hash_after});
    // Keep only what a reorganisation within the window needs.
    const std::int64_t keep_from = new_next - static_cast<std::int64_t>(options_.reorg_window);
    c.query("DELETE FROM chain_seen_blocks WHERE chain = $1 AND name = $2 AND number < $3",
            {std::string(kChain), options_.name, keep_from});
    c.query("DELETE FROM chain_delivered_logs WHERE chain = $1 AND name = $2 AND block_number < $3",
            {std::string(kChain), options_.name, keep_from});
    return handed;
  });
  co_return delivered;
}

asio::awaitable<void> LogWatcher::run() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!stopping_.load()) {
    std::size_t handed = 0;
    try {
      handed = co_await poll_once();
    } catch (const std::exception& e) {
      log_.error("watcher poll failed; retrying", {{"watcher", options_.name}, {"error", e.what()}});
    }
    if (handed > 0) continue;  // more may be waiting: poll again at once
    timer.expires_after(options_.poll_interval);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace nsl::chain::neox
