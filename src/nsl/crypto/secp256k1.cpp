#include "nsl/crypto/secp256k1.hpp"

#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <stdexcept>

namespace nsl::crypto::secp256k1 {
namespace {

// One context for the process, created once; libsecp256k1 contexts are safe to share for
// signing and verification once created.
const secp256k1_context* context() {
  static secp256k1_context* ctx = [] {
    auto* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);  // every context signs and verifies (0.2+)
    std::array<std::uint8_t, 32> seed{};
    // Blinding is hardening only: without it (no randomness) signing is still correct.
    [[maybe_unused]] const bool blinded =
        RAND_bytes(seed.data(), static_cast<int>(seed.size())) == 1 && secp256k1_context_randomize(c, seed.data()) == 1;
    wipe(seed.data(), seed.size());
    return c;
  }();
  return ctx;
}

}  // namespace

bool is_valid_private_key(ByteView key) { return key.size() == 32 && secp256k1_ec_seckey_verify(context(), key.data()) == 1; }

std::array<std::uint8_t, 65> public_key(ByteView private_key) {
  if (!is_valid_private_key(private_key)) throw std::invalid_argument("not a valid secp256k1 private key");
  secp256k1_pubkey pub;
  if (secp256k1_ec_pubkey_create(context(), &pub, private_key.data()) != 1) {
    throw std::invalid_argument("not a valid secp256k1 private key");
  }
  std::array<std::uint8_t, 65> out{};
  std::size_t len = out.size();
  secp256k1_ec_pubkey_serialize(context(), out.data(), &len, &pub, SECP256K1_EC_UNCOMPRESSED);
  return out;
}

RecoverableSignature sign(ByteView private_key, const Hash256& digest) {
  if (!is_valid_private_key(private_key)) throw std::invalid_argument("not a valid secp256k1 private key");
  secp256k1_ecdsa_recoverable_signature sig;
  // A null nonce function selects RFC 6979; libsecp256k1 always produces low-S signatures.
  if (secp256k1_ecdsa_sign_recoverable(context(), &sig, digest.data(), private_key.data(), nullptr, nullptr) != 1) {
    throw std::runtime_error("secp256k1 signing failed");
  }
  std::array<std::uint8_t, 64> compact{};
  RecoverableSignature out;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(context(), compact.data(), &out.recovery_id, &sig);
  std::copy(compact.begin(), compact.begin() + 32, out.r.begin());
  std::copy(compact.begin() + 32, compact.end(), out.s.begin());
  return out;
}

std::optional<std::array<std::uint8_t, 65>> recover(const Hash256& digest, const RecoverableSignature& sig) {
  if (sig.recovery_id < 0 || sig.recovery_id > 3) return std::nullopt;
  std::array<std::uint8_t, 64> compact{};
  std::copy(sig.r.begin(), sig.r.end(), compact.begin());
  std::copy(sig.s.begin(), sig.s.end(), compact.begin() + 32);
  secp256k1_ecdsa_recoverable_signature parsed;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(context(), &parsed, compact.data(), sig.recovery_id) != 1) {
    return std::nullopt;
  }
  secp256k1_pubkey pub;
  if (secp256k1_ecdsa_recover(context(), &pub, &parsed, digest.data()) != 1) return std::nullopt;
  std::array<std::uint8_t, 65> out{};
  std::size_t len = out.size();
  secp256k1_ec_pubkey_serialize(context(), out.data(), &len, &pub, SECP256K1_EC_UNCOMPRESSED);
  return out;
}

}  // namespace nsl::crypto::secp256k1
