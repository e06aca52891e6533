#pragma once

// Arithmetic on four 64-bit limbs modulo the two secp256r1 moduli: the group order n (the
// scalar steps of signing) and the field prime p (turning k·G into its x coordinate). Every
// function but inverse_vartime runs in time independent of its (secret) inputs: Montgomery
// products without data-dependent branches and selects by masks. Internal to src/nsl/crypto (p256.cpp
// and its tests).

#include <array>
#include <cstdint>

namespace nsl::crypto::p256 {

/// Little-endian 64-bit limbs of an integer below 2^256.
using Limbs = std::array<std::uint64_t, 4>;

Limbs from_be(const std::uint8_t* be32);
void to_be(const Limbs& v, std::uint8_t* be32);
bool is_zero(const Limbs& v);

namespace order {

using p256::from_be;
using p256::is_zero;
using p256::Limbs;
using p256::to_be;

/// The group order n.
inline constexpr Limbs kN = {0xF3B9CAC2FC632551ULL, 0xBCE6FAADA7179E84ULL, 0xFFFFFFFFFFFFFFFFULL, 0xFFFFFFFF00000000ULL};

/// Whether v < n.
bool below_n(const Limbs& v);
/// Whether v > (n - 1) / 2 (a high S value).
bool above_half_n(const Limbs& v);
/// v mod n for any v < 2^256 (one conditional subtraction, since 2^256 < 2n).
Limbs reduce(const Limbs& v);
/// a + b mod n, a·b mod n, n - a (for 0 < a < n); inputs below n.
Limbs add(const Limbs& a, const Limbs& b);
Limbs mul(const Limbs& a, const Limbs& b);
Limbs negate(const Limbs& a);
/// The Montgomery product a·b·2^-256 mod n.
Limbs mont_mul(const Limbs& a, const Limbs& b);
/// a^-1 mod n for 0 < a < n, by Fermat (a^(n-2)), in constant time.
Limbs inverse(const Limbs& a);
/// The same by GMP's extended GCD: about 8 times faster, but its running time depends on `a`.
/// Only for values that tell nothing about a secret (the blinded nonce of signing).
Limbs inverse_vartime(const Limbs& a);

}  // namespace order

namespace field {

using p256::from_be;
using p256::is_zero;
using p256::Limbs;
using p256::to_be;

/// The field prime p = 2^256 - 2^224 + 2^192 + 2^96 - 1.
inline constexpr Limbs kP = {0xFFFFFFFFFFFFFFFFULL, 0x00000000FFFFFFFFULL, 0x0000000000000000ULL, 0xFFFFFFFF00000001ULL};

/// Whether v < p.
bool below_p(const Limbs& v);
/// v mod p for any v < 2^256.
Limbs reduce(const Limbs& v);
/// a·b mod p; inputs below p.
Limbs mul(const Limbs& a, const Limbs& b);
/// a^-1 mod p for 0 < a < p, by GMP's extended GCD in variable time: only for blinded values.
Limbs inverse_vartime(const Limbs& a);

}  // namespace field
}  // namespace nsl::crypto::p256
