#include "nsl/chain/neox/address.hpp"

#include <algorithm>
#include <cctype>

#include "nsl/crypto/hash.hpp"

namespace nsl::chain::neox {

Address address_of(const std::array<std::uint8_t, 65>& public_key) {
  const auto h = crypto::keccak256(crypto::ByteView(public_key).subspan(1));
  Address a{};
  std::copy(h.end() - 20, h.end(), a.begin());
  return a;
}

std::string to_checksum(const Address& a) {
  const auto lower = crypto::to_hex(a);
  const auto h = crypto::keccak256(crypto::as_bytes(lower));
  std::string out = "0x";
  for (std::size_t i = 0; i < lower.size(); ++i) {
    const int nib = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0xF);
    const char c = lower[i];
    out.push_back(c >= 'a' && c <= 'f' && nib >= 8 ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

std::optional<Address> parse_address(std::string_view text, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<Address> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (text.size() != 42 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return fail("an address is 0x followed by 40 hex digits");
  }
  const auto bytes = crypto::from_hex(text.substr(2));
  if (!bytes) return fail("an address is 0x followed by 40 hex digits");
  Address a{};
  std::copy(bytes->begin(), bytes->end(), a.begin());
  const auto digits = text.substr(2);
  const bool has_lower = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'a' && c <= 'f'; });
  const bool has_upper = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'A' && c <= 'F'; });
  if (has_lower && has_upper && to_checksum(a).substr(2) != digits) return fail("the EIP-55 checksum does not match");
  return a;
}

}  // namespace nsl::chain::neox
