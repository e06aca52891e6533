// Golden vectors from docs/neo-protocol.md (neon-core 5.10.1, checked there by a second encoder):
// var-ints (§1.2), accounts (§1.4), syscall ids (§1.5), the GAS transfer transaction (§1.7),
// contract-call scripts (§2.1) and integer pushes (§2.2).
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neo/script.hpp"
#include "nsl/chain/neo/stack_item.hpp"
#include "nsl/chain/neo/transaction.hpp"
#include "nsl/crypto/base58.hpp"
#include "nsl/crypto/p256.hpp"

namespace nsl::chain::neo {
namespace {

using crypto::from_hex;
using crypto::to_hex;

Bytes hex(std::string_view h) { return from_hex(h).value(); }

const PublicKey kValidatorKey = [] {
  PublicKey k{};
  const auto b = hex("02b3622bf4017bdfe317c58aed5f4c753f206b7db896046fa7d774bbc4bf7f8dc2");
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}();

TEST(NeoEncoding, VarIntsAsNeon) {
  auto enc = [](std::uint64_t v) { return to_hex(Writer().var_int(v).data()); };
  EXPECT_EQ(enc(0xfc), "fc");
  EXPECT_EQ(enc(0xfd), "fdfd00");
  EXPECT_EQ(enc(0xffff), "fdffff");
  EXPECT_EQ(enc(0x10000), "fe00000100");
  EXPECT_EQ(enc(0x100000000ull), "ff0000000001000000");
  std::uint64_t v = 0;
  const auto four = hex("fe00000100");  // a Reader views its bytes: they must outlive it
  Reader r(four);
  ASSERT_TRUE(r.var_int(v));
  EXPECT_EQ(v, 0x10000u);
  const auto big = hex("fdffff");
  Reader bounded(big);
  EXPECT_FALSE(bounded.var_int(v, 1000));
}

TEST(NeoEncoding, DisplayOrderIsReversed) {
  const auto gas = gas_token_hash();
  EXPECT_EQ(to_hex(gas), "cf76e28bd0062c4a478ee35561011319f3cfa4d2");
  EXPECT_EQ(to_display(gas), "0xd2a4cff31913016155e38e474a2c06d08be276cf");
  EXPECT_FALSE(parse_uint160("0x1234"));
}

TEST(NeoAccount, SingleSignatureAccountOfTheValidatorKey) {
  const auto script = single_sig_script(kValidatorKey);
  EXPECT_EQ(to_hex(script), "0c2102b3622bf4017bdfe317c58aed5f4c753f206b7db896046fa7d774bbc4bf7f8dc24156e7b327");
  const auto hash = script_hash(script);
  EXPECT_EQ(to_hex(hash), "ee9ea22c27e34bd0148fc4108e08f74e8f5048b2");
  EXPECT_EQ(to_display(hash), "0xb248508f4ef7088e10c48f14d04be3272ca29eee");
  EXPECT_EQ(to_address(hash), "Nhfg3TbpwogLvDGVvAvqyThbsHgoSUKwtn");
  EXPECT_EQ(parse_address("Nhfg3TbpwogLvDGVvAvqyThbsHgoSUKwtn"), hash);
  EXPECT_FALSE(parse_address("Nhfg3TbpwogLvDGVvAvqyThbsHgoSUKwtm"));  // checksum
  EXPECT_FALSE(parse_address("1BoatSLRHtKNngkdXEeobR76b53LETtpyT"));  // a Bitcoin address: wrong version
}

TEST(NeoAccount, OneOfOneMultisigOfThePrivnetCommittee) {
  const auto script = multisig_script(1, {kValidatorKey});
  EXPECT_EQ(to_hex(script), "110c2102b3622bf4017bdfe317c58aed5f4c753f206b7db896046fa7d774bbc4bf7f8dc211419ed0dc3a");
  EXPECT_EQ(to_display(script_hash(script)), "0x56c989e76f9a2ca05bb5caa6c96f524d905accd8");
  EXPECT_EQ(to_address(script_hash(script)), "NfgHwwTi3wHAS8aFAN243C5vGbkYDpqLHP");
  EXPECT_THROW(multisig_script(2, {kValidatorKey}), std::invalid_argument);
}

TEST(NeoAccount, Wif) {
  const auto key = decode_wif("KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY");
  ASSERT_TRUE(key);
  const auto h = to_hex(*key);
  EXPECT_EQ(h.substr(0, 8), "347bc2bd");
  EXPECT_EQ(h.substr(58), "6e3436");
  EXPECT_EQ(encode_wif(*key), "KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY");
  EXPECT_FALSE(decode_wif("KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsZ"));
}

TEST(NeoAccount, Nep2AsNeonCore) {
  // Vectors made with neon-core 5.10.1 wallet.encrypt (scrypt 16384/8/8) for the privnet key.
  const auto key = decode_wif("KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY").value();
  EXPECT_EQ(nep2_encrypt(key, "one"), "6PYM8VdX2BSm7BSXKzV4Fz6S3R9cDLLWNrD9nMjxW352jEv3fsC8N3wNLY");
  EXPECT_EQ(nep2_decrypt("6PYM8VdX3CPB6az7Hk5UqzgoWqkM2uvNiMktq3hTqqXP2fXm9mJm22s7SZ", "TestingOneTwoThree"), key);
  EXPECT_FALSE(nep2_decrypt("6PYM8VdX2BSm7BSXKzV4Fz6S3R9cDLLWNrD9nMjxW352jEv3fsC8N3wNLY", "two"));  // wrong passphrase
  EXPECT_FALSE(nep2_decrypt("6PYM8VdX2BSm7BSXKzV4Fz6S3R9cDLLWNrD9nMjxW352jEv3fsC8N3wNLZ", "one"));  // checksum
  EXPECT_FALSE(nep2_decrypt("KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY", "one"));        // not NEP-2
}

TEST(NeoScript, SyscallIds) {
  EXPECT_EQ(syscall_id("System.Contract.Call"), 0x525b7d62u);
  EXPECT_EQ(syscall_id("System.Crypto.CheckSig"), 0x27b3e756u);
  EXPECT_EQ(syscall_id("System.Crypto.CheckMultisig"), 0x3adcd09eu);
  EXPECT_EQ(syscall_id("System.Runtime.Notify"), 0x616f0195u);
}

TEST(NeoScript, IntegerPushesAsNeon) {
  auto push = [](std::int64_t v) { return to_hex(ScriptBuilder().push(v).script()); };
  EXPECT_EQ(push(-1), "0f");
  EXPECT_EQ(push(0), "10");
  EXPECT_EQ(push(16), "20");  // C#/neon form (neo-go would emit 0010)
  EXPECT_EQ(push(17), "0011");
  EXPECT_EQ(push(127), "007f");
  EXPECT_EQ(push(128), "018000");
  EXPECT_EQ(push(255), "01ff00");
  EXPECT_EQ(push(256), "010001");
  EXPECT_EQ(push(-129), "017fff");
  EXPECT_EQ(push(100000000), "0200e1f505");
  EXPECT_EQ(push(-2), "00fe");
  EXPECT_EQ(push(INT64_MIN), "030000000000000080");
}

TEST(NeoScript, ContractCallsAsNeon) {
  const auto me = *parse_address("Nhfg3TbpwogLvDGVvAvqyThbsHgoSUKwtn");
  EXPECT_EQ(to_hex(ScriptBuilder().contract_call(gas_token_hash(), "balanceOf", {Arg{me}}).script()),
            "0c14ee9ea22c27e34bd0148fc4108e08f74e8f5048b211c01f0c0962616c616e63654f660c14cf76e28bd0062c4a478ee355610113"
            "19f3cfa4d241627d5b52");
  EXPECT_EQ(to_hex(oracle_finish_script()), "c21f0c0666696e6973680c14588717117e0aa81072afab71d2dd89fe7c4b92fe41627d5b52");
  // Maps: pairs in reverse, value before key. Empty nested collections are PUSH0 PACK(MAP), as
  // neon-js and the C# node emit them; only an empty argument list is NEWARRAY0.
  Arg::Map map{{Arg{std::string("a")}, Arg::integer(1)}};
  EXPECT_EQ(to_hex(ScriptBuilder().push_arg(Arg{map}).script()), "110c016111be");
  EXPECT_EQ(to_hex(ScriptBuilder().push_arg(Arg{Arg::Map{}}).push_arg(Arg{std::vector<Arg>{}}).script()), "10be10c0");
  EXPECT_EQ(to_hex(ScriptBuilder().push_arg(Arg{Bytes(300, 0xab)}).script()).substr(0, 6), "0d2c01");
}

Transaction gas_transfer() {
  const auto from = *parse_address("Nhfg3TbpwogLvDGVvAvqyThbsHgoSUKwtn");
  const auto to = *parse_address("NMUedC8TSV2rE17wGguSvPk9XcmHSaT275");
  Transaction tx;
  tx.nonce = 123456789;
  tx.system_fee = 1000000;
  tx.network_fee = 1231520;
  tx.valid_until_block = 5000;
  tx.signers.push_back({from, kCalledByEntry, {}, {}});
  tx.script = ScriptBuilder()
                  .contract_call(gas_token_hash(), "transfer", {Arg{from}, Arg{to}, Arg::integer(100000000), Arg{Arg::Null{}}})
                  .take();
  return tx;
}

TEST(NeoTransaction, GasTransferVector) {
  auto tx = gas_transfer();
  const std::string script =
      "0b0200e1f5050c1411265bb417250041be04e8fa240e38f57c1e569b0c14ee9ea22c27e34bd0148fc4108e08f74e8f5048b214c01f0c0874"
      "72616e736665720c14cf76e28bd0062c4a478ee35561011319f3cfa4d241627d5b52";
  EXPECT_EQ(to_hex(tx.script), script);
  const std::string unsigned_hex =
      "0015cd5b0740420f0000000000a0ca1200000000008813000001ee9ea22c27e34bd0148fc4108e08f74e8f5048b201005a" + script;
  EXPECT_EQ(to_hex(serialize_unsigned(tx)), unsigned_hex);
  EXPECT_EQ(to_display(transaction_hash(tx)), "0x35d0cb37a6fe2d11f3c369b368f4522f61b6e3ecef76bb75d11e60c1fbe0d53d");
  EXPECT_EQ(to_hex(sign_data(tx, 56753)), "b1dd00003dd5e0fbc1601ed175bb76efece3b6612f52f468b369c3f3112dfea637cbd035");
  // With neon-core's signature as the witness, the signed transaction is 248 bytes.
  const std::string sig =
      "cdeb6580d283e7367c128fb03bd665a8de086f90a857e10f4e75cab23f82fecc393e6e8cea570ffd3d02c62b381d5465abfb1831ec613b1cf"
      "160a1647ee63927";
  tx.witnesses.push_back({signature_invocation(hex(sig)), single_sig_script(kValidatorKey)});
  const auto signed_bytes = serialize(tx);
  EXPECT_EQ(signed_bytes.size(), 248u);
  EXPECT_EQ(to_hex(signed_bytes), unsigned_hex + "01420c40" + sig +
                                      "280c2102b3622bf4017bdfe317c58aed5f4c753f206b7db896046fa7d774bbc4bf7f8dc24156e7b327");
  // And it decodes back to the same transaction.
  std::string why;
  const auto back = deserialize(signed_bytes, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(serialize(*back), signed_bytes);
  EXPECT_EQ(back->signers[0].account, tx.signers[0].account);
}

TEST(NeoTransaction, SignaturesVerifyOverNeonCoresSignData) {
  // The WIF's key signs the §1.7 transaction. Nonces are random, so the signature is not
  // neon-core's; it must verify over the same sign data, and neon-core's must verify with ours.
  const auto key = decode_wif("KxyjQ8eUa4FHt3Gvioyt1Wz29cTUrE4eTqX3yFSk1YFCsPL8uNsY").value();
  EXPECT_EQ(crypto::p256::public_key(key), kValidatorKey);
  const auto tx = gas_transfer();
  const auto data = sign_data(tx, 56753);
  EXPECT_EQ(to_hex(data), "b1dd00003dd5e0fbc1601ed175bb76efece3b6612f52f468b369c3f3112dfea637cbd035");
  const auto neon_sig =
      hex("cdeb6580d283e7367c128fb03bd665a8de086f90a857e10f4e75cab23f82fecc393e6e8cea570ffd3d02c62b381d5465abfb1831ec613b1cf"
          "160a1647ee63927");
  EXPECT_TRUE(crypto::p256::verify(kValidatorKey, data, neon_sig));
  const auto sig = crypto::p256::sign(key, data);
  EXPECT_TRUE(crypto::p256::verify(kValidatorKey, data, sig));
  // The witness has the shape neon-core gives it, whatever the signature's bytes.
  auto ours = tx;
  ours.witnesses.push_back({signature_invocation(sig), single_sig_script(kValidatorKey)});
  auto theirs = tx;
  theirs.witnesses.push_back({signature_invocation(neon_sig), single_sig_script(kValidatorKey)});
  const auto ours_bytes = serialize(ours);
  auto theirs_bytes = serialize(theirs);
  ASSERT_EQ(ours_bytes.size(), theirs_bytes.size());
  // After the unsigned bytes: witness count, invocation length, PUSHDATA1 64, the signature.
  const auto at = static_cast<std::ptrdiff_t>(serialize_unsigned(tx).size() + 4);
  ASSERT_TRUE(std::equal(sig.begin(), sig.end(), ours_bytes.begin() + at));
  std::copy(sig.begin(), sig.end(), theirs_bytes.begin() + at);
  EXPECT_EQ(to_hex(ours_bytes), to_hex(theirs_bytes));
  auto other = data;
  other[4] ^= 1;
  EXPECT_FALSE(crypto::p256::verify(kValidatorKey, other, sig));
  auto flipped = sig;
  flipped[63] ^= 1;
  EXPECT_FALSE(crypto::p256::verify(kValidatorKey, data, flipped));
  EXPECT_FALSE(crypto::p256::is_valid_private_key(Bytes(32, 0)));
  EXPECT_FALSE(crypto::p256::is_valid_private_key(
      hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")));  // the group order
}

TEST(NeoTransaction, AttributesRoundTrip) {
  auto tx = gas_transfer();
  tx.signers[0].scopes = kCalledByEntry | kCustomContracts;
  tx.signers[0].allowed_contracts = {gas_token_hash()};
  tx.attributes = {OracleResponse{7, 0x00, hex("7b7d")}, NotValidBefore{10}, Conflicts{UInt256{}}, HighPriority{}};
  tx.witnesses.push_back({{}, single_sig_script(kValidatorKey)});
  std::string why;
  const auto back = deserialize(serialize(tx), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(serialize(*back), serialize(tx));
  EXPECT_EQ(std::get<OracleResponse>(back->attributes[0]).result, hex("7b7d"));
}

TEST(NeoTransaction, DecoderEnforcesTheNodesRules) {
  auto tx = gas_transfer();
  tx.witnesses.push_back({{}, single_sig_script(kValidatorKey)});
  auto bytes = serialize(tx);
  std::string why;
  auto broken = bytes;
  broken[0] = 1;
  EXPECT_FALSE(deserialize(broken, &why));
  EXPECT_EQ(why, "invalid version");
  broken = bytes;
  broken.push_back(0);
  EXPECT_FALSE(deserialize(broken, &why));
  EXPECT_EQ(why, "trailing bytes");
  auto dup = tx;
  dup.signers.push_back(dup.signers[0]);
  dup.witnesses.push_back(dup.witnesses[0]);
  EXPECT_FALSE(deserialize(serialize(dup), &why));
  EXPECT_EQ(why, "duplicate signer");
  auto no_witness = tx;
  no_witness.witnesses.clear();
  EXPECT_FALSE(deserialize(serialize(no_witness), &why));
  EXPECT_EQ(why, "one witness per signer");
  auto bad_oracle = tx;
  bad_oracle.attributes = {OracleResponse{1, 0x14, hex("00")}};
  EXPECT_FALSE(deserialize(serialize(bad_oracle), &why));
  EXPECT_FALSE(deserialize(Bytes(bytes.begin(), bytes.begin() + 20), &why));
}

TEST(NeoStackItem, ParsesWhatRpcReturns) {
  // A Transfer notification's state, as neo-go sends it (base64 ByteStrings, decimal Integers).
  const auto j = nlohmann::json::parse(R"({"type":"Array","value":[
      {"type":"ByteString","value":"7p6iLCfjS9AUj8QQjgj3To9QSLI="},
      {"type":"Any"},
      {"type":"Integer","value":"-100000000000000000000"},
      {"type":"Map","value":[{"key":{"type":"ByteString","value":"R0FT"},"value":{"type":"Boolean","value":true}}]},
      {"type":"InteropInterface","interface":"IIterator","id":"6e0cbd3d"}]})");
  std::string why;
  const auto item = parse_stack_item(j, &why);
  ASSERT_TRUE(item) << why;
  ASSERT_EQ(item->items.size(), 5u);
  EXPECT_EQ(to_address(item->items[0].as_hash160().value()), "Nhfg3TbpwogLvDGVvAvqyThbsHgoSUKwtn");
  EXPECT_EQ(item->items[1].type, StackItem::Type::Any);
  EXPECT_FALSE(item->items[2].as_int64());  // beyond int64, but kept whole:
  EXPECT_EQ(item->items[2].integer.negated().to_decimal(), "100000000000000000000");
  EXPECT_EQ(item->items[3].map.at(0).key.as_string(), "GAS");
  EXPECT_TRUE(item->items[3].map.at(0).value.boolean);
  EXPECT_EQ(item->items[4].iterator_id, "6e0cbd3d");
  // A numeric ByteString (a storage value) is little-endian two's complement.
  const auto stored = parse_stack_item(nlohmann::json::parse(R"({"type":"ByteString","value":"/w=="})"));
  EXPECT_EQ(stored->as_int64(), -1);
  EXPECT_EQ(parse_stack_item(nlohmann::json::parse(R"({"type":"Integer","value":"8"})"))->as_int64(), 8);
  for (const char* bad : {R"({"type":"Integer","value":8})", R"({"type":"ByteString","value":"@@@"})",
                          R"({"type":"Float","value":"1"})", R"({"value":"1"})", R"({"type":"Array","value":{}})"}) {
    EXPECT_FALSE(parse_stack_item(nlohmann::json::parse(bad), &why)) << bad;
  }
  nlohmann::json deep = {{"type", "Any"}};
  for (int i = 0; i < 100; ++i) deep = {{"type", "Array"}, {"value", nlohmann::json::array({deep})}};
  EXPECT_FALSE(parse_stack_item(deep, &why));
  EXPECT_EQ(why, "stack item nested too deeply");
}

TEST(NeoStackItem, ContractParametersAndBase64) {
  const auto me = *parse_address("Nhfg3TbpwogLvDGVvAvqyThbsHgoSUKwtn");
  const auto j = contract_param_json(Arg{std::vector<Arg>{Arg{me}, Arg::integer(-5), Arg{Bytes{0xde, 0xad}}, Arg{Arg::Null{}}}});
  EXPECT_EQ(j.dump(), R"({"type":"Array","value":[{"type":"Hash160","value":"0xb248508f4ef7088e10c48f14d04be3272ca29eee"},)"
                      R"({"type":"Integer","value":"-5"},{"type":"ByteArray","value":"3q0="},{"type":"Any"}]})");
  EXPECT_EQ(base64_decode(""), Bytes{});
  EXPECT_EQ(base64_decode("Zg=="), Bytes({'f'}));
  EXPECT_EQ(base64_decode("Zm8="), Bytes({'f', 'o'}));
  EXPECT_EQ(base64_decode("Zm9v"), Bytes({'f', 'o', 'o'}));
  EXPECT_FALSE(base64_decode("Zm9"));
}

TEST(Base58, KnownValuesAndLeadingZeros) {
  EXPECT_EQ(crypto::base58_encode(crypto::as_bytes("hello world")), "StV1DL6CwTryKyV");
  EXPECT_EQ(crypto::base58_encode(hex("0000ff")), "115Q");  // 255 = 4*58 + 23: digits '5', 'Q'
  EXPECT_EQ(crypto::base58_decode("115Q"), hex("0000ff"));
  EXPECT_FALSE(crypto::base58_decode("0OIl"));
}

}  // namespace
}  // namespace nsl::chain::neo
