#include "nsl/crypto/p256.hpp"

#include <memory>
#include <stdexcept>
#include <string>

// Signing, verification and ECDH are OpenSSL's own ECDSA and ECDH on an EC_KEY. OpenSSL 3.0
// deprecates EC_KEY in favour of EVP_PKEY, but EVP_PKEY_fromdata builds the named group again
// on every import of a raw scalar (about 31 µs of CPU, as much as the signature), and keys are
// stateless here: each signature brings its own. An EC_KEY on one shared group costs nothing.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include "nsl/crypto/hash.hpp"

namespace nsl::crypto::p256 {
namespace {

struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_clear_free(b); }
};
struct PointFree {
  void operator()(EC_POINT* p) const noexcept { EC_POINT_free(p); }
};
struct EcKeyFree {
  // EC_KEY_free clears the private scalar (BN_clear_free) before it frees it.
  void operator()(EC_KEY* k) const noexcept { EC_KEY_free(k); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using Point = std::unique_ptr<EC_POINT, PointFree>;
using EcKey = std::unique_ptr<EC_KEY, EcKeyFree>;
using Sig = std::unique_ptr<ECDSA_SIG, SigFree>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("P-256: ") + what + " failed");
}

const EC_GROUP* group() {
  static const EC_GROUP* g = [] {
    const EC_GROUP* made = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    check(made != nullptr, "group");
    return made;
  }();
  return g;
}

// n / 2: a signature whose s is above it is published with n - s instead (low S).
const BIGNUM* half_order() {
  static const BIGNUM* h = [] {
    BIGNUM* v = BN_dup(EC_GROUP_get0_order(group()));
    check(v != nullptr && BN_rshift1(v, v) == 1, "n / 2");
    return v;
  }();
  return h;
}

Bn bn_from(ByteView be) { return Bn(BN_bin2bn(be.data(), static_cast<int>(be.size()), nullptr)); }

EcKey key_on_curve() {
  EcKey k(EC_KEY_new());
  check(k != nullptr && EC_KEY_set_group(k.get(), group()) == 1, "key allocation");
  return k;
}

// A key object for a private scalar. OpenSSL copies the scalar into a constant-time BIGNUM
// of the order's width; ours is cleared at once, OpenSSL's when the key is freed.
EcKey private_key_object(ByteView private_key) {
  if (!is_valid_private_key(private_key)) throw std::invalid_argument("not a valid secp256r1 private key");
  auto k = key_on_curve();
  const auto d = bn_from(private_key);
  check(d != nullptr && EC_KEY_set_private_key(k.get(), d.get()) == 1, "private key");
  return k;
}

// A point from its compressed or uncompressed encoding; nullptr unless it is on the curve.
Point decode_point(ByteView encoded) {
  Point q(EC_POINT_new(group()));
  check(q != nullptr, "point allocation");
  if (EC_POINT_oct2point(group(), q.get(), encoded.data(), encoded.size(), nullptr) != 1 ||
      EC_POINT_is_at_infinity(group(), q.get())) {
    ERR_clear_error();
    return nullptr;
  }
  return q;
}

}  // namespace

bool is_valid_private_key(ByteView key) {
  if (key.size() != 32) return false;
  const auto d = bn_from(key);
  check(d != nullptr, "scalar allocation");
  return !BN_is_zero(d.get()) && BN_cmp(d.get(), EC_GROUP_get0_order(group())) < 0;
}

std::array<std::uint8_t, 33> public_key(ByteView private_key) {
  if (!is_valid_private_key(private_key)) throw std::invalid_argument("not a valid secp256r1 private key");
  const auto d = bn_from(private_key);
  Point q(EC_POINT_new(group()));
  check(d != nullptr && q != nullptr, "allocation");
  BN_set_flags(d.get(), BN_FLG_CONSTTIME);
  check(EC_POINT_mul(group(), q.get(), d.get(), nullptr, nullptr, nullptr) == 1, "d·G");
  std::array<std::uint8_t, 33> out{};
  check(EC_POINT_point2oct(group(), q.get(), POINT_CONVERSION_COMPRESSED, out.data(), out.size(), nullptr) == 33,
        "point encoding");
  return out;
}

std::array<std::uint8_t, 64> sign(ByteView private_key, ByteView message) { return sign_digest(private_key, sha256(message)); }

std::array<std::uint8_t, 64> sign_digest(ByteView private_key, const Hash256& digest) {
  const auto key = private_key_object(private_key);
  // OpenSSL draws the nonce from the private key, the digest and fresh random bytes.
  const Sig sig(ECDSA_do_sign(digest.data(), static_cast<int>(digest.size()), key.get()));
  check(sig != nullptr, "ECDSA signing");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::array<std::uint8_t, 64> out{};
  check(BN_bn2binpad(r, out.data(), 32) == 32, "r encoding");
  // Low S: Neo's C# node and neon-js produce it; s is public, and so is n - s.
  if (BN_cmp(s, half_order()) > 0) {
    const Bn low(BN_new());
    check(low != nullptr && BN_sub(low.get(), EC_GROUP_get0_order(group()), s) == 1, "low S");
    check(BN_bn2binpad(low.get(), out.data() + 32, 32) == 32, "s encoding");
  } else {
    check(BN_bn2binpad(s, out.data() + 32, 32) == 32, "s encoding");
  }
  return out;
}

bool verify(ByteView public_key, ByteView message, ByteView signature) {
  return verify_digest(public_key, sha256(message), signature);
}

bool verify_digest(ByteView public_key, const Hash256& digest, ByteView signature) {
  if (signature.size() != 64) return false;
  const auto q = decode_point(public_key);
  if (!q) return false;
  const auto key = key_on_curve();
  check(EC_KEY_set_public_key(key.get(), q.get()) == 1, "public key");
  const Sig sig(ECDSA_SIG_new());
  auto r = bn_from(signature.subspan(0, 32));
  auto s = bn_from(signature.subspan(32, 32));
  check(sig != nullptr && r != nullptr && s != nullptr, "signature allocation");
  check(ECDSA_SIG_set0(sig.get(), r.get(), s.get()) == 1, "signature");
  (void)r.release();  // owned by sig from here
  (void)s.release();
  const bool valid = ECDSA_do_verify(digest.data(), static_cast<int>(digest.size()), sig.get(), key.get()) == 1;
  if (!valid) ERR_clear_error();
  return valid;
}

std::optional<std::array<std::uint8_t, 32>> ecdh(ByteView private_key, ByteView peer_public_key) {
  const auto own = private_key_object(private_key);
  const auto peer = decode_point(peer_public_key);
  if (!peer) return std::nullopt;
  std::array<std::uint8_t, 32> out{};
  if (ECDH_compute_key(out.data(), out.size(), peer.get(), own.get(), nullptr) != static_cast<int>(out.size())) {
    ERR_clear_error();
    wipe(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

bool is_valid_public_key(ByteView public_key) {
  if (public_key.size() != 33 && public_key.size() != 65) return false;
  return decode_point(public_key) != nullptr;
}

}  // namespace nsl::crypto::p256
