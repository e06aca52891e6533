#include "nsl/chain/neox/enclave_signer.hpp"

#include <stdexcept>

namespace nsl::chain::neox {

EnclaveSigner::EnclaveSigner(enclave::EnclaveClient& enclave, enclave::SealedKey key) : enclave_(enclave), key_(std::move(key)) {
  if (key_.kind != "secp256k1" || key_.public_key.size() != 65) {
    throw std::invalid_argument("a Neo X signer needs a secp256k1 key (65-byte public key)");
  }
  std::array<std::uint8_t, 65> pub{};
  std::copy(key_.public_key.begin(), key_.public_key.end(), pub.begin());
  address_ = address_of(pub);
}

asio::awaitable<TxSignature> EnclaveSigner::sign(const Transaction& tx) {
  const auto digest = signing_hash(tx);
  const auto sig = co_await enclave_.sign(key_, crypto::Bytes(digest.begin(), digest.end()));
  if (sig.bytes.size() != 64 || sig.recovery_id < 0 || sig.recovery_id > 1) {
    throw std::runtime_error("the enclave returned a malformed secp256k1 signature");
  }
  crypto::secp256k1::RecoverableSignature rs;
  std::copy(sig.bytes.begin(), sig.bytes.begin() + 32, rs.r.begin());
  std::copy(sig.bytes.begin() + 32, sig.bytes.end(), rs.s.begin());
  rs.recovery_id = sig.recovery_id;
  // The enclave signs what it is given; check the signature is this key's before it goes on chain.
  const auto recovered = crypto::secp256k1::recover(digest, rs);
  if (!recovered || address_of(*recovered) != address_) {
    throw std::runtime_error("the enclave's signature does not recover to the signer's address");
  }
  co_return tx_signature(tx, rs);
}

}  // namespace nsl::chain::neox
