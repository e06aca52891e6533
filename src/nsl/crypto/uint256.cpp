#include "nsl/crypto/uint256.hpp"

#include <algorithm>

namespace nsl::crypto {
namespace {
__extension__ typedef unsigned __int128 u128;  // GCC's 128-bit integer, for carries
}  // namespace

bool Uint256::mul_add(std::uint32_t mul, std::uint32_t add) {
  u128 carry = add;
  for (auto& limb : limbs_) {
    const u128 v = static_cast<u128>(limb) * mul + carry;
    limb = static_cast<std::uint64_t>(v);
    carry = v >> 64;
  }
  return carry == 0;
}

std::uint32_t Uint256::div_small(std::uint32_t div) {
  u128 rem = 0;
  for (int i = 3; i >= 0; --i) {
    const u128 cur = (rem << 64) | limbs_[static_cast<std::size_t>(i)];
    limbs_[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(cur / div);
    rem = cur % div;
  }
  return static_cast<std::uint32_t>(rem);
}

std::optional<Uint256> Uint256::checked_mul(std::uint32_t m) const {
  Uint256 r = *this;
  if (!r.mul_add(m, 0)) return std::nullopt;
  return r;
}

std::pair<Uint256, std::uint32_t> Uint256::divmod(std::uint32_t d) const {
  Uint256 q = *this;
  const auto rem = q.div_small(d);
  return {q, rem};
}

Uint256 Uint256::operator~() const {
  Uint256 r;
  for (std::size_t i = 0; i < 4; ++i) r.limbs_[i] = ~limbs_[i];
  return r;
}

Uint256 operator+(const Uint256& a, const Uint256& b) {
  Uint256 r;
  u128 carry = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const u128 v = static_cast<u128>(a.limbs_[i]) + b.limbs_[i] + carry;
    r.limbs_[i] = static_cast<std::uint64_t>(v);
    carry = v >> 64;
  }
  return r;
}

std::optional<Uint256> Uint256::parse(std::string_view text) {
  Uint256 v;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    for (char c : text) {
      int d = -1;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      if (d < 0 || !v.mul_add(16, static_cast<std::uint32_t>(d))) return std::nullopt;
    }
    return v;
  }
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9' || !v.mul_add(10, static_cast<std::uint32_t>(c - '0'))) return std::nullopt;
  }
  return v;
}

std::optional<Uint256> Uint256::from_be(ByteView bytes) {
  if (bytes.size() > 32) return std::nullopt;
  Uint256 v;
  for (auto b : bytes) v.mul_add(256, b);
  return v;
}

std::array<std::uint8_t, 32> Uint256::to_be32() const {
  std::array<std::uint8_t, 32> out{};
  for (std::size_t i = 0; i < 32; ++i) {
    out[31 - i] = static_cast<std::uint8_t>(limbs_[i / 8] >> (8 * (i % 8)));
  }
  return out;
}

Bytes Uint256::to_be_minimal() const {
  const auto full = to_be32();
  const auto first = std::find_if(full.begin(), full.end(), [](std::uint8_t b) { return b != 0; });
  return Bytes(first, full.end());
}

std::string Uint256::to_decimal() const {
  if (is_zero()) return "0";
  Uint256 v = *this;
  std::string out;
  while (!v.is_zero()) out.push_back(static_cast<char>('0' + v.div_small(10)));
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace nsl::crypto
