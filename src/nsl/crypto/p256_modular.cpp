#include "nsl/crypto/p256_modular.hpp"

#include <gmp.h>

#include <stdexcept>
#include <type_traits>

#include "nsl/crypto/bytes.hpp"

namespace nsl::crypto::p256 {
namespace {

using u64 = std::uint64_t;
__extension__ using u128 = unsigned __int128;  // GCC and Clang on 64-bit targets

// r = a - b and the borrow out (0 or 1).
constexpr u64 sub(const Limbs& a, const Limbs& b, Limbs& r) {
  u64 borrow = 0;
  for (int j = 0; j < 4; ++j) {
    const u128 d = static_cast<u128>(a[j]) - b[j] - borrow;
    r[j] = static_cast<u64>(d);
    borrow = static_cast<u64>(d >> 64) & 1;
  }
  return borrow;
}

// mask all ones: a; mask zero: b.
constexpr Limbs select(u64 mask, const Limbs& a, const Limbs& b) {
  Limbs r{};
  for (int j = 0; j < 4; ++j) r[j] = (a[j] & mask) | (b[j] & ~mask);
  return r;
}

// Montgomery arithmetic modulo M, an odd modulus with 2^255 < M < 2^256 (so any value below
// 2^256 is below 2M, and one conditional subtraction reduces it).
template <const Limbs& M>
struct Mod {
  // -M^-1 mod 2^64, by Newton's iteration (each step doubles the correct low bits).
  static constexpr u64 neg_inverse_m0() {
    u64 inv = 1;
    for (int i = 0; i < 7; ++i) inv *= 2 - M[0] * inv;
    return ~inv + 1;
  }
  static constexpr u64 kM0 = neg_inverse_m0();
  static_assert(kM0 * M[0] == ~u64{0}, "m0' is -M^-1 mod 2^64");

  // (carry·2^256 + v) mod M for a value below 2M.
  static constexpr Limbs reduce_with_carry(const Limbs& v, u64 carry) {
    Limbs r{};
    const u64 borrow = sub(v, M, r);
    // Keep v only when there was no carry and v - M borrowed (v < M).
    const u64 keep = borrow & (carry ^ 1);
    return select(0 - keep, v, r);
  }

  // a·b·2^-256 mod M.
  static constexpr Limbs mont(const Limbs& a, const Limbs& b) {
    u64 t[6] = {0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; ++i) {
      u128 c = 0;
      for (int j = 0; j < 4; ++j) {
        c = static_cast<u128>(a[j]) * b[i] + t[j] + static_cast<u64>(c >> 64);
        t[j] = static_cast<u64>(c);
      }
      c = static_cast<u128>(t[4]) + static_cast<u64>(c >> 64);
      t[4] = static_cast<u64>(c);
      t[5] = static_cast<u64>(c >> 64);
      const u64 m = t[0] * kM0;
      c = static_cast<u128>(m) * M[0] + t[0];
      for (int j = 1; j < 4; ++j) {
        c = static_cast<u128>(m) * M[j] + t[j] + static_cast<u64>(c >> 64);
        t[j - 1] = static_cast<u64>(c);
      }
      c = static_cast<u128>(t[4]) + static_cast<u64>(c >> 64);
      t[3] = static_cast<u64>(c);
      t[4] = t[5] + static_cast<u64>(c >> 64);
    }
    return reduce_with_carry({t[0], t[1], t[2], t[3]}, t[4]);
  }

  // 2^512 mod M (R² for R = 2^256): 2^256 mod M = 2^256 - M, then 256 modular doublings.
  static constexpr Limbs r_squared() {
    Limbs r{};
    sub(Limbs{0, 0, 0, 0}, M, r);
    for (int i = 0; i < 256; ++i) {
      Limbs d{};
      u64 carry = 0;
      for (int j = 0; j < 4; ++j) {
        d[j] = (r[j] << 1) | carry;
        carry = r[j] >> 63;
      }
      r = reduce_with_carry(d, carry);
    }
    return r;
  }
  static constexpr Limbs kR2 = r_squared();

  static bool below(const Limbs& v) {
    Limbs r{};
    return sub(v, M, r) == 1;
  }
  static Limbs reduce(const Limbs& v) { return reduce_with_carry(v, 0); }
  static Limbs mul(const Limbs& a, const Limbs& b) { return mont(mont(a, b), kR2); }

