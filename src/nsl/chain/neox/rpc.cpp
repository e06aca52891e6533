#include "nsl/chain/neox/rpc.hpp"

#include <algorithm>

#include <boost/asio/this_coro.hpp>

#include "nsl/chain/neox/abi.hpp"
#include "nsl/core/strings.hpp"

// Request parameters are built in a named variable before `co_await call(...)`: GCC 12 rejects
// or miscompiles initializer lists inside a co_await full-expression.

namespace nsl::chain::neox {
namespace {

using nlohmann::json;

std::string hex0x(crypto::ByteView b) { return "0x" + crypto::to_hex(b); }

std::string quantity(const Uint256& v) {
  const auto be = v.to_be_minimal();
  if (be.empty()) return "0x0";
  auto h = crypto::to_hex(be);
  h.erase(0, h.find_first_not_of('0'));
  return "0x" + h;
}

std::string quantity(std::uint64_t v) { return quantity(Uint256(v)); }

Hash256 parse_hash(const json& v) {
  const auto b = parse_data(v);
  if (b.size() != 32) throw std::invalid_argument("expected a 32-byte hash");
  Hash256 h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

Address parse_addr(const json& v) {
  const auto b = parse_data(v);
  if (b.size() != 20) throw std::invalid_argument("expected a 20-byte address");
  Address a{};
  std::copy(b.begin(), b.end(), a.begin());
  return a;
}

std::uint64_t parse_u64(const json& v) {
  const auto q = parse_quantity(v);
  if (!q.fits_u64()) throw std::invalid_argument("quantity beyond 64 bits");
  return q.low_u64();
}

json call_object(const CallRequest& r) {
  json o = json::object();
  if (r.from) o["from"] = to_checksum(*r.from);
  if (r.to) o["to"] = to_checksum(*r.to);
  if (!r.data.empty()) o["data"] = hex0x(r.data);
  if (!r.value.is_zero()) o["value"] = quantity(r.value);
  return o;
}

// Nodes refuse large eth_getLogs ranges with various wordings and codes.
bool is_range_refusal(const RpcError& e) {
  const auto m = to_lower(e.what());
  return e.code() == -32005 || m.find("range") != std::string::npos || m.find("too many") != std::string::npos ||
         m.find("limit") != std::string::npos || m.find("too large") != std::string::npos;
}

// A node's error, typed: an execution that reverted becomes a RevertError with its reason.
[[noreturn]] void rethrow_typed(const RpcError& e) {
  const std::string message = e.what();
  const bool reverted = e.code() == 3 || to_lower(message).find("revert") != std::string::npos;
  if (!reverted) throw e;
  std::string reason;
  auto bytes = crypto::from_hex(e.data());
  if (bytes && !bytes->empty()) {
    reason = decode_revert_reason(*bytes);
  } else {
    // No data: some nodes put the reason in the message only ("execution reverted: nope").
    const auto colon = message.find(": ");
    reason = colon == std::string::npos ? std::string() : message.substr(colon + 2);
  }
  throw RevertError(e.code(), message, e.data(), reason);
}

}  // namespace

std::string decode_revert_reason(crypto::ByteView data) {
  if (data.size() < 4) return data.empty() ? "" : "malformed revert data";
  const std::string sel = crypto::to_hex(data.subspan(0, 4));
  const auto body = data.subspan(4);
  if (sel == "08c379a0") {  // Error(string)
    if (auto v = abi::decode({*abi::parse_type("string")}, body)) return std::get<std::string>((*v)[0].v);
    return "malformed Error(string) revert data";
  }
  if (sel == "4e487b71") {  // Panic(uint256)
    if (auto v = abi::decode({*abi::parse_type("uint256")}, body)) {
      const auto code = std::get<Uint256>((*v)[0].v);
      const char* meaning = "";
      if (code == Uint256(0x01))
        meaning = " (assertion failed)";
      else if (code == Uint256(0x11))
        meaning = " (arithmetic overflow or underflow)";
      else if (code == Uint256(0x12))
        meaning = " (division or modulo by zero)";
      else if (code == Uint256(0x21))
        meaning = " (invalid enum value)";
      else if (code == Uint256(0x32))
        meaning = " (array index out of bounds)";
      else if (code == Uint256(0x41))
        meaning = " (out of memory)";
      auto h = crypto::to_hex(code.to_be_minimal());
      return "panic 0x" + (h.empty() ? std::string("0") : h) + meaning;
    }
    return "malformed Panic(uint256) revert data";
  }
  return "custom error 0x" + sel;
}

Uint256 parse_quantity(const json& v) {
  if (!v.is_string()) throw std::invalid_argument("expected a hex quantity");
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) throw std::invalid_argument("expected a hex quantity");
  auto q = Uint256::parse(s);
  if (!q) throw std::invalid_argument("bad hex quantity " + s);
  return *q;
}

Bytes parse_data(const json& v) {
  if (!v.is_string()) throw std::invalid_argument("expected hex data");
  auto b = crypto::from_hex(v.get<std::string>());
  if (!b) throw std::invalid_argument("bad hex data");
  return *b;
}

Log parse_log(const json& v) {
  Log l;
  l.address = parse_addr(v.at("address"));
  for (const auto& t : v.at("topics")) l.topics.push_back(parse_hash(t));
  l.data = parse_data(v.at("data"));
  if (v.contains("blockNumber") && !v["blockNumber"].is_null()) l.block_number = parse_u64(v["blockNumber"]);
  if (v.contains("blockHash") && !v["blockHash"].is_null()) l.block_hash = parse_hash(v["blockHash"]);
  if (v.contains("transactionHash") && !v["transactionHash"].is_null()) l.transaction_hash = parse_hash(v["transactionHash"]);
  if (v.contains("logIndex") && !v["logIndex"].is_null()) l.log_index = parse_u64(v["logIndex"]);
  l.removed = v.value("removed", false);
  return l;
}

RpcClient::RpcClient(RpcOptions options, http::HttpClient& http) : rpc_(std::move(options), http) {}

asio::awaitable<json> RpcClient::call(const std::string& method, json params) {
  std::optional<RpcError> error;
  try {
    auto result = co_await rpc_.call(method, std::move(params));
    co_return result;
  } catch (const RpcError& e) {
    error = e;
  }
  rethrow_typed(*error);
}

asio::awaitable<std::uint64_t> RpcClient::chain_id() {
  auto r = co_await call("eth_chainId", json::array());
  co_return parse_u64(r);
}

asio::awaitable<std::uint64_t> RpcClient::block_number() {
  auto r = co_await call("eth_blockNumber", json::array());
  co_return parse_u64(r);
}

asio::awaitable<Uint256> RpcClient::balance(Address account, std::string block) {
  json params = json::array({to_checksum(account), block});
  auto r = co_await call("eth_getBalance", std::move(params));
  co_return parse_quantity(r);
}

asio::awaitable<std::uint64_t> RpcClient::transaction_count(Address account, std::string block) {
  json params = json::array({to_checksum(account), block});
  auto r = co_await call("eth_getTransactionCount", std::move(params));
  co_return parse_u64(r);
}

asio::awaitable<std::optional<BlockHeader>> RpcClient::block_by_number(std::uint64_t number) {
  json params = json::array({quantity(number), false});
  auto r = co_await call("eth_getBlockByNumber", std::move(params));
  std::optional<BlockHeader> out;
  if (r.is_null()) co_return out;
  BlockHeader b;
  b.number = parse_u64(r.at("number"));
  b.hash = parse_hash(r.at("hash"));
  b.parent_hash = parse_hash(r.at("parentHash"));
  b.timestamp = parse_u64(r.at("timestamp"));
  if (r.contains("baseFeePerGas") && !r["baseFeePerGas"].is_null()) b.base_fee_per_gas = parse_quantity(r["baseFeePerGas"]);
  for (const auto& t : r.value("transactions", json::array())) {
    if (t.is_string()) b.transactions.push_back(parse_hash(t));
  }
  out = std::move(b);
  co_return out;
}

asio::awaitable<FeeHistory> RpcClient::fee_history(std::uint64_t block_count, std::vector<double> reward_percentiles) {
  json params = json::array({quantity(block_count), "latest", reward_percentiles});
  auto r = co_await call("eth_feeHistory", std::move(params));
  FeeHistory h;
  h.oldest_block = parse_u64(r.at("oldestBlock"));
  for (const auto& v : r.at("baseFeePerGas")) h.base_fee_per_gas.push_back(parse_quantity(v));
  for (const auto& v : r.value("gasUsedRatio", json::array())) h.gas_used_ratio.push_back(v.get<double>());
  for (const auto& block : r.value("reward", json::array())) {
    auto& row = h.reward.emplace_back();
    for (const auto& v : block) row.push_back(parse_quantity(v));
  }
  co_return h;
}

asio::awaitable<Uint256> RpcClient::gas_price() {
  auto r = co_await call("eth_gasPrice", json::array());
  co_return parse_quantity(r);
}

asio::awaitable<Uint256> RpcClient::max_priority_fee_per_gas() {
  auto r = co_await call("eth_maxPriorityFeePerGas", json::array());
  co_return parse_quantity(r);
}

asio::awaitable<Hash256> RpcClient::send_raw_transaction(crypto::ByteView raw) {
  json params = json::array({hex0x(raw)});
  auto r = co_await call("eth_sendRawTransaction", std::move(params));
  co_return parse_hash(r);
}

asio::awaitable<std::optional<Receipt>> RpcClient::transaction_receipt(Hash256 hash) {
  json params = json::array({hex0x(hash)});
  auto r = co_await call("eth_getTransactionReceipt", std::move(params));
  std::optional<Receipt> out;
  if (r.is_null()) co_return out;
  Receipt rc;
  rc.transaction_hash = parse_hash(r.at("transactionHash"));
  rc.success = parse_u64(r.at("status")) == 1;
  rc.block_number = parse_u64(r.at("blockNumber"));
  if (r.contains("contractAddress") && !r["contractAddress"].is_null()) rc.contract_address = parse_addr(r["contractAddress"]);
  rc.gas_used = parse_quantity(r.at("gasUsed"));
  if (r.contains("effectiveGasPrice")) rc.effective_gas_price = parse_quantity(r["effectiveGasPrice"]);
  for (const auto& l : r.at("logs")) rc.logs.push_back(parse_log(l));
  out = std::move(rc);
  co_return out;
}

asio::awaitable<Bytes> RpcClient::call_contract(const CallRequest& request, std::string block) {
  json params = json::array({call_object(request), block});
  auto r = co_await call("eth_call", std::move(params));
  co_return parse_data(r);
}

asio::awaitable<std::uint64_t> RpcClient::estimate_gas(const CallRequest& request) {
  json params = json::array({call_object(request)});
  auto r = co_await call("eth_estimateGas", std::move(params));
  co_return parse_u64(r);
}

asio::awaitable<std::vector<Log>> RpcClient::logs(const LogFilter& filter) {
  json f{{"fromBlock", quantity(filter.from_block)}, {"toBlock", quantity(filter.to_block)}};
  if (!filter.addresses.empty()) {
    json a = json::array();
    for (const auto& x : filter.addresses) a.push_back(to_checksum(x));
    f["address"] = a;
  }
  if (!filter.topics.empty()) {
    json t = json::array();
    for (const auto& alternatives : filter.topics) {
      if (alternatives.empty()) {
        t.push_back(nullptr);
        continue;
      }
      json any = json::array();
      for (const auto& h : alternatives) any.push_back(hex0x(h));
      t.push_back(any);
    }
    f["topics"] = t;
  }
  std::vector<Log> out;
  std::optional<RpcError> refused;
  try {
    json params = json::array({f});
    auto r = co_await call("eth_getLogs", std::move(params));
    for (const auto& l : r) out.push_back(parse_log(l));
    co_return out;
  } catch (const RpcError& e) {
    if (!is_range_refusal(e) || filter.from_block >= filter.to_block) throw;
    refused = e;
  }
  // The node refused the range: ask for each half.
  const auto mid = filter.from_block + (filter.to_block - filter.from_block) / 2;
  auto lower = filter;
  lower.to_block = mid;
  auto upper = filter;
  upper.from_block = mid + 1;
  auto a = co_await logs(lower);
  auto b = co_await logs(upper);
  out = std::move(a);
  out.insert(out.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  co_return out;
}

}  // namespace nsl::chain::neox
