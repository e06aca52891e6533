// Golden vectors: docs/neo-protocol.md §6 (ethers 6.17.0, checked there by a second encoder) and
// the RLP examples of the Ethereum yellow paper / wiki.
#include <gtest/gtest.h>

#include "nsl/chain/neox/address.hpp"
#include "nsl/chain/neox/rlp.hpp"
#include "nsl/chain/neox/transaction.hpp"
#include "nsl/crypto/secp256k1.hpp"

namespace nsl::chain::neox {
namespace {

using crypto::from_hex;
using crypto::to_hex;

Bytes hex(std::string_view h) { return from_hex(h).value(); }
const Bytes kKey = hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const Address kTo = *parse_address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");

TEST(Rlp, WikiExamples) {
  EXPECT_EQ(to_hex(rlp::encode_bytes(crypto::as_bytes("dog"))), "83646f67");
  EXPECT_EQ(to_hex(rlp::encode_bytes({})), "80");
  EXPECT_EQ(to_hex(rlp::encode_bytes(hex("00"))), "00");
  EXPECT_EQ(to_hex(rlp::encode_bytes(hex("0f"))), "0f");
  EXPECT_EQ(to_hex(rlp::encode_bytes(hex("0400"))), "820400");
  EXPECT_EQ(to_hex(rlp::Encoder().bytes(crypto::as_bytes("cat")).bytes(crypto::as_bytes("dog")).finish_list()),
            "c88363617483646f67");
  EXPECT_EQ(to_hex(rlp::Encoder().finish_list()), "c0");
  EXPECT_EQ(to_hex(rlp::Encoder().uint(0).finish_list()), "c180");
  // The set-theoretical representation of three: [ [], [[]], [ [], [[]] ] ].
  rlp::Encoder three;
  three.begin_list().end_list();
  three.begin_list().begin_list().end_list().end_list();
  three.begin_list().begin_list().end_list().begin_list().begin_list().end_list().end_list().end_list();
  EXPECT_EQ(to_hex(three.finish_list()), "c7c0c1c0c3c0c1c0");
  const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  EXPECT_EQ(to_hex(rlp::encode_bytes(crypto::as_bytes(lorem))).substr(0, 4), "b838");
}

TEST(Rlp, DecodesWhatItEncodesAndRejectsNonCanonicalInput) {
  const auto enc = rlp::Encoder().bytes(crypto::as_bytes("cat")).begin_list().uint(1024).end_list().finish_list();
  const auto item = rlp::decode(enc);
  ASSERT_TRUE(item && item->is_list);
  ASSERT_EQ(item->items.size(), 2u);
  EXPECT_EQ(item->items[0].bytes, Bytes({'c', 'a', 't'}));
  EXPECT_EQ(to_hex(item->items[1].items[0].bytes), "0400");
  std::string why;
  EXPECT_FALSE(rlp::decode(hex("8100"), &why));  // 0x00 must not be wrapped
  EXPECT_EQ(why, "single byte below 0x80 must not be wrapped");
  EXPECT_FALSE(rlp::decode(hex("b80161"), &why));          // long form for a 1-byte string
  EXPECT_FALSE(rlp::decode(hex("83646f"), &why));          // truncated
  EXPECT_FALSE(rlp::decode(hex("83646f6700"), &why));      // trailing byte
  EXPECT_FALSE(rlp::decode(hex("b9000461626364"), &why));  // length with a leading zero
  EXPECT_FALSE(rlp::decode(hex("c3c2c1"), &why));          // inner list overruns its parent
}

TEST(Address, FromKeyAndEip55) {
  const auto a = address_of(crypto::secp256k1::public_key(kKey));
  EXPECT_EQ(to_checksum(a), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  EXPECT_TRUE(parse_address("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"));  // no checksum: accepted
  EXPECT_TRUE(parse_address("0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266"));
  std::string why;
  EXPECT_FALSE(parse_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92267", &why));  // wrong digit, wrong checksum
  EXPECT_FALSE(parse_address("0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266", &why));
  EXPECT_EQ(why, "the EIP-55 checksum does not match");
  EXPECT_FALSE(parse_address("f39fd6e51aad88f6f4ce6ab8827279cfffb92266", &why));
  EXPECT_FALSE(parse_address("0xf39fd6", &why));
}

TEST(Transaction, LegacyEip155VectorOfEthers) {
  Transaction tx;
  tx.type = Transaction::Type::legacy;
  tx.chain_id = kMainNetChainId;
  tx.nonce = 0;
  tx.gas_price = Uint256::parse("40000000000").value();
  tx.gas_limit = 21000;
  tx.to = kTo;
  tx.value = Uint256::parse("1000000000000000000").value();
  EXPECT_EQ(to_hex(signing_payload(tx)),
            "ee808509502f90008252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a76400008082ba938080");
  EXPECT_EQ(to_hex(signing_hash(tx)), "82bb3106a16d16f24829fb773f767354aeeced8d18a6d21dc74e8f9b275070f3");
  const auto sig = sign(tx, kKey);
  EXPECT_EQ(sig.v, Uint256(0x01754a));  // recid 1 + 35 + 2 * 47763
  const auto raw = encode_signed(tx, sig);
  EXPECT_EQ(to_hex(raw),
            "f86f808509502f90008252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a7640000808301754aa075d3da10745f"
            "197c7da3ffd3aa5b8b518e4e6e6b54f4e16f2e7572160f5a829ba07d2a4f91bc1b0b9a8588f44578d2129a4541f5b408748c5be02c"
            "7c30f56eb523");
  EXPECT_EQ(to_hex(transaction_hash(raw)), "0bf488ebe350b4149fc49c1b85052a2fcc8c764d7d3de730f7856274ee1f4681");
}

TEST(Transaction, Eip1559VectorOfEthers) {
  Transaction tx;
  tx.type = Transaction::Type::eip1559;
  tx.chain_id = kMainNetChainId;
  tx.nonce = 1;
  tx.max_priority_fee_per_gas = Uint256::parse("20000000000").value();
  tx.max_fee_per_gas = Uint256::parse("40000000000").value();
  tx.gas_limit = 21000;
  tx.to = kTo;
  tx.value = 1;
  EXPECT_EQ(to_hex(signing_payload(tx)),
            "02eb82ba93018504a817c8008509502f90008252089470997970c51812dc3a010c7d01b50e0d17dc79c80180c0");
  EXPECT_EQ(to_hex(signing_hash(tx)), "4ee22dd4b941a1fc48cf4d39dff685c3fffc860237cd17010d8d861abaecab95");
  const auto raw = encode_signed(tx, sign(tx, kKey));
  EXPECT_EQ(to_hex(raw),
            "02f86e82ba93018504a817c8008509502f90008252089470997970c51812dc3a010c7d01b50e0d17dc79c80180c001a02f9d7580ef"
            "5af38a916af2d1f812a4604efb8830184fe1a7bac567eaa947afd2a03ec27ad95dbf440257734cd6c42963baf496fe0eef8ea90741e"
            "ca3e4e90993d7");
  EXPECT_EQ(to_hex(transaction_hash(raw)), "f11a355df5b53817c20bda4e9e76f77c382f43b1766c634214d71b4e66555c7b");
}

TEST(Transaction, DecodeRecoversTheSenderOfBothTypes) {
  for (auto type : {Transaction::Type::legacy, Transaction::Type::eip1559}) {
    Transaction tx;
    tx.type = type;
    tx.chain_id = kTestNetT4ChainId;
    tx.nonce = 77;
    tx.gas_price = Uint256::parse("40000000000").value();
    tx.max_priority_fee_per_gas = Uint256::parse("20000000000").value();
    tx.max_fee_per_gas = Uint256::parse("40000000000").value();
    tx.gas_limit = 100000;
    tx.value = Uint256::parse("123456789012345678901234567890").value();  // beyond 64 bits
    tx.data = hex("a9059cbb0000");
    if (type == Transaction::Type::eip1559) {
      tx.access_list.push_back({kTo, {crypto::Hash256{}, crypto::Hash256{1}}});
    }
    const auto raw = encode_signed(tx, sign(tx, kKey));
    std::string why;
    const auto decoded = decode_signed(raw, &why);
    ASSERT_TRUE(decoded) << why;
    EXPECT_EQ(to_checksum(decoded->sender), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    EXPECT_EQ(decoded->tx.chain_id, kTestNetT4ChainId);
    EXPECT_EQ(decoded->tx.nonce, 77u);
    EXPECT_EQ(decoded->tx.value, tx.value);
    EXPECT_EQ(decoded->tx.data, tx.data);
    EXPECT_FALSE(decoded->tx.to);  // contract creation
    EXPECT_EQ(decoded->tx.access_list.size(), tx.access_list.size());
    EXPECT_EQ(encode_signed(decoded->tx, decoded->signature), raw);  // re-encodes to the same bytes
  }
}

TEST(Transaction, DecodeRejectsMalformedInput) {
  std::string why;
  EXPECT_FALSE(decode_signed({}, &why));
  EXPECT_FALSE(decode_signed(hex("01c0"), &why));
  EXPECT_EQ(why, "unsupported transaction type 1");
  EXPECT_FALSE(decode_signed(hex("c0"), &why));
  EXPECT_EQ(why, "a legacy transaction has 9 fields");
  // A pre-EIP-155 signature (v = 27) is refused: it could be replayed on any chain.
  Transaction tx;
  tx.type = Transaction::Type::legacy;
  auto sig = sign(tx, kKey);
  sig.v = 27;
  EXPECT_FALSE(decode_signed(encode_signed(tx, sig), &why));
  EXPECT_EQ(why, "the signature is not EIP-155 replay-protected");
  // A non-canonical integer (leading zero) is refused.
  EXPECT_FALSE(decode_signed(hex("f8490082520882520894"), &why));
}

}  // namespace
}  // namespace nsl::chain::neox