  static Limbs inverse_vartime(const Limbs& a) {
    static_assert(std::is_same_v<mp_limb_t, u64> && GMP_NUMB_BITS == 64, "GMP limbs are 64-bit words here");
    mpz_t in, modulus, out;
    mpz_roinit_n(in, a.data(), 4);
    mpz_roinit_n(modulus, M.data(), 4);
    mpz_init2(out, 320);
    if (mpz_invert(out, in, modulus) == 0) {
      mpz_clear(out);
      throw std::invalid_argument("not invertible");
    }
    Limbs r{};
    const auto size = mpz_size(out);
    for (std::size_t i = 0; i < size && i < 4; ++i) r[i] = mpz_getlimbn(out, static_cast<mp_size_t>(i));
    wipe(mpz_limbs_modify(out, 5), 5 * sizeof(mp_limb_t));
    mpz_clear(out);
    return r;
  }
};

using N = Mod<order::kN>;
using P = Mod<field::kP>;
constexpr Limbs kOne = {1, 0, 0, 0};

}  // namespace

Limbs from_be(const std::uint8_t* be32) {
  Limbs v{};
  for (int j = 0; j < 4; ++j) {
    u64 w = 0;
    for (int b = 0; b < 8; ++b) w = (w << 8) | be32[(3 - j) * 8 + b];
    v[j] = w;
  }
  return v;
}

void to_be(const Limbs& v, std::uint8_t* be32) {
  for (int j = 0; j < 4; ++j) {
    for (int b = 0; b < 8; ++b) be32[(3 - j) * 8 + b] = static_cast<std::uint8_t>(v[j] >> (56 - 8 * b));
  }
}

bool is_zero(const Limbs& v) { return (v[0] | v[1] | v[2] | v[3]) == 0; }

namespace order {

bool below_n(const Limbs& v) { return N::below(v); }

bool above_half_n(const Limbs& v) {
  constexpr Limbs kHalf = {(kN[0] >> 1) | (kN[1] << 63), (kN[1] >> 1) | (kN[2] << 63), (kN[2] >> 1) | (kN[3] << 63), kN[3] >> 1};
  Limbs r{};
  return sub(kHalf, v, r) == 1;
}

Limbs reduce(const Limbs& v) { return N::reduce(v); }

Limbs add(const Limbs& a, const Limbs& b) {
  Limbs s{};
  u64 carry = 0;
  for (int j = 0; j < 4; ++j) {
    const u128 c = static_cast<u128>(a[j]) + b[j] + carry;
    s[j] = static_cast<u64>(c);
    carry = static_cast<u64>(c >> 64);
  }
  return N::reduce_with_carry(s, carry);
}

Limbs mont_mul(const Limbs& a, const Limbs& b) { return N::mont(a, b); }

Limbs mul(const Limbs& a, const Limbs& b) { return N::mul(a, b); }

Limbs negate(const Limbs& a) {
  Limbs r{};
  sub(kN, a, r);
  return r;
}

Limbs inverse(const Limbs& a) {
  // Fixed 4-bit windows over the public exponent n - 2, in the Montgomery domain.
  Limbs e{};
  sub(kN, Limbs{2, 0, 0, 0}, e);
  Limbs table[16];
  table[0] = N::mont(kOne, N::kR2);
  table[1] = N::mont(a, N::kR2);
  for (int i = 2; i < 16; ++i) table[i] = N::mont(table[i - 1], table[1]);
  Limbs x = table[0];
  for (int nibble = 63; nibble >= 0; --nibble) {
    if (nibble != 63) {
      for (int s = 0; s < 4; ++s) x = N::mont(x, x);
    }
    const auto w = static_cast<unsigned>((e[nibble / 16] >> ((nibble % 16) * 4)) & 0xF);
    if (w != 0) x = N::mont(x, table[w]);
  }
  wipe(table, sizeof table);
  return N::mont(x, kOne);
}

Limbs inverse_vartime(const Limbs& a) { return N::inverse_vartime(a); }

}  // namespace order

namespace field {

bool below_p(const Limbs& v) { return P::below(v); }
Limbs reduce(const Limbs& v) { return P::reduce(v); }
Limbs mul(const Limbs& a, const Limbs& b) { return P::mul(a, b); }
Limbs inverse_vartime(const Limbs& a) { return P::inverse_vartime(a); }

}  // namespace field
}  // namespace nsl::crypto::p256
