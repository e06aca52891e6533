#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/chain/neo/script.hpp"
#include "nsl/chain/neo/transaction.hpp"
#include "nsl/core/asio.hpp"
#include "nsl/http/jsonrpc.hpp"

namespace nsl::chain::neo {

using RpcError = http::JsonRpcError;
using RpcUnavailable = http::JsonRpcUnavailable;

/// What `getversion` says about the network: read at runtime, never hard-coded.
struct Version {
  std::uint32_t network = 0;  // the magic
  std::uint32_t ms_per_block = 0;
  std::uint32_t max_valid_until_block_increment = 0;
  std::string user_agent;
};

/// A test run (invokescript / invokefunction) or an executed transaction (getapplicationlog).
struct Execution {
  std::string trigger;  // getapplicationlog: "Application", or "OnPersist" / "PostPersist" of a block
  std::string state;    // "HALT" or "FAULT"
  std::int64_t gas_consumed = 0;
  std::string exception;
  nlohmann::json stack = nlohmann::json::array();
  nlohmann::json notifications = nlohmann::json::array();
  std::string session;  // set when the node keeps iterators for traverseiterator
};

/// A block's header facts and its transactions' hashes (getblock, verbose).
struct BlockInfo {
  UInt256 hash{};
  UInt256 previous_hash{};
  std::uint32_t index = 0;
  std::uint64_t time_ms = 0;
  std::vector<UInt256> transactions;
};

/// JSON-RPC client for Neo N3 nodes (C# and neo-go) over several endpoints with failover.
class RpcClient {
 public:
  RpcClient(http::JsonRpcOptions options, http::HttpClient& http) : rpc_(std::move(options), http) {}

  asio::awaitable<nlohmann::json> call(const std::string& method, nlohmann::json params);
  asio::awaitable<Version> version();
  /// getblockcount: the height plus one.
  asio::awaitable<std::uint32_t> block_count();
  /// invokefunction: a test call of one contract method with typed arguments.
  asio::awaitable<Execution> invoke_function(UInt160 contract, std::string method, std::vector<Arg> args,
                                             std::vector<Signer> signers);
  /// Up to `count` items of an iterator a test call returned (sessions on the node).
  asio::awaitable<nlohmann::json> traverse_iterator(std::string session, std::string iterator_id, std::uint32_t count);
  /// Ends a session and frees its iterators; false if the node no longer had it.
  asio::awaitable<bool> terminate_session(std::string session);
  /// getrawtransaction, decoded with the strict decoder; std::nullopt while unknown.
  asio::awaitable<std::optional<Transaction>> raw_transaction(UInt256 hash);
  /// getblock by height; std::nullopt beyond the chain's height.
  asio::awaitable<std::optional<BlockInfo>> block(std::uint32_t index);
  /// invokescript with signers: the system fee a transaction will need is `gas_consumed`.
  asio::awaitable<Execution> invoke_script(Bytes script, std::vector<Signer> signers);
  /// calculatenetworkfee for a transaction whose witnesses carry empty invocation scripts.
  asio::awaitable<std::int64_t> calculate_network_fee(Bytes transaction);
  /// sendrawtransaction; a refusal is an RpcError with the node's code (-504 insufficient network
  /// fee, -510 expired, -511 insufficient funds, ...).
  asio::awaitable<UInt256> send_raw_transaction(Bytes transaction);
  /// The execution of an included transaction, or std::nullopt while the node does not know it.
  asio::awaitable<std::optional<Execution>> application_log(UInt256 hash);
  /// Every execution of a transaction, or of a block (by its hash: OnPersist then PostPersist);
  /// std::nullopt while the node does not know it.
  asio::awaitable<std::optional<std::vector<Execution>>> application_logs(UInt256 hash);
  /// NEP-17 balances of an address: asset hash (display form) → amount in its smallest unit.
  asio::awaitable<std::map<std::string, std::string>> nep17_balances(std::string address);

 private:
  http::JsonRpcClient rpc_;
};

/// Signer JSON for invoke calls: scopes by name ("CalledByEntry, CustomContracts"), as neo-go requires.
nlohmann::json signer_json(const Signer& s);
/// Base64, as Neo RPC carries binary.
std::string base64(ByteView data);

}  // namespace nsl::chain::neo
