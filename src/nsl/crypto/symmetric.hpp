#pragma once

#include <array>
#include <optional>

#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/secure_heap.hpp"

namespace nsl::crypto {

/// `n` bytes from the operating system's CSPRNG (OpenSSL RAND_bytes). Throws if it fails.
Bytes random_bytes(std::size_t n);
/// `n` random bytes in locked memory.
LockedBytes random_locked(std::size_t n);

/// HMAC-SHA256.
Hash256 hmac_sha256(ByteView key, ByteView data);

/// HKDF-SHA256 (RFC 5869): `length` bytes (at most 8160) from input key material, salt and info.
Bytes hkdf_sha256(ByteView ikm, ByteView salt, ByteView info, std::size_t length);

/// AES-256-GCM with 96-bit nonces and 128-bit tags (OpenSSL EVP).
namespace aes256gcm {
constexpr std::size_t kKeySize = 32;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
/// ciphertext || tag. The nonce must never repeat under one key.
Bytes seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext);
/// The plaintext, or std::nullopt when the tag does not verify (wrong key, nonce, aad, or data).
std::optional<Bytes> open(ByteView key, ByteView nonce, ByteView aad, ByteView sealed);
/// The same, the plaintext in locked memory (secure_heap.hpp): for keys and secret values.
std::optional<LockedBytes> open_locked(ByteView key, ByteView nonce, ByteView aad, ByteView sealed);
}  // namespace aes256gcm

/// Ed25519 (RFC 8032) with 32-byte seeds as private keys (OpenSSL EVP).
namespace ed25519 {
std::array<std::uint8_t, 32> public_key(ByteView seed);
std::array<std::uint8_t, 64> sign(ByteView seed, ByteView message);
bool verify(ByteView public_key, ByteView message, ByteView signature);
}  // namespace ed25519

}  // namespace nsl::crypto
