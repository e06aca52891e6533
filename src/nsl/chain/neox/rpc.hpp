#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/chain/neox/address.hpp"
#include "nsl/core/asio.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/uint256.hpp"
#include "nsl/http/client.hpp"
#include "nsl/http/jsonrpc.hpp"

namespace nsl::chain::neox {

using crypto::Bytes;
using crypto::Hash256;
using crypto::Uint256;

/// A node's JSON-RPC error object, and no endpoint answering (shared with Neo N3, src/nsl/http/jsonrpc.hpp).
using RpcError = http::JsonRpcError;
using RpcUnavailable = http::JsonRpcUnavailable;

/// An execution that reverted, with the reason decoded from the revert data: the string of
/// `Error(string)`, "panic 0x11 (arithmetic overflow or underflow)" for `Panic(uint256)`, or
/// "custom error 0x<selector>" for other errors.
class RevertError : public RpcError {
 public:
  RevertError(long code, const std::string& message, std::string data, std::string reason)
      : RpcError(code, message, std::move(data)), reason_(std::move(reason)) {}
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

/// Decodes revert data into a readable reason (see RevertError).
std::string decode_revert_reason(crypto::ByteView data);

/// One event log.
struct Log {
  Address address{};
  std::vector<Hash256> topics;
  Bytes data;
  std::uint64_t block_number = 0;
  Hash256 block_hash{};
  Hash256 transaction_hash{};
  std::uint64_t log_index = 0;
  bool removed = false;  // set by nodes when a reorganisation dropped the log
};

/// The outcome of an included transaction.
struct Receipt {
  Hash256 transaction_hash{};
  bool success = false;
  std::uint64_t block_number = 0;
  std::optional<Address> contract_address;
  Uint256 gas_used;
  Uint256 effective_gas_price;
  std::vector<Log> logs;
};

/// A block header as the watcher and the sender need it.
struct BlockHeader {
  std::uint64_t number = 0;
  Hash256 hash{};
  Hash256 parent_hash{};
  std::uint64_t timestamp = 0;
  std::optional<Uint256> base_fee_per_gas;  // absent before London
  std::vector<Hash256> transactions;
};

/// eth_feeHistory: base fees of the blocks (plus the next one) and the requested reward percentiles.
struct FeeHistory {
  std::uint64_t oldest_block = 0;
  std::vector<Uint256> base_fee_per_gas;
  std::vector<double> gas_used_ratio;
  std::vector<std::vector<Uint256>> reward;
};

/// eth_call / eth_estimateGas arguments.
struct CallRequest {
  std::optional<Address> from;
  std::optional<Address> to;  // none: contract creation (estimate only)
  Bytes data;
  Uint256 value;
};

/// eth_getLogs arguments. Each topic position matches any of its hashes (empty: anything).
struct LogFilter {
  std::uint64_t from_block = 0;
  std::uint64_t to_block = 0;
  std::vector<Address> addresses;
  std::vector<std::vector<Hash256>> topics;
};

using RpcOptions = http::JsonRpcOptions;

/// JSON-RPC client for Neo X (any EVM node) over several endpoints with failover.
class RpcClient {
 public:
  RpcClient(RpcOptions options, http::HttpClient& http);

  /// One JSON-RPC call; returns `result`. Throws RpcError (or RevertError) for an error object,
  /// RpcUnavailable when no endpoint answered.
  asio::awaitable<nlohmann::json> call(const std::string& method, nlohmann::json params);

  asio::awaitable<std::uint64_t> chain_id();
  asio::awaitable<std::uint64_t> block_number();
  // Block tags are explicit parameters: GCC 12 miscompiles coroutines whose parameters have
  // string-literal defaults, so the defaults live in the plain overloads.
  asio::awaitable<Uint256> balance(Address account, std::string block);
  asio::awaitable<Uint256> balance(const Address& account) { return balance(account, "latest"); }
  asio::awaitable<std::uint64_t> transaction_count(Address account, std::string block);
  asio::awaitable<std::uint64_t> transaction_count(const Address& account) { return transaction_count(account, "pending"); }
  /// The block at a height, or std::nullopt when the node has none there.
  asio::awaitable<std::optional<BlockHeader>> block_by_number(std::uint64_t number);
  asio::awaitable<FeeHistory> fee_history(std::uint64_t block_count, std::vector<double> reward_percentiles);
  asio::awaitable<Uint256> gas_price();
  asio::awaitable<Uint256> max_priority_fee_per_gas();
  asio::awaitable<Hash256> send_raw_transaction(crypto::ByteView raw);
  asio::awaitable<std::optional<Receipt>> transaction_receipt(Hash256 hash);
  /// eth_call; a revert throws RevertError with the decoded reason.
  asio::awaitable<Bytes> call_contract(const CallRequest& request, std::string block);
  asio::awaitable<Bytes> call_contract(const CallRequest& request) { return call_contract(request, "latest"); }
  asio::awaitable<std::uint64_t> estimate_gas(const CallRequest& request);
  /// eth_getLogs over [from, to]; when a node refuses the range as too large, it is split in
  /// halves until each part is accepted.
  asio::awaitable<std::vector<Log>> logs(const LogFilter& filter);

 private:
  http::JsonRpcClient rpc_;
};

/// Parses a JSON-RPC quantity ("0x1a") or data ("0x...") value; throw std::invalid_argument.
Uint256 parse_quantity(const nlohmann::json& v);
Bytes parse_data(const nlohmann::json& v);
Log parse_log(const nlohmann::json& v);

}  // namespace nsl::chain::neox
