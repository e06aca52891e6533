// Golden vectors: FIPS 180-2 (SHA-256 "abc"), the RIPEMD-160 authors' page ("abc"), the Keccak
// team's Keccak-256 of "" and "abc", and the ethers 6.17.0 signature in docs/neo-protocol.md §6.
#include <gtest/gtest.h>

#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/secp256k1.hpp"
#include "nsl/crypto/uint256.hpp"

namespace nsl::crypto {
namespace {

Bytes hex(std::string_view h) { return from_hex(h).value(); }

TEST(Hex, RoundTripAndRejects) {
  EXPECT_EQ(to_hex(hex("0x00ff10Ab")), "00ff10ab");
  EXPECT_EQ(to_hex(hex("")), "");
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_FALSE(from_hex("0x0g"));
}

TEST(Hash, KnownVectors) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(ripemd160(as_bytes("abc"))), "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
  EXPECT_EQ(to_hex(keccak256(as_bytes(""))), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(to_hex(keccak256(as_bytes("abc"))), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  // Keccak-256 is not SHA3-256: the same input differs.
  EXPECT_NE(to_hex(keccak256(as_bytes(""))), "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
  EXPECT_EQ(to_hex(hash256(as_bytes("abc"))), to_hex(sha256(sha256(as_bytes("abc")))));
  EXPECT_EQ(to_hex(hash160(as_bytes("abc"))), to_hex(ripemd160(sha256(as_bytes("abc")))));
}

TEST(Secp256k1, SignsExactlyAsEthersAndRecovers) {
  const auto key = hex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
  Hash256 digest{};
  const auto d = hex("82bb3106a16d16f24829fb773f767354aeeced8d18a6d21dc74e8f9b275070f3");
  std::copy(d.begin(), d.end(), digest.begin());
  const auto sig = secp256k1::sign(key, digest);
  EXPECT_EQ(to_hex(sig.r), "75d3da10745f197c7da3ffd3aa5b8b518e4e6e6b54f4e16f2e7572160f5a829b");
  EXPECT_EQ(to_hex(sig.s), "7d2a4f91bc1b0b9a8588f44578d2129a4541f5b408748c5be02c7c30f56eb523");
  EXPECT_EQ(sig.recovery_id, 1);
  const auto pub = secp256k1::public_key(key);
  EXPECT_EQ(pub[0], 0x04);
  EXPECT_EQ(secp256k1::recover(digest, sig), pub);
  auto tampered = sig;
  tampered.s[31] ^= 1;
  EXPECT_NE(secp256k1::recover(digest, tampered), pub);
}

TEST(Secp256k1, RejectsInvalidKeys) {
  EXPECT_FALSE(secp256k1::is_valid_private_key(Bytes(32, 0)));
  EXPECT_FALSE(secp256k1::is_valid_private_key(Bytes(31, 1)));
  // The group order n itself is not a valid key.
  EXPECT_FALSE(secp256k1::is_valid_private_key(hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")));
  EXPECT_THROW(secp256k1::public_key(Bytes(32, 0)), std::invalid_argument);
}

TEST(Uint256, ParsesAndEncodes) {
  const auto one_ether = Uint256::parse("1000000000000000000").value();
  EXPECT_EQ(to_hex(one_ether.to_be_minimal()), "0de0b6b3a7640000");
  EXPECT_EQ(Uint256::parse("0xde0b6b3a7640000"), one_ether);
  EXPECT_TRUE(Uint256(0).to_be_minimal().empty());
  const auto max = Uint256::parse("115792089237316195423570985008687907853269984665640564039457584007913129639935").value();
  EXPECT_EQ(to_hex(max.to_be32()), std::string(64, 'f'));
  EXPECT_EQ(max.to_decimal(), "115792089237316195423570985008687907853269984665640564039457584007913129639935");
  EXPECT_FALSE(Uint256::parse("115792089237316195423570985008687907853269984665640564039457584007913129639936"));
  EXPECT_FALSE(Uint256::parse(""));
  EXPECT_FALSE(Uint256::parse("12a"));
  EXPECT_FALSE(Uint256::parse("-1"));
  EXPECT_EQ(Uint256::from_be(hex("0100")), Uint256(256));
  EXPECT_LT(Uint256(5), one_ether);
  EXPECT_EQ(Uint256::parse("100000000000000000000").value().to_decimal(), "100000000000000000000");  // > 2^64
}

}  // namespace
}  // namespace nsl::crypto
