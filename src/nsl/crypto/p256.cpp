#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/symmetric.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256_modular.hpp"

namespace nsl::crypto::p256 {
namespace {

struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_clear_free(b); }
};
struct CtxFree {
  void operator()(BN_CTX* c) const noexcept { BN_CTX_free(c); }
};
struct PointFree {
  void operator()(EC_POINT* p) const noexcept { EC_POINT_clear_free(p); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using Ctx = std::unique_ptr<BN_CTX, CtxFree>;
using Point = std::unique_ptr<EC_POINT, PointFree>;

const EC_GROUP* group() {
  static EC_GROUP* g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  return g;
}

// Blinding factors: 32 random bytes each, fetched from the private DRBG 4 KiB at a time.
void blinding_bytes(std::uint8_t* out) {
  thread_local std::array<std::uint8_t, 4096> pool{};
  thread_local std::size_t used = pool.size();
  if (used + 32 > pool.size()) {
    if (RAND_priv_bytes(pool.data(), static_cast<int>(pool.size())) != 1) throw std::runtime_error("CSPRNG failure");
    used = 0;
  }
  std::memcpy(out, pool.data() + used, 32);
  std::memset(pool.data() + used, 0, 32);
  used += 32;
}

// One scratch context per thread (a BN_CTX is not shared between threads).
BN_CTX* scratch() {
  thread_local Ctx ctx(BN_CTX_new());
  if (!ctx) throw std::runtime_error("P-256: out of memory");
  return ctx.get();
}

Bn bn() { return Bn(BN_new()); }
Bn secret_bn(ByteView be) {
  Bn v(BN_bin2bn(be.data(), static_cast<int>(be.size()), nullptr));
  if (!v) throw std::runtime_error("P-256: out of memory");
  BN_set_flags(v.get(), BN_FLG_CONSTTIME);
  return v;
}
Bn bn_from(ByteView be) { return Bn(BN_bin2bn(be.data(), static_cast<int>(be.size()), nullptr)); }

void check(int ok) {
  if (ok != 1) throw std::runtime_error("P-256 arithmetic failed");
}

std::array<std::uint8_t, 32> to32(const BIGNUM* v) {
  std::array<std::uint8_t, 32> out{};
  check(BN_bn2binpad(v, out.data(), 32) == 32 ? 1 : 0);
  return out;
}

Hash256 hmac(ByteView key, ByteView data) { return hmac_sha256(key, data); }

// The x coordinate of a point from its Jacobian coordinates (X, Y, Z): x = X / Z². OpenSSL's own
// affine conversion inverts Z in constant time (~4.5 µs); here Z is inverted blinded, as the
// nonce is: with b uniformly random and fresh, the inversion sees only Z·b, a uniformly random
// value, so it may take GMP's variable time (~1 µs); (Z·b)⁻¹ · b = Z⁻¹.
field::Limbs affine_x(const EC_POINT* point, BN_CTX* ctx) {
  auto X = bn(), Z = bn();
  check(X && Z ? 1 : 0);
  BN_set_flags(X.get(), BN_FLG_CONSTTIME);
  BN_set_flags(Z.get(), BN_FLG_CONSTTIME);
  // Deprecated in OpenSSL 3 (which offers no other way to the projective coordinates), not removed.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  check(EC_POINT_get_Jprojective_coordinates_GFp(group(), point, X.get(), nullptr, Z.get(), ctx));
#pragma GCC diagnostic pop
  auto x = field::from_be(to32(X.get()).data());
  auto z = field::from_be(to32(Z.get()).data());
  if (field::is_zero(z)) throw std::runtime_error("P-256: the point at infinity has no x coordinate");
  std::array<std::uint8_t, 32> b_bytes{};
  blinding_bytes(b_bytes.data());
  auto b = field::reduce(field::from_be(b_bytes.data()));
  wipe(b_bytes.data(), b_bytes.size());
  if (field::is_zero(b)) b[0] = 1;
  auto z_inv = field::mul(field::inverse_vartime(field::mul(z, b)), b);
  auto out = field::mul(x, field::mul(z_inv, z_inv));
  wipe(x.data(), sizeof x);
  wipe(z.data(), sizeof z);
  wipe(b.data(), sizeof b);
  wipe(z_inv.data(), sizeof z_inv);
  return out;
}

// RFC 6979 §3.2 with HMAC-SHA256; qlen = hlen = 256 bits. `accept` says whether a candidate k
// gives a usable signature; otherwise the generator continues (step h.3).
template <class Accept>
void rfc6979(ByteView x32, ByteView h1_reduced32, Accept&& accept) {
  Bytes v(32, 0x01);
  Bytes k(32, 0x00);
  auto concat = [&](std::uint8_t sep, bool with_seed) {
    Bytes m(v.begin(), v.end());
    m.push_back(sep);
    if (with_seed) {
      m.insert(m.end(), x32.begin(), x32.end());
      m.insert(m.end(), h1_reduced32.begin(), h1_reduced32.end());
    }
    return m;
  };
  auto assign = [](Bytes& dst, const Hash256& h) { dst.assign(h.begin(), h.end()); };
  auto seed = concat(0x00, true);
  assign(k, hmac(k, seed));
  wipe(seed.data(), seed.size());
  assign(v, hmac(k, v));
  seed = concat(0x01, true);
  assign(k, hmac(k, seed));
  wipe(seed.data(), seed.size());
  assign(v, hmac(k, v));
  while (true) {
    assign(v, hmac(k, v));
    if (accept(ByteView(v))) break;
    const auto retry = concat(0x00, false);
    assign(k, hmac(k, retry));
    assign(v, hmac(k, v));
  }
  wipe(v.data(), v.size());
  wipe(k.data(), k.size());
}

}  // namespace

bool is_valid_private_key(ByteView key) {
  if (key.size() != 32) return false;
  const auto d = bn_from(key);
  return !BN_is_zero(d.get()) && BN_cmp(d.get(), EC_GROUP_get0_order(group())) < 0;
}

std::array<std::uint8_t, 33> public_key(ByteView private_key) {
  if (!is_valid_private_key(private_key)) throw std::invalid_argument("not a valid secp256r1 private key");
  Ctx ctx(BN_CTX_new());
  const auto d = bn_from(private_key);
  Point q(EC_POINT_new(group()));
  check(EC_POINT_mul(group(), q.get(), d.get(), nullptr, nullptr, ctx.get()));
  std::array<std::uint8_t, 33> out{};
  check(EC_POINT_point2oct(group(), q.get(), POINT_CONVERSION_COMPRESSED, out.data(), out.size(), ctx.get()) == 33 ? 1 : 0);
  return out;
}

std::array<std::uint8_t, 64> sign(ByteView private_key, ByteView message) { return sign_digest(private_key, sha256(message)); }

std::array<std::uint8_t, 64> sign_digest(ByteView private_key, const Hash256& h1) {
  if (!is_valid_private_key(private_key)) throw std::invalid_argument("not a valid secp256r1 private key");
  BN_CTX* ctx = scratch();
  // bits2octets: the hash reduced modulo n (qlen == hlen, so bits2int is the plain integer).
  const auto z = order::reduce(order::from_be(h1.data()));
  std::array<std::uint8_t, 32> z32{};
  order::to_be(z, z32.data());
  auto d = order::from_be(private_key.data());
  std::array<std::uint8_t, 64> out{};
  rfc6979(private_key, z32, [&](ByteView candidate) {
    auto k = order::from_be(candidate.data());
    if (order::is_zero(k) || !order::below_n(k)) return false;
    // r = (k·G).x mod n
    const auto k_bn = secret_bn(candidate);
    Point kg(EC_POINT_new(group()));
    check(kg ? 1 : 0);
    check(EC_POINT_mul(group(), kg.get(), k_bn.get(), nullptr, nullptr, ctx));
    const auto r = order::reduce(affine_x(kg.get(), ctx));
    if (order::is_zero(r)) return false;
    // s = k⁻¹ (z + r·d) mod n on limbs (src/nsl/crypto/p256_modular.cpp). The nonce is inverted
    // blinded: with b uniformly random and fresh, the inversion sees only k·b·R⁻¹ (R = 2^256),
    // a uniformly random value that tells nothing about k, so it may take a variable time (GMP's
    // extended GCD, ~1 µs against ~10 µs for Fermat); (k·b·R⁻¹)⁻¹ · b · R⁻¹ = k⁻¹. Every other
    // step on secrets is constant-time.
    auto sum = order::add(z, order::mul(r, d));
    std::array<std::uint8_t, 32> b_bytes{};
    blinding_bytes(b_bytes.data());
    auto b = order::reduce(order::from_be(b_bytes.data()));
    wipe(b_bytes.data(), b_bytes.size());
    if (order::is_zero(b)) b[0] = 1;
    auto kb_inv = order::inverse_vartime(order::mont_mul(k, b));
    auto k_inv = order::mont_mul(kb_inv, b);
    auto s = order::mul(k_inv, sum);
    wipe(k.data(), sizeof k);
    wipe(b.data(), sizeof b);
    wipe(kb_inv.data(), sizeof kb_inv);
    wipe(k_inv.data(), sizeof k_inv);
    wipe(sum.data(), sizeof sum);
    if (order::is_zero(s)) return false;
    // Low-S: neon-js (noble-curves, lowS) and the C# node's preference. s is published anyway.
    if (order::above_half_n(s)) s = order::negate(s);
    order::to_be(r, out.data());
    order::to_be(s, out.data() + 32);
    return true;
  });
  wipe(d.data(), sizeof d);
  return out;
}

bool verify(ByteView public_key, ByteView message, ByteView signature) {
  return verify_digest(public_key, sha256(message), signature);
}

bool verify_digest(ByteView public_key, const Hash256& h, ByteView signature) {
  if (signature.size() != 64) return false;
  const BIGNUM* n = EC_GROUP_get0_order(group());
  Ctx ctx(BN_CTX_new());
  Point q(EC_POINT_new(group()));
  if (EC_POINT_oct2point(group(), q.get(), public_key.data(), public_key.size(), ctx.get()) != 1) return false;
  const auto r = bn_from(signature.subspan(0, 32));
  const auto s = bn_from(signature.subspan(32, 32));
  if (BN_is_zero(r.get()) || BN_is_zero(s.get()) || BN_cmp(r.get(), n) >= 0 || BN_cmp(s.get(), n) >= 0) return false;
  auto z = bn_from(h);
  if (BN_cmp(z.get(), n) >= 0) check(BN_sub(z.get(), z.get(), n));
  Bn w(BN_mod_inverse(nullptr, s.get(), n, ctx.get()));
  if (!w) return false;
  auto u1 = bn();
  auto u2 = bn();
  check(BN_mod_mul(u1.get(), z.get(), w.get(), n, ctx.get()));
  check(BN_mod_mul(u2.get(), r.get(), w.get(), n, ctx.get()));
  Point rp(EC_POINT_new(group()));
  check(EC_POINT_mul(group(), rp.get(), u1.get(), q.get(), u2.get(), ctx.get()));
  if (EC_POINT_is_at_infinity(group(), rp.get())) return false;
  auto x = bn();
  check(EC_POINT_get_affine_coordinates(group(), rp.get(), x.get(), nullptr, ctx.get()));
  auto v = bn();
  check(BN_nnmod(v.get(), x.get(), n, ctx.get()));
  return BN_cmp(v.get(), r.get()) == 0;
}

std::optional<std::array<std::uint8_t, 32>> ecdh(ByteView private_key, ByteView peer_public_key) {
  if (!is_valid_private_key(private_key)) throw std::invalid_argument("not a valid secp256r1 private key");
  Ctx ctx(BN_CTX_new());
  Point q(EC_POINT_new(group()));
  if (EC_POINT_oct2point(group(), q.get(), peer_public_key.data(), peer_public_key.size(), ctx.get()) != 1) {
    return std::nullopt;
  }
  const auto d = bn_from(private_key);
  Point shared(EC_POINT_new(group()));
  check(EC_POINT_mul(group(), shared.get(), nullptr, q.get(), d.get(), ctx.get()));
  if (EC_POINT_is_at_infinity(group(), shared.get())) return std::nullopt;
  auto x = bn();
  check(EC_POINT_get_affine_coordinates(group(), shared.get(), x.get(), nullptr, ctx.get()));
  return to32(x.get());
}

bool is_valid_public_key(ByteView public_key) {
  if (public_key.size() != 33 && public_key.size() != 65) return false;
  Ctx ctx(BN_CTX_new());
  Point q(EC_POINT_new(group()));
  return EC_POINT_oct2point(group(), q.get(), public_key.data(), public_key.size(), ctx.get()) == 1 &&
         !EC_POINT_is_at_infinity(group(), q.get());
}

}  // namespace nsl::crypto::p256
