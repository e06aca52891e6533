// secp256r1 signing checked against two independent implementations: the arithmetic modulo n and
// p (src/nsl/crypto/p256_modular.cpp) against OpenSSL's BIGNUM on edge and random values, and whole
// signatures byte for byte against Crypto++'s RFC 6979 ECDSA (normalised to low S).
#include <gtest/gtest.h>

#include <cryptopp/eccrypto.h>
#include <cryptopp/oids.h>
#include <cryptopp/osrng.h>
#include <cryptopp/sha.h>
#include <openssl/bn.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/p256_modular.hpp"

namespace nsl::crypto {
namespace {

namespace order = p256::order;

struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
struct CtxFree {
  void operator()(BN_CTX* c) const noexcept { BN_CTX_free(c); }
};

Bytes hex(std::string_view h) { return from_hex(h).value(); }

Bn to_bn(const order::Limbs& v) {
  std::uint8_t be[32];
  order::to_be(v, be);
  return Bn(BN_bin2bn(be, 32, nullptr));
}

order::Limbs from_bn(const BIGNUM* v) {
  std::uint8_t be[32];
  EXPECT_EQ(BN_bn2binpad(v, be, 32), 32);
  return order::from_be(be);
}

order::Limbs random_below_n() {
  while (true) {
    std::uint8_t be[32];
    EXPECT_EQ(RAND_bytes(be, 32), 1);
    const auto v = order::from_be(be);
    if (order::below_n(v) && !order::is_zero(v)) return v;
  }
}

TEST(P256Order, MatchesBignumOnEdgesAndRandomValues) {
  std::unique_ptr<BN_CTX, CtxFree> ctx(BN_CTX_new());
  const auto n = to_bn(order::kN);
  std::vector<order::Limbs> values;
  for (std::uint64_t small : {1ULL, 2ULL, 3ULL, 0xFFFFFFFFFFFFFFFFULL}) values.push_back({small, 0, 0, 0});
  for (std::uint64_t minus : {1ULL, 2ULL, 3ULL}) values.push_back(order::negate({minus, 0, 0, 0}));
  values.push_back({0, 0, 0, 0x8000000000000000ULL});
  values.push_back({0, 0, 0xFFFFFFFFFFFFFFFFULL, 0x7FFFFFFF80000000ULL});  // about n/2
  values.push_back({0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFEFFFFFFFFULL});
  for (int i = 0; i < 300; ++i) values.push_back(random_below_n());

  const auto half = Bn(BN_dup(n.get()));
  ASSERT_EQ(BN_rshift1(half.get(), n.get()), 1);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& a = values[i];
    const auto& b = values[(i * 7 + 3) % values.size()];
    const auto A = to_bn(a), B = to_bn(b);
    Bn expect(BN_new());
    ASSERT_EQ(BN_mod_mul(expect.get(), A.get(), B.get(), n.get(), ctx.get()), 1);
    EXPECT_EQ(order::mul(a, b), from_bn(expect.get())) << i;
    ASSERT_EQ(BN_mod_add(expect.get(), A.get(), B.get(), n.get(), ctx.get()), 1);
    EXPECT_EQ(order::add(a, b), from_bn(expect.get())) << i;
    Bn inv(BN_mod_inverse(nullptr, A.get(), n.get(), ctx.get()));
    ASSERT_TRUE(inv);
    EXPECT_EQ(order::inverse(a), from_bn(inv.get())) << i;
    EXPECT_EQ(order::inverse_vartime(a), from_bn(inv.get())) << i;
    ASSERT_EQ(BN_sub(expect.get(), n.get(), A.get()), 1);
    EXPECT_EQ(order::negate(a), from_bn(expect.get())) << i;
    EXPECT_EQ(order::above_half_n(a), BN_cmp(A.get(), half.get()) > 0) << i;
  }
  // reduce: values in [n, 2^256) lose exactly one n; values below n are unchanged.
  const order::Limbs top = {~0ULL, ~0ULL, ~0ULL, ~0ULL};
  Bn top_minus_n(BN_new());
  ASSERT_EQ(BN_sub(top_minus_n.get(), to_bn(top).get(), n.get()), 1);
  EXPECT_EQ(order::reduce(top), from_bn(top_minus_n.get()));
  EXPECT_TRUE(order::is_zero(order::reduce(order::kN)));
  EXPECT_FALSE(order::below_n(order::kN));
  EXPECT_EQ(order::reduce(values[5]), values[5]);
}

TEST(P256Field, MatchesBignumOnEdgesAndRandomValues) {
  namespace field = p256::field;
  std::unique_ptr<BN_CTX, CtxFree> ctx(BN_CTX_new());
  const auto p = to_bn(field::kP);
  std::vector<p256::Limbs> values;
  for (std::uint64_t small : {1ULL, 2ULL, 3ULL, 0xFFFFFFFFFFFFFFFFULL}) values.push_back({small, 0, 0, 0});
  for (std::uint64_t minus : {1ULL, 2ULL, 3ULL}) {
    p256::Limbs v = field::kP;
    v[0] -= minus;
    values.push_back(v);
  }
  values.push_back({0, 0, 0, 0x8000000000000000ULL});
  values.push_back({0, 0xFFFFFFFF00000000ULL, 0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFF00000000ULL});  // just below p
  for (int i = 0; i < 300; ++i) {
    std::uint8_t be[32];
    ASSERT_EQ(RAND_bytes(be, sizeof be), 1);
    const auto v = field::reduce(p256::from_be(be));
    if (!p256::is_zero(v)) values.push_back(v);
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& a = values[i];
    const auto& b = values[(i * 7 + 3) % values.size()];
    ASSERT_TRUE(field::below_p(a)) << i;
    const auto A = to_bn(a), B = to_bn(b);
    Bn expect(BN_new());
    ASSERT_EQ(BN_mod_mul(expect.get(), A.get(), B.get(), p.get(), ctx.get()), 1);
    EXPECT_EQ(field::mul(a, b), from_bn(expect.get())) << i;
    Bn inv(BN_mod_inverse(nullptr, A.get(), p.get(), ctx.get()));
    ASSERT_TRUE(inv);
    EXPECT_EQ(field::inverse_vartime(a), from_bn(inv.get())) << i;
  }
  // reduce: values in [p, 2^256) lose exactly one p.
  const p256::Limbs top = {~0ULL, ~0ULL, ~0ULL, ~0ULL};
  Bn top_minus_p(BN_new());
  ASSERT_EQ(BN_sub(top_minus_p.get(), to_bn(top).get(), p.get()), 1);
  EXPECT_EQ(field::reduce(top), from_bn(top_minus_p.get()));
  EXPECT_TRUE(p256::is_zero(field::reduce(field::kP)));
  EXPECT_FALSE(field::below_p(field::kP));
  EXPECT_THROW(field::inverse_vartime({0, 0, 0, 0}), std::invalid_argument);
}

TEST(P256Sign, MatchesCryptoppRfc6979) {
  CryptoPP::AutoSeededRandomPool rng;
  for (int i = 0; i < 200; ++i) {
    std::uint8_t key_be[32];
    order::to_be(random_below_n(), key_be);
    const Bytes key(key_be, key_be + 32);
    Bytes message(static_cast<std::size_t>(i) + 1);
    ASSERT_EQ(RAND_bytes(message.data(), static_cast<int>(message.size())), 1);

    CryptoPP::ECDSA_RFC6979<CryptoPP::ECP, CryptoPP::SHA256>::PrivateKey theirs_key;
    theirs_key.Initialize(CryptoPP::ASN1::secp256r1(), CryptoPP::Integer(key_be, 32));
    CryptoPP::ECDSA_RFC6979<CryptoPP::ECP, CryptoPP::SHA256>::Signer signer(theirs_key);
    Bytes theirs(signer.MaxSignatureLength());
    ASSERT_EQ(signer.SignMessage(rng, message.data(), message.size(), theirs.data()), 64U);
    // Crypto++ does not normalise S; ours is always the low one.
    auto s = order::from_be(theirs.data() + 32);
    if (order::above_half_n(s)) s = order::negate(s);
    order::to_be(s, theirs.data() + 32);
    theirs.resize(64);

    const auto ours = p256::sign(key, message);
    ASSERT_EQ(to_hex(ByteView(ours.data(), ours.size())), to_hex(theirs)) << "key " << to_hex(key);
    const auto pub = p256::public_key(key);
    EXPECT_TRUE(p256::verify(pub, message, ours));
    auto tampered = ours;
    tampered[40] ^= 0x01;
    EXPECT_FALSE(p256::verify(pub, message, tampered));
  }
}

TEST(P256Sign, TopOfTheKeyRange) {
  // The neon-js vector is in src/nsl/chain/neo/neo_test.cpp; here the largest valid key, n - 1.
  const auto key = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550");  // n - 1
  const auto sig = p256::sign(key, as_bytes("n - 1"));
  EXPECT_TRUE(p256::verify(p256::public_key(key), as_bytes("n - 1"), sig));
  EXPECT_FALSE(p256::is_valid_private_key(hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")));
}

}  // namespace
}  // namespace nsl::crypto
