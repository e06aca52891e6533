#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "nsl/crypto/bytes.hpp"

namespace nsl::crypto {

/// An unsigned 256-bit integer for chain amounts and fees (wei values exceed 64 bits).
class Uint256 {
 public:
  constexpr Uint256() = default;
  constexpr Uint256(std::uint64_t v) : limbs_{v, 0, 0, 0} {}  // NOLINT: implicit from small values

  /// Parses decimal digits, or hex with a `0x` prefix; std::nullopt on bad input or overflow.
  static std::optional<Uint256> parse(std::string_view text);
  /// From big-endian bytes (at most 32); std::nullopt if longer.
  static std::optional<Uint256> from_be(ByteView bytes);

  /// Big-endian bytes without leading zeros (empty for zero), as RLP encodes integers.
  Bytes to_be_minimal() const;
  /// Exactly 32 big-endian bytes, as the Solidity ABI encodes uint256.
  std::array<std::uint8_t, 32> to_be32() const;
  std::string to_decimal() const;
  bool is_zero() const { return (limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  bool fits_u64() const { return (limbs_[1] | limbs_[2] | limbs_[3]) == 0; }
  std::uint64_t low_u64() const { return limbs_[0]; }

  /// Bit i (0 = least significant).
  bool bit(unsigned i) const { return i < 256 && ((limbs_[i / 64] >> (i % 64)) & 1u) != 0; }
  /// Wrapping arithmetic modulo 2^256, for two's-complement signed values.
  Uint256 operator~() const;
  friend Uint256 operator+(const Uint256& a, const Uint256& b);
  /// this * m, or std::nullopt on overflow.
  std::optional<Uint256> checked_mul(std::uint32_t m) const;
  /// Quotient and remainder of a division by a non-zero small divisor.
  std::pair<Uint256, std::uint32_t> divmod(std::uint32_t d) const;
  /// Two's-complement negation (0 - x mod 2^256).
  Uint256 negated() const { return ~*this + Uint256(1); }

  friend bool operator==(const Uint256&, const Uint256&) = default;
  friend std::strong_ordering operator<=>(const Uint256& a, const Uint256& b) {
    for (int i = 3; i >= 0; --i) {
      if (auto c = a.limbs_[i] <=> b.limbs_[i]; std::is_neq(c)) return c;
    }
    return std::strong_ordering::equal;
  }

 private:
  // Returns false on overflow.
  bool mul_add(std::uint32_t mul, std::uint32_t add);
  std::uint32_t div_small(std::uint32_t div);
  std::array<std::uint64_t, 4> limbs_{};  // little-endian limbs
};

}  // namespace nsl::crypto
