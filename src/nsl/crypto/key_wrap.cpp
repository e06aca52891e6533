#include "nsl/crypto/key_wrap.hpp"

#include <stdexcept>

#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/symmetric.hpp"

namespace nsl::crypto::key_wrap {
namespace {

// The 33-byte form of a valid compressed or uncompressed point (an uncompressed key's y parity
// picks the prefix).
Bytes compressed(ByteView public_key) {
  if (public_key.size() == 33) return Bytes(public_key.begin(), public_key.end());
  Bytes out(33);
  out[0] = static_cast<std::uint8_t>((public_key[64] & 1) != 0 ? 0x03 : 0x02);
  std::copy(public_key.begin() + 1, public_key.begin() + 33, out.begin() + 1);
  return out;
}

Bytes wrapping_key(ByteView shared_x, const Bytes& ephemeral, const Bytes& recipient) {
  Bytes salt(ephemeral);
  salt.insert(salt.end(), recipient.begin(), recipient.end());
  return hkdf_sha256(shared_x, salt, as_bytes(kFormat), aes256gcm::kKeySize);
}

Bytes aad_of(const std::string& kind) {
  const std::string text = std::string(kFormat) + ":" + kind;
  return Bytes(text.begin(), text.end());
}

}  // namespace

Wrapped wrap(ByteView recipient, const std::string& kind, ByteView private_key) {
  if (!p256::is_valid_public_key(recipient)) throw std::invalid_argument("the recipient is not a P-256 public key");
  Wrapped out;
  out.kind = kind;
  out.recipient = compressed(recipient);
  Bytes ephemeral_private;
  do {
    wipe(ephemeral_private.data(), ephemeral_private.size());
    ephemeral_private = random_bytes(32);
  } while (!p256::is_valid_private_key(ephemeral_private));
  const auto e = p256::public_key(ephemeral_private);
  out.ephemeral.assign(e.begin(), e.end());
  auto shared = p256::ecdh(ephemeral_private, out.recipient).value();
  wipe(ephemeral_private.data(), ephemeral_private.size());
  auto key = wrapping_key(shared, out.ephemeral, out.recipient);
  wipe(shared.data(), shared.size());
  out.nonce = random_bytes(aes256gcm::kNonceSize);
  out.ciphertext = aes256gcm::seal(key, out.nonce, aad_of(kind), private_key);
  wipe(key.data(), key.size());
  return out;
}

std::optional<Bytes> unwrap(ByteView recipient_private_key, const Wrapped& wrapped) {
  if (wrapped.nonce.size() != aes256gcm::kNonceSize || wrapped.ciphertext.size() < aes256gcm::kTagSize) return std::nullopt;
  if (!p256::is_valid_public_key(wrapped.recipient) || !p256::is_valid_public_key(wrapped.ephemeral)) return std::nullopt;
  const auto own = p256::public_key(recipient_private_key);
  const auto recipient = compressed(wrapped.recipient);
  if (Bytes(own.begin(), own.end()) != recipient) return std::nullopt;
  auto shared = p256::ecdh(recipient_private_key, wrapped.ephemeral);
  if (!shared) return std::nullopt;
  auto key = wrapping_key(*shared, compressed(wrapped.ephemeral), recipient);
  wipe(shared->data(), shared->size());
  auto plain = aes256gcm::open(key, wrapped.nonce, aad_of(wrapped.kind), wrapped.ciphertext);
  wipe(key.data(), key.size());
  return plain;
}

}  // namespace nsl::crypto::key_wrap
