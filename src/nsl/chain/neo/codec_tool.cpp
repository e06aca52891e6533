// nsl_neo_codec: a test tool that lets neon-core check our Neo N3 encodings and signatures.
// Reads JSON lines on stdin, writes one JSON line per input on stdout:
//   {"op":"sign", "nonce", "systemFee":"dec", "networkFee":"dec", "validUntilBlock", "scopes",
//    "allowedContracts":["display hex"], "contract":"display hex", "method", "args":[{type,value}],
//    "key":"hex", "magic"} → {"script","unsigned","hash","signed","publicKey"} (hex; hash in display form)
//   {"op":"decode", "raw":"hex"} → {"reserialized":"hex"} or {"error":"..."}
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "nsl/core/testing/json_lines_tool.hpp"

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neo/script.hpp"
#include "nsl/chain/neo/transaction.hpp"
#include "nsl/crypto/p256.hpp"

using nlohmann::json;
using namespace nsl::chain::neo;
namespace crypto = nsl::crypto;

namespace {

Arg to_arg(const json& j) {
  const auto type = j.at("type").get<std::string>();
  const auto& v = j.at("value");
  if (type == "Integer") {
    auto s = v.get<std::string>();
    const bool negative = !s.empty() && s[0] == '-';
    auto mag = crypto::Uint256::parse(negative ? s.substr(1) : s).value();
    return Arg{Arg::Integer{negative ? mag.negated() : mag}};
  }
  if (type == "String") return Arg{v.get<std::string>()};
  if (type == "ByteArray") return Arg{crypto::from_hex(v.get<std::string>()).value()};
  if (type == "Hash160") return Arg{parse_uint160(v.get<std::string>()).value()};
  if (type == "Boolean") return Arg{v.get<bool>()};
  if (type == "Any") return Arg{Arg::Null{}};
  std::vector<Arg> items;
  for (const auto& e : v) items.push_back(to_arg(e));
  return Arg{std::move(items)};
}

json sign_one(const json& in) {
  const auto key = crypto::from_hex(in.at("key").get<std::string>()).value();
  const auto pub = crypto::p256::public_key(key);
  const auto verification = single_sig_script(pub);
  Transaction tx;
  tx.nonce = in.at("nonce").get<std::uint32_t>();
  tx.system_fee = std::stoll(in.at("systemFee").get<std::string>());
  tx.network_fee = std::stoll(in.at("networkFee").get<std::string>());
  tx.valid_until_block = in.at("validUntilBlock").get<std::uint32_t>();
  Signer s;
  s.account = script_hash(verification);
  s.scopes = in.at("scopes").get<std::uint8_t>();
  for (const auto& c : in.at("allowedContracts")) s.allowed_contracts.push_back(parse_uint160(c.get<std::string>()).value());
  tx.signers.push_back(s);
  std::vector<Arg> args;
  for (const auto& a : in.at("args")) args.push_back(to_arg(a));
  tx.script =
      ScriptBuilder()
          .contract_call(parse_uint160(in.at("contract").get<std::string>()).value(), in.at("method").get<std::string>(), args)
          .take();
  const auto sig = crypto::p256::sign(key, sign_data(tx, in.at("magic").get<std::uint32_t>()));
  tx.witnesses.push_back({signature_invocation(sig), verification});
  auto display = to_display(transaction_hash(tx));
  return {{"script", crypto::to_hex(tx.script)},
          {"unsigned", crypto::to_hex(serialize_unsigned(tx))},
          {"hash", display.substr(2)},
          {"signed", crypto::to_hex(serialize(tx))},
          {"publicKey", crypto::to_hex(pub)}};
}

json decode_one(const json& in) {
  std::string why;
  const auto raw = crypto::from_hex(in.at("raw").get<std::string>()).value();
  const auto tx = deserialize(raw, &why);
  if (!tx) return {{"error", why}};
  return {{"reserialized", crypto::to_hex(serialize(*tx))}};
}

}  // namespace

int main() {
  return nsl::testing::run_json_lines(
      [](const json& in) -> json { return in.at("op") == "sign" ? sign_one(in) : decode_one(in); });
}
