#pragma once

#include <array>
#include <optional>

#include "nsl/crypto/bytes.hpp"

namespace nsl::crypto::p256 {

/// Whether 32 bytes are a valid secp256r1 private key (1 <= d < n).
bool is_valid_private_key(ByteView key);
/// The 33-byte compressed public key. Throws std::invalid_argument for an invalid key.
std::array<std::uint8_t, 33> public_key(ByteView private_key);
/// ECDSA over SHA-256(message), OpenSSL's, with its random nonce; low-S, 64 bytes r||s, as Neo N3
/// CheckSig verifies. Two signatures of one message differ.
std::array<std::uint8_t, 64> sign(ByteView private_key, ByteView message);
/// The same over a SHA-256 digest computed elsewhere.
std::array<std::uint8_t, 64> sign_digest(ByteView private_key, const Hash256& digest);
/// Verifies a 64-byte r||s signature over SHA-256(message) with a compressed or uncompressed key.
bool verify(ByteView public_key, ByteView message, ByteView signature);
bool verify_digest(ByteView public_key, const Hash256& digest, ByteView signature);
/// ECDH: the x coordinate of private_key · peer (SEC 1 §3.3.1, what OpenSSL and WebCrypto
/// derive), or std::nullopt when the peer is not a point on the curve. Throws
/// std::invalid_argument for an invalid private key.
std::optional<std::array<std::uint8_t, 32>> ecdh(ByteView private_key, ByteView peer_public_key);
/// Whether bytes are a compressed (33) or uncompressed (65) point on the curve.
bool is_valid_public_key(ByteView public_key);

}  // namespace nsl::crypto::p256
