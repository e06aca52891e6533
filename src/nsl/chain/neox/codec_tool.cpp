// nsl_neox_codec: a test tool that lets independent implementations check our Neo X encodings.
// Reads one JSON object per line on stdin and writes one JSON object per line on stdout:
//   {"op":"sign", "type":0|2, "chainId":n, "nonce":n, "gasPrice":"dec", "maxPriorityFeePerGas":"dec",
//    "maxFeePerGas":"dec", "gasLimit":n, "to":"0x..."|null, "value":"dec", "data":"0x..",
//    "accessList":[{"address":"0x..","storageKeys":["0x.."]}], "key":"0x.."}
//      → {"unsigned":"0x..","sighash":"0x..","signed":"0x..","hash":"0x..","from":"0x.."}
//   {"op":"decode", "raw":"0x.."} → {"from":"0x..","nonce":n,"value":"dec","chainId":n} or {"error":"..."}
//   {"op":"abi", "types":["uint8","(bytes,int16)[]",...], "values":[...], "encoded":"0x.."}
//      → {"encoded":"0x.." (ours), "roundtrip":"0x.." (decode the given bytes, encode again)}
//      Integers are decimal strings (negative for int<M>), bytes are hex, addresses 0x-hex.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "nsl/core/testing/json_lines_tool.hpp"

#include "nsl/chain/neox/abi.hpp"
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
  return {
      {"from", to_checksum(d->sender)}, {"nonce", d->tx.nonce}, {"value", d->tx.value.to_decimal()}, {"chainId", d->tx.chain_id}};
}

abi::Value to_value(const abi::Type& t, const json& j) {
  using K = abi::Type::Kind;
  switch (t.kind) {
    case K::uint:
    case K::int_: {
      auto s = j.get<std::string>();
      const bool negative = !s.empty() && s[0] == '-';
      auto v = Uint256::parse(negative ? s.substr(1) : s).value();
      return {negative ? v.negated() : v};
    }
    case K::address:
      return {parse_address(j.get<std::string>()).value()};
    case K::boolean:
      return {j.get<bool>()};
    case K::fixed_bytes:
    case K::bytes:
      return {crypto::from_hex(j.get<std::string>()).value()};
    case K::string:
      return {j.get<std::string>()};
    case K::fixed_array:
    case K::array: {
      std::vector<abi::Value> items;
      for (const auto& e : j) items.push_back(to_value(t.components[0], e));
      return {std::move(items)};
    }
    case K::tuple: {
      std::vector<abi::Value> items;
      for (std::size_t i = 0; i < t.components.size(); ++i) items.push_back(to_value(t.components[i], j.at(i)));
      return {std::move(items)};
    }
  }
  throw std::invalid_argument("unknown type");
}

json abi_one(const json& in) {
  std::vector<abi::Type> types;
  std::vector<abi::Value> values;
  for (std::size_t i = 0; i < in.at("types").size(); ++i) {
    std::string why;
    auto t = abi::parse_type(in["types"][i].get<std::string>(), &why);
    if (!t) return {{"error", why}};
    values.push_back(to_value(*t, in.at("values").at(i)));
    types.push_back(std::move(*t));
  }
  json out{{"encoded", hex0x(abi::encode(types, values))}};
  std::string why;
  const auto given = crypto::from_hex(in.at("encoded").get<std::string>()).value();
  const auto decoded = abi::decode(types, given, &why);
  if (!decoded)
    out["roundtrip_error"] = why;
  else
    out["roundtrip"] = hex0x(abi::encode(types, *decoded));
  return out;
}

}  // namespace

int main() {
  return nsl::testing::run_json_lines([](const json& in) -> json {
    const auto op = in.at("op").get<std::string>();
    return op == "sign" ? sign_one(in) : op == "abi" ? abi_one(in) : decode_one(in);
  });
}
