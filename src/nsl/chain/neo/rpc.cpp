#include "nsl/chain/neo/rpc.hpp"

#include <openssl/evp.h>

#include "nsl/chain/neo/stack_item.hpp"

namespace nsl::chain::neo {
namespace {

using nlohmann::json;

std::int64_t to_i64(const json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) return std::stoll(v.get<std::string>());
  throw std::invalid_argument("expected an integer");
}

// Moves the large parts (stack, notifications) out of `j`.
Execution parse_execution(json& j) {
  Execution e;
  e.trigger = j.value("trigger", "");
  e.state = j.contains("state") ? j.value("state", "") : j.value("vmstate", "");
  e.gas_consumed = to_i64(j.value("gasconsumed", json("0")));
  if (j.contains("exception") && j["exception"].is_string()) e.exception = j["exception"].get<std::string>();
  if (auto it = j.find("stack"); it != j.end()) e.stack = std::move(*it);
  if (auto it = j.find("notifications"); it != j.end()) e.notifications = std::move(*it);
  e.session = j.value("session", "");
  return e;
}

}  // namespace

std::string base64(ByteView data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

json signer_json(const Signer& s) {
  std::string scopes;
  auto add = [&](const char* name) { scopes += (scopes.empty() ? "" : ", ") + std::string(name); };
  if (s.scopes == kScopeNone) add("None");
  if (s.scopes & kCalledByEntry) add("CalledByEntry");
  if (s.scopes & kCustomContracts) add("CustomContracts");
  if (s.scopes & kCustomGroups) add("CustomGroups");
  if (s.scopes & kGlobal) add("Global");
  json j{{"account", to_display(s.account)}, {"scopes", scopes}};
  if (!s.allowed_contracts.empty()) {
    json c = json::array();
    for (const auto& h : s.allowed_contracts) c.push_back(to_display(h));
    j["allowedcontracts"] = c;
  }
  if (!s.allowed_groups.empty()) {
    json g = json::array();
    for (const auto& k : s.allowed_groups) g.push_back(crypto::to_hex(k));
    j["allowedgroups"] = g;
  }
  return j;
}

asio::awaitable<json> RpcClient::call(const std::string& method, json params) {
  auto r = co_await rpc_.call(method, std::move(params));
  co_return r;
}

asio::awaitable<Version> RpcClient::version() {
  auto r = co_await call("getversion", json::array());
  Version v;
  const auto& p = r.at("protocol");
  v.network = p.at("network").get<std::uint32_t>();
  v.ms_per_block = p.value("msperblock", 0u);
  v.max_valid_until_block_increment = p.value("maxvaliduntilblockincrement", 0u);
  v.user_agent = r.value("useragent", "");
  co_return v;
}

asio::awaitable<std::uint32_t> RpcClient::block_count() {
  auto r = co_await call("getblockcount", json::array());
  co_return r.get<std::uint32_t>();
}

asio::awaitable<Execution> RpcClient::invoke_script(Bytes script, std::vector<Signer> signers) {
  json s = json::array();
  for (const auto& signer : signers) s.push_back(signer_json(signer));
  json params = json::array({base64(script), s});
  auto r = co_await call("invokescript", std::move(params));
  co_return parse_execution(r);
}

asio::awaitable<Execution> RpcClient::invoke_function(UInt160 contract, std::string method, std::vector<Arg> args,
                                                      std::vector<Signer> signers) {
  json a = json::array();
  for (const auto& arg : args) a.push_back(contract_param_json(arg));
  json s = json::array();
  for (const auto& signer : signers) s.push_back(signer_json(signer));
  json params = json::array({to_display(contract), method, a, s});
  auto r = co_await call("invokefunction", std::move(params));
  co_return parse_execution(r);
}

asio::awaitable<json> RpcClient::traverse_iterator(std::string session, std::string iterator_id, std::uint32_t count) {
  json params = json::array({session, iterator_id, count});
  auto r = co_await call("traverseiterator", std::move(params));
  co_return r;
}

asio::awaitable<bool> RpcClient::terminate_session(std::string session) {
  json params = json::array({session});
  bool ended = false;
  try {
    auto r = co_await call("terminatesession", std::move(params));
    ended = r.is_boolean() && r.get<bool>();
  } catch (const RpcError& e) {
    if (e.code() != -107) throw;  // unknown session: already gone
  }
  co_return ended;
}

namespace {
// Nodes answer an unknown hash or height with one of these codes.
bool is_unknown(const RpcError& e) {
  return e.code() == -100 || e.code() == -101 || e.code() == -103 || e.code() == -105 || e.code() == -109;
}
}  // namespace

asio::awaitable<std::optional<Transaction>> RpcClient::raw_transaction(UInt256 hash) {
  std::optional<Transaction> out;
  json r;
  bool unknown = false;
  try {
    json params = json::array({to_display(hash), false});
    r = co_await call("getrawtransaction", std::move(params));
  } catch (const RpcError& e) {
    if (!is_unknown(e)) throw;
    unknown = true;
  }
  if (unknown) co_return out;
  const auto raw = base64_decode(r.get<std::string>());
  if (!raw) throw std::invalid_argument("node answered malformed base64");
  std::string why;
  out = deserialize(*raw, &why);
  if (!out) throw std::invalid_argument("node answered a transaction that does not decode: " + why);
  co_return out;
}

asio::awaitable<std::optional<BlockInfo>> RpcClient::block(std::uint32_t index) {
  std::optional<BlockInfo> out;
  json r;
  bool unknown = false;
  try {
    json params = json::array({index, true});
    r = co_await call("getblock", std::move(params));
  } catch (const RpcError& e) {
    if (!is_unknown(e) && e.code() != -32602) throw;
    unknown = true;
  }
  if (unknown) co_return out;
  BlockInfo b;
  b.hash = parse_uint256(r.at("hash").get<std::string>()).value();
  b.previous_hash = parse_uint256(r.at("previousblockhash").get<std::string>()).value();
  b.index = r.at("index").get<std::uint32_t>();
  b.time_ms = r.at("time").get<std::uint64_t>();
  for (const auto& t : r.value("tx", json::array()))
    b.transactions.push_back(parse_uint256(t.at("hash").get<std::string>()).value());
  out = std::move(b);
  co_return out;
}

asio::awaitable<std::int64_t> RpcClient::calculate_network_fee(Bytes transaction) {
  json params = json::array({base64(transaction)});
  auto r = co_await call("calculatenetworkfee", std::move(params));
  co_return to_i64(r.at("networkfee"));
}

asio::awaitable<UInt256> RpcClient::send_raw_transaction(Bytes transaction) {
  json params = json::array({base64(transaction)});
  auto r = co_await call("sendrawtransaction", std::move(params));
  auto hash = parse_uint256(r.at("hash").get<std::string>());
  if (!hash) throw std::invalid_argument("node answered a malformed transaction hash");
  co_return *hash;
}

asio::awaitable<std::optional<std::vector<Execution>>> RpcClient::application_logs(UInt256 hash) {
  std::optional<std::vector<Execution>> out;
  json log;
  bool unknown = false;
  try {
    json params = json::array({to_display(hash)});
    log = co_await call("getapplicationlog", std::move(params));
  } catch (const RpcError& e) {
    // Not included yet: -105 "unknown script container" (neo-go), -103 "unknown transaction",
    // -100 (older C# nodes).
    if (e.code() != -105 && e.code() != -103 && e.code() != -100) throw;
    unknown = true;
  }
  if (unknown) co_return out;
  std::vector<Execution> executions;
  if (auto it = log.find("executions"); it != log.end() && it->is_array()) {
    for (auto& e : *it) executions.push_back(parse_execution(e));
  }
  out = std::move(executions);
  co_return out;
}

asio::awaitable<std::optional<Execution>> RpcClient::application_log(UInt256 hash) {
  const auto all = co_await application_logs(hash);
  std::optional<Execution> out;
  if (all && !all->empty()) out = all->front();
  co_return out;
}

asio::awaitable<std::map<std::string, std::string>> RpcClient::nep17_balances(std::string address) {
  json params = json::array({address});
  auto r = co_await call("getnep17balances", std::move(params));
  std::map<std::string, std::string> out;
  for (const auto& b : r.value("balance", json::array())) {
    out[b.at("assethash").get<std::string>()] = b.at("amount").get<std::string>();
  }
  co_return out;
}

}  // namespace nsl::chain::neo
