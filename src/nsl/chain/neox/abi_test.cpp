// Vectors: the Solidity ABI specification's examples (sam, f), docs/neo-protocol.md §6
// (balanceOf, Transfer), and ethers 6.17.0 for EIP-191 and signed/tuple encodings.
#include "nsl/chain/neox/abi.hpp"

#include <gtest/gtest.h>

namespace nsl::chain::neox::abi {
namespace {

using crypto::to_hex;

Bytes hex(std::string_view h) { return crypto::from_hex(h).value(); }
Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }
std::vector<Type> types(std::initializer_list<const char*> names) {
  std::vector<Type> out;
  for (auto n : names) out.push_back(parse_type(n).value());
  return out;
}
Value u(std::uint64_t v) { return {Uint256(v)}; }
Value list(std::vector<Value> v) { return {std::move(v)}; }

TEST(Abi, SelectorsAndTopics) {
  EXPECT_EQ(to_hex(selector("balanceOf(address)")), "70a08231");
  EXPECT_EQ(to_hex(selector("baz(uint32,bool)")), "cdcd77c0");
  EXPECT_EQ(to_hex(event_topic("Transfer(address,address,uint256)")),
            "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
}

TEST(Abi, ParsesAndCanonicalizesTypes) {
  EXPECT_EQ(parse_type("uint")->canonical(), "uint256");
  EXPECT_EQ(parse_type("int")->canonical(), "int256");
  EXPECT_EQ(parse_type("(address,(uint8,bytes)[2])[]")->canonical(), "(address,(uint8,bytes)[2])[]");
  EXPECT_TRUE(parse_type("(address,(uint8,bytes)[2])[]")->is_dynamic());
  EXPECT_FALSE(parse_type("(address,uint8[3])")->is_dynamic());
  std::string why;
  for (const char* bad : {"uint7", "uint264", "bytes33", "bytes0", "int08", "foo", "uint256[", "(uint256", "uint[01]"}) {
    EXPECT_FALSE(parse_type(bad, &why)) << bad;
  }
}

TEST(Abi, SolidityDocumentationExamples) {
  EXPECT_EQ(to_hex(encode(types({"bytes", "bool", "uint256[]"}), {{text("dave")}, {true}, list({u(1), u(2), u(3)})})),
            "0000000000000000000000000000000000000000000000000000000000000060"
            "0000000000000000000000000000000000000000000000000000000000000001"
            "00000000000000000000000000000000000000000000000000000000000000a0"
            "0000000000000000000000000000000000000000000000000000000000000004"
            "6461766500000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000003"
            "0000000000000000000000000000000000000000000000000000000000000001"
            "0000000000000000000000000000000000000000000000000000000000000002"
            "0000000000000000000000000000000000000000000000000000000000000003");
  const auto f_types = types({"uint256", "uint32[]", "bytes10", "bytes"});
  const std::vector<Value> f_values{u(0x123), list({u(0x456), u(0x789)}), {text("1234567890")}, {text("Hello, world!")}};
  const auto f = encode(f_types, f_values);
  EXPECT_EQ(to_hex(f),
            "0000000000000000000000000000000000000000000000000000000000000123"
            "0000000000000000000000000000000000000000000000000000000000000080"
            "3132333435363738393000000000000000000000000000000000000000000000"
            "00000000000000000000000000000000000000000000000000000000000000e0"
            "0000000000000000000000000000000000000000000000000000000000000002"
            "0000000000000000000000000000000000000000000000000000000000000456"
            "0000000000000000000000000000000000000000000000000000000000000789"
            "000000000000000000000000000000000000000000000000000000000000000d"
            "48656c6c6f2c20776f726c642100000000000000000000000000000000000000");
  const auto back = decode(f_types, f);
  ASSERT_TRUE(back);
  EXPECT_EQ(encode(f_types, *back), f);
  EXPECT_EQ(std::get<Bytes>((*back)[3].v), text("Hello, world!"));
}

TEST(Abi, SignedIntegersAndTuplesAsEthers) {
  const auto addr = parse_address("0x70997970C51812dc3A010C7d01b50e0d17dc79C8").value();
  Address one{};
  one[19] = 1;
  const auto t = types({"int8", "int256", "(address,string)[2]"});
  const std::vector<Value> v{
      {Uint256(1).negated()}, {Uint256(2).negated()}, list({list({{addr}, {std::string("a")}}), list({{one}, {std::string()}})})};
  EXPECT_EQ(to_hex(encode(t, v)), std::string(64, 'f') + std::string(63, 'f') + "e" +
                                      "0000000000000000000000000000000000000000000000000000000000000060"
                                      "0000000000000000000000000000000000000000000000000000000000000040"
                                      "00000000000000000000000000000000000000000000000000000000000000c0"
                                      "00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8"
                                      "0000000000000000000000000000000000000000000000000000000000000040"
                                      "0000000000000000000000000000000000000000000000000000000000000001"
                                      "6100000000000000000000000000000000000000000000000000000000000000"
                                      "0000000000000000000000000000000000000000000000000000000000000001"
                                      "0000000000000000000000000000000000000000000000000000000000000040"
                                      "0000000000000000000000000000000000000000000000000000000000000000");
}

TEST(Abi, RefusesValuesThatDoNotFit) {
  EXPECT_THROW(encode(types({"uint8"}), {u(256)}), std::invalid_argument);
  EXPECT_THROW(encode(types({"int8"}), {u(128)}), std::invalid_argument);
  EXPECT_NO_THROW(encode(types({"int8"}), {{Uint256(128).negated()}}));
  EXPECT_THROW(encode(types({"int8"}), {{Uint256(129).negated()}}), std::invalid_argument);
  EXPECT_THROW(encode(types({"bytes4"}), {{text("abc")}}), std::invalid_argument);
  EXPECT_THROW(encode(types({"uint256[2]"}), {list({u(1)})}), std::invalid_argument);
  EXPECT_THROW(encode(types({"address"}), {u(1)}), std::invalid_argument);
  EXPECT_THROW(encode(types({"uint256", "bool"}), {u(1)}), std::invalid_argument);
  try {
    encode(types({"bool", "(uint8,string)"}), {{true}, list({u(300), {std::string("x")}})});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("argument 1.0 (uint8)"), std::string::npos) << e.what();
  }
}

TEST(Abi, DecodingRefusesHostileData) {
  std::string why;
  // A dynamic array claiming 2^64-1 elements in 96 bytes is refused before any allocation.
  const auto huge =
      hex("0000000000000000000000000000000000000000000000000000000000000020"
          "000000000000000000000000000000000000000000000000ffffffffffffffff"
          "0000000000000000000000000000000000000000000000000000000000000001");
  EXPECT_FALSE(decode(types({"uint256[]"}), huge, &why));
  // An offset pointing past the end.
  EXPECT_FALSE(decode(types({"bytes"}), hex("00000000000000000000000000000000000000000000000000000000000000ff"), &why));
  // Dirty padding for narrow types.
  EXPECT_FALSE(decode(types({"uint8"}), hex("0000000000000000000000000000000000000000000000000000000000000100"), &why));
  EXPECT_FALSE(decode(types({"bool"}), hex("0000000000000000000000000000000000000000000000000000000000000002"), &why));
  EXPECT_FALSE(decode(types({"address"}), hex("0100000000000000000000000000000000000000000000000000000000000001"), &why));
  EXPECT_FALSE(decode(types({"uint256"}), hex("00"), &why));
  EXPECT_EQ(why, "data too short");
}

TEST(Abi, Eip191MessageHashAsEthers) {
  EXPECT_EQ(to_hex(eip191_message_hash(crypto::as_bytes("hello world"))),
            "d9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68");
}

}  // namespace
}  // namespace nsl::chain::neox::abi
