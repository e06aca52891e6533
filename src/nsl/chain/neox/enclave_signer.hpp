#pragma once

#include "nsl/chain/neox/sender.hpp"
#include "nsl/enclave/client.hpp"

namespace nsl::chain::neox {

/// The production signer: a secp256k1 key the enclave holds sealed. The server sends the
/// transaction's signing hash across the boundary and gets r, s and the recovery id back.
class EnclaveSigner final : public Signer {
 public:
  /// Throws std::invalid_argument unless `key` is a secp256k1 key with its public key.
  EnclaveSigner(enclave::EnclaveClient& enclave, enclave::SealedKey key);
  Address address() const override { return address_; }
  asio::awaitable<TxSignature> sign(const Transaction& tx) override;

 private:
  enclave::EnclaveClient& enclave_;
  enclave::SealedKey key_;
  Address address_{};
};

}  // namespace nsl::chain::neox
