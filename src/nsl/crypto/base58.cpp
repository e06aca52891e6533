#include "nsl/crypto/base58.hpp"

#include <algorithm>

#include "nsl/crypto/hash.hpp"

namespace nsl::crypto {
namespace {

constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int digit(char c) {
  const char* p = std::find(kAlphabet, kAlphabet + 58, c);
  return p == kAlphabet + 58 ? -1 : static_cast<int>(p - kAlphabet);
}

}  // namespace

std::string base58_encode(ByteView data) {
  const auto zeros =
      static_cast<std::size_t>(std::find_if(data.begin(), data.end(), [](auto b) { return b != 0; }) - data.begin());
  // Base-256 to base-58 by repeated division, on a little-endian digit buffer.
  std::vector<std::uint8_t> digits;
  for (std::size_t i = zeros; i < data.size(); ++i) {
    unsigned carry = data[i];
    for (auto& d : digits) {
      carry += static_cast<unsigned>(d) << 8;
      d = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry) {
      digits.push_back(static_cast<std::uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kAlphabet[*it]);
  return out;
}

std::optional<Bytes> base58_decode(std::string_view text) {
  const auto ones =
      static_cast<std::size_t>(std::find_if(text.begin(), text.end(), [](char c) { return c != '1'; }) - text.begin());
  std::vector<std::uint8_t> bytes;  // little-endian base-256 digits
  for (std::size_t i = ones; i < text.size(); ++i) {
    const int d = digit(text[i]);
    if (d < 0) return std::nullopt;
    unsigned carry = static_cast<unsigned>(d);
    for (auto& b : bytes) {
      carry += static_cast<unsigned>(b) * 58;
      b = static_cast<std::uint8_t>(carry & 0xFF);
      carry >>= 8;
    }
    while (carry) {
      bytes.push_back(static_cast<std::uint8_t>(carry & 0xFF));
      carry >>= 8;
    }
  }
  Bytes out(ones, 0);
  out.insert(out.end(), bytes.rbegin(), bytes.rend());
  return out;
}

std::string base58check_encode(ByteView payload) {
  Bytes all(payload.begin(), payload.end());
  const auto check = hash256(payload);
  all.insert(all.end(), check.begin(), check.begin() + 4);
  return base58_encode(all);
}

std::optional<Bytes> base58check_decode(std::string_view text) {
  auto all = base58_decode(text);
  if (!all || all->size() < 4) return std::nullopt;
  const ByteView payload(all->data(), all->size() - 4);
  const auto check = hash256(payload);
  if (!std::equal(check.begin(), check.begin() + 4, all->end() - 4)) return std::nullopt;
  return Bytes(payload.begin(), payload.end());
}

}  // namespace nsl::crypto
