// nsl_neox_codec: a test tool that lets independent implementations check our Neo X encodings.
// Reads one JSON object per line on stdin and writes one JSON object per line on stdout:
//   {"op":"sign", "type":0|2, "chainId":n, "nonce":n, "gasPrice":"dec", "maxPriorityFeePerGas":"dec",
//    "maxFeePerGas":"dec", "gasLimit":n, "to":"0x..."|null, "value":"dec", "data":"0x..",
//    "accessList":[{"address":"0x..","storageKeys":["0x.."]}], "key":"0x.."}
//      → {"unsigned":"0x..","sighash":"0x..","signed":"0x..","hash":"0x..","from":"0x.."}
//   {"op":"decode", "raw":"0x.."} → {"from":"0x..","nonce":n,"value":"dec","chainId":n} or {"error":"..."}
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "nsl/chain/neox/transaction.hpp"
#include "nsl/crypto/secp256k1.hpp"

using nlohmann::json;
using namespace nsl::chain::neox;
namespace crypto = nsl::crypto;

namespace {

std::string hex0x(crypto::ByteView b) { return "0x" + crypto::to_hex(b); }

Uint256 big(const json& j, const char* key) {
  return j.contains(key) && !j[key].is_null() ? Uint256::parse(j[key].get<std::string>()).value() : Uint256{};
}

json sign_one(const json& in) {
  Transaction tx;
  tx.type = in.at("type").get<int>() == 0 ? Transaction::Type::legacy : Transaction::Type::eip1559;
  tx.chain_id = in.at("chainId").get<std::uint64_t>();
  tx.nonce = in.at("nonce").get<std::uint64_t>();
  tx.gas_price = big(in, "gasPrice");
  tx.max_priority_fee_per_gas = big(in, "maxPriorityFeePerGas");
  tx.max_fee_per_gas = big(in, "maxFeePerGas");
  tx.gas_limit = in.at("gasLimit").get<std::uint64_t>();
  if (!in.at("to").is_null()) tx.to = parse_address(in["to"].get<std::string>()).value();
  tx.value = big(in, "value");
  tx.data = crypto::from_hex(in.at("data").get<std::string>()).value();
  for (const auto& e : in.value("accessList", json::array())) {
    AccessListEntry entry;
    entry.address = parse_address(e.at("address").get<std::string>()).value();
    for (const auto& k : e.at("storageKeys")) {
      const auto b = crypto::from_hex(k.get<std::string>()).value();
      crypto::Hash256 h{};
      std::copy(b.begin(), b.end(), h.begin());
      entry.storage_keys.push_back(h);
    }
    tx.access_list.push_back(std::move(entry));
  }
  const auto key = crypto::from_hex(in.at("key").get<std::string>()).value();
  const auto raw = encode_signed(tx, sign(tx, key));
  return {{"unsigned", hex0x(signing_payload(tx))},
          {"sighash", hex0x(signing_hash(tx))},
          {"signed", hex0x(raw)},
          {"hash", hex0x(transaction_hash(raw))},
          {"from", to_checksum(address_of(crypto::secp256k1::public_key(key)))}};
}

json decode_one(const json& in) {
  std::string why;
  const auto raw = crypto::from_hex(in.at("raw").get<std::string>()).value();
  const auto d = decode_signed(raw, &why);
  if (!d) return {{"error", why}};
  return {{"from", to_checksum(d->sender)},
          {"nonce", d->tx.nonce},
          {"value", d->tx.value.to_decimal()},
          {"chainId", d->tx.chain_id}};
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    try {
      const auto in = json::parse(line);
      const auto op = in.at("op").get<std::string>();
      std::cout << (op == "sign" ? sign_one(in) : decode_one(in)).dump() << "\n";
    } catch (const std::exception& e) {
      std::cout << json{{"error", e.what()}}.dump() << "\n";
    }
  }
  return 0;
}
