#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "nsl/crypto/bytes.hpp"

namespace nsl::crypto::secp256k1 {

/// An ECDSA signature over secp256k1 with its recovery id (Ethereum / Neo X).
struct RecoverableSignature {
  std::array<std::uint8_t, 32> r{};
  std::array<std::uint8_t, 32> s{};
  int recovery_id = 0;  // 0 or 1 (low-S signatures never need 2 or 3)
};

/// Whether 32 bytes are a valid private key (non-zero, below the group order).
bool is_valid_private_key(ByteView key);

/// The 65-byte uncompressed public key (0x04 || X || Y) of a private key. Throws
/// std::invalid_argument for an invalid key.
std::array<std::uint8_t, 65> public_key(ByteView private_key);

/// Signs a 32-byte digest: RFC 6979 deterministic nonce, low-S (EIP-2), as ethers and geth do.
RecoverableSignature sign(ByteView private_key, const Hash256& digest);

/// The uncompressed public key that made `sig` over `digest`, or std::nullopt.
std::optional<std::array<std::uint8_t, 65>> recover(const Hash256& digest, const RecoverableSignature& sig);

}  // namespace nsl::crypto::secp256k1
