#pragma once

#include <array>

#include "nsl/crypto/bytes.hpp"

namespace nsl::crypto {

/// SHA-256 (FIPS 180-4).
Hash256 sha256(ByteView data);
/// RIPEMD-160.
std::array<std::uint8_t, 20> ripemd160(ByteView data);
/// RIPEMD-160 of SHA-256: Neo N3 script hashes.
std::array<std::uint8_t, 20> hash160(ByteView data);
/// SHA-256 applied twice: Base58Check and NEF checksums.
Hash256 hash256(ByteView data);
/// Keccak-256 as Ethereum and Neo X use it (the original Keccak padding, not SHA3-256).
Hash256 keccak256(ByteView data);

}  // namespace nsl::crypto
