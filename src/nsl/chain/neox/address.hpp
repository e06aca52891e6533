#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "nsl/crypto/bytes.hpp"

namespace nsl::chain::neox {

/// A 20-byte Neo X (EVM) account address.
using Address = std::array<std::uint8_t, 20>;

/// The address of an uncompressed secp256k1 public key (0x04 || X || Y): the last 20 bytes of
/// keccak256(X || Y).
Address address_of(const std::array<std::uint8_t, 65>& public_key);

/// EIP-55 mixed-case checksum form with the 0x prefix.
std::string to_checksum(const Address& a);

/// Parses `0x` + 40 hex digits. All-lower and all-upper forms are accepted as they carry no
/// checksum; a mixed-case form must carry a correct EIP-55 checksum.
std::optional<Address> parse_address(std::string_view text, std::string* why = nullptr);

}  // namespace nsl::chain::neox
