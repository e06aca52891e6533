// secp256r1 signatures checked by an independent implementation: Crypto++ derives the public key
// from the private one and verifies every signature; signatures Crypto++ makes (high or low S)
// are checked with ours. Nonces are OpenSSL's and random, so signatures are compared by
// verification, never byte for byte.
#include <gtest/gtest.h>

#include <cryptopp/eccrypto.h>
#include <cryptopp/oids.h>
#include <cryptopp/osrng.h>
#include <cryptopp/sha.h>
#include <openssl/rand.h>

#include <set>
#include <string>

#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256.hpp"

namespace nsl::crypto {
namespace {

using Ecdsa = CryptoPP::ECDSA<CryptoPP::ECP, CryptoPP::SHA256>;

Bytes hex(std::string_view h) { return from_hex(h).value(); }

const CryptoPP::Integer& order() {
  static const CryptoPP::Integer n =
      CryptoPP::DL_GroupParameters_EC<CryptoPP::ECP>(CryptoPP::ASN1::secp256r1()).GetSubgroupOrder();
  return n;
}

Bytes random_key() {
  while (true) {
    Bytes key(32);
    EXPECT_EQ(RAND_bytes(key.data(), 32), 1);
    if (p256::is_valid_private_key(key)) return key;
  }
}

// Crypto++'s public key for our private key, and its compressed encoding.
Ecdsa::PublicKey theirs_public(const Bytes& key) {
  Ecdsa::PrivateKey priv;
  priv.Initialize(CryptoPP::ASN1::secp256r1(), CryptoPP::Integer(key.data(), key.size()));
  Ecdsa::PublicKey pub;
  priv.MakePublicKey(pub);
  return pub;
}

Bytes compressed(const Ecdsa::PublicKey& pub) {
  const auto& params = pub.GetGroupParameters();
  Bytes out(params.GetCurve().EncodedPointSize(true));
  params.GetCurve().EncodePoint(out.data(), pub.GetPublicElement(), true);
  return out;
}

bool theirs_verify(const Ecdsa::PublicKey& pub, ByteView message, ByteView signature) {
  Ecdsa::Verifier verifier(pub);
  return verifier.VerifyMessage(message.data(), message.size(), signature.data(), signature.size());
}

TEST(P256Sign, CryptoppVerifiesEverySignature) {
  for (int i = 0; i < 200; ++i) {
    const auto key = random_key();
    Bytes message(static_cast<std::size_t>(i) + 1);
    ASSERT_EQ(RAND_bytes(message.data(), static_cast<int>(message.size())), 1);
    const auto theirs = theirs_public(key);
    const auto pub = p256::public_key(key);
    ASSERT_EQ(to_hex(pub), to_hex(compressed(theirs))) << "key " << to_hex(key);

    const auto sig = p256::sign(key, message);
    EXPECT_TRUE(theirs_verify(theirs, message, sig)) << "key " << to_hex(key) << " message " << to_hex(message);
    EXPECT_TRUE(p256::verify(pub, message, sig));
    // sign_digest is the same signature over a digest computed elsewhere.
    const auto over_digest = p256::sign_digest(key, sha256(message));
    EXPECT_TRUE(theirs_verify(theirs, message, over_digest));
    // Low S, as Neo's nodes and neon-js produce: 0 < s <= n / 2, and 0 < r < n.
    for (const auto& s : {sig, over_digest}) {
      const CryptoPP::Integer r_value(s.data(), 32), s_value(s.data() + 32, 32);
      EXPECT_TRUE(r_value.IsPositive() && r_value < order());
      EXPECT_TRUE(s_value.IsPositive() && s_value <= order() / 2) << to_hex(ByteView(s.data(), s.size()));
    }
    auto tampered = sig;
    tampered[static_cast<std::size_t>(i) % 64] ^= 0x01;
    EXPECT_FALSE(theirs_verify(theirs, message, tampered));
    EXPECT_FALSE(p256::verify(pub, message, tampered));
    auto other = message;
    other[0] ^= 0x80;
    EXPECT_FALSE(theirs_verify(theirs, other, sig));
    EXPECT_FALSE(p256::verify(pub, other, sig));
  }
}

TEST(P256Sign, EveryNonceIsFresh) {
  // A repeated nonce gives the private key away; OpenSSL mixes fresh random bytes into each one.
  const auto key = random_key();
  const auto theirs = theirs_public(key);
  const auto message = as_bytes("one message, signed many times");
  std::set<std::string> rs;
  for (int i = 0; i < 50; ++i) {
    const auto sig = p256::sign(key, message);
    EXPECT_TRUE(theirs_verify(theirs, message, sig));
    rs.insert(to_hex(ByteView(sig.data(), 32)));
  }
  EXPECT_EQ(rs.size(), 50u);
}

TEST(P256Verify, AcceptsCryptoppSignaturesWithHighOrLowS) {
  CryptoPP::AutoSeededRandomPool rng;
  int high = 0;
  for (int i = 0; i < 100; ++i) {
    const auto key = random_key();
    Ecdsa::PrivateKey priv;
    priv.Initialize(CryptoPP::ASN1::secp256r1(), CryptoPP::Integer(key.data(), key.size()));
    Ecdsa::Signer signer(priv);
    Bytes message(static_cast<std::size_t>(i) + 1, static_cast<std::uint8_t>(i));
    Bytes sig(signer.MaxSignatureLength());
    ASSERT_EQ(signer.SignMessage(rng, message.data(), message.size(), sig.data()), 64u);
    sig.resize(64);
    if (CryptoPP::Integer(sig.data() + 32, 32) > order() / 2) ++high;
    const auto pub = p256::public_key(key);
    EXPECT_TRUE(p256::verify(pub, message, sig)) << i;
    EXPECT_TRUE(p256::verify_digest(pub, sha256(message), sig)) << i;
    auto tampered = sig;
    tampered[63 - static_cast<std::size_t>(i) % 64] ^= 0x10;
    EXPECT_FALSE(p256::verify(pub, message, tampered)) << i;
    EXPECT_FALSE(p256::verify(p256::public_key(random_key()), message, sig)) << i;
  }
  EXPECT_GT(high, 0);  // both halves were exercised
  EXPECT_LT(high, 100);
}

TEST(P256Verify, RefusesOutOfRangeValuesAndBadKeys) {
  const auto key = random_key();
  const auto pub = p256::public_key(key);
  const auto message = as_bytes("range");
  const auto sig = p256::sign(key, message);
  ASSERT_TRUE(p256::verify(pub, message, sig));
  const auto n = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  auto with = [&](std::size_t at, const Bytes& value) {
    auto s = Bytes(sig.begin(), sig.end());
    std::copy(value.begin(), value.end(), s.begin() + static_cast<std::ptrdiff_t>(at));
    return s;
  };
  EXPECT_FALSE(p256::verify(pub, message, with(0, Bytes(32, 0))));   // r = 0
  EXPECT_FALSE(p256::verify(pub, message, with(32, Bytes(32, 0))));  // s = 0
  EXPECT_FALSE(p256::verify(pub, message, with(0, n)));              // r = n
  EXPECT_FALSE(p256::verify(pub, message, with(32, n)));             // s = n
  EXPECT_FALSE(p256::verify(pub, message, ByteView(sig.data(), 63)));
  auto negated = Bytes(pub.begin(), pub.end());
  negated[0] ^= 0x01;  // the other y: a point on the curve, but another key
  EXPECT_FALSE(p256::verify(negated, message, sig));
  EXPECT_FALSE(p256::verify(Bytes(33, 0x02), message, sig));
  EXPECT_FALSE(p256::verify(Bytes{}, message, sig));
}

TEST(P256Sign, TopOfTheKeyRange) {
  // The neon-js vector is in src/nsl/chain/neo/neo_test.cpp; here the largest valid key, n - 1.
  const auto key = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550");  // n - 1
  const auto sig = p256::sign(key, as_bytes("n - 1"));
  EXPECT_TRUE(p256::verify(p256::public_key(key), as_bytes("n - 1"), sig));
  EXPECT_TRUE(theirs_verify(theirs_public(key), as_bytes("n - 1"), sig));
  EXPECT_FALSE(p256::is_valid_private_key(hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")));
  EXPECT_FALSE(p256::is_valid_private_key(Bytes(32, 0)));
  EXPECT_THROW(p256::sign(Bytes(32, 0), as_bytes("zero")), std::invalid_argument);
}

}  // namespace
}  // namespace nsl::crypto
