#pragma once

#include <optional>
#include <string>

#include "nsl/crypto/bytes.hpp"

namespace nsl::crypto::key_wrap {

/// "nsl-key-wrap-v1": how a private key travels into or out of the enclave, readable only by the
/// holder of the recipient's P-256 private key (ECIES with standard parts):
///
///   e, E  an ephemeral P-256 key pair (E compressed, 33 bytes); R the recipient (33 bytes)
///   z     = x coordinate of e·R (ECDH, 32 bytes)
///   k     = HKDF-SHA256(ikm = z, salt = E || R, info = "nsl-key-wrap-v1", 32 bytes)
///   c     = AES-256-GCM(k, a random 12-byte nonce, aad = "nsl-key-wrap-v1:" + kind, private key)
///
/// Any ECDH + HKDF + AES-GCM library unwraps it (the tests use Python's `cryptography`).
inline constexpr const char* kFormat = "nsl-key-wrap-v1";

struct Wrapped {
  std::string kind;  // secp256r1 | secp256k1 | ed25519: bound by the associated data
  Bytes recipient;   // R, compressed
  Bytes ephemeral;   // E, compressed
  Bytes nonce;       // 12 bytes
  Bytes ciphertext;  // the key's bytes, then the 16-byte tag
};

/// Wraps `private_key` for `recipient` (a compressed or uncompressed P-256 public key; throws
/// std::invalid_argument if it is not one).
Wrapped wrap(ByteView recipient, const std::string& kind, ByteView private_key);
/// The private key, or std::nullopt if `recipient_private_key` is not the one it was wrapped for
/// or anything in it was changed.
std::optional<Bytes> unwrap(ByteView recipient_private_key, const Wrapped& wrapped);

}  // namespace nsl::crypto::key_wrap
