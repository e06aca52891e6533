#pragma once

#include "nsl/chain/neo/sender.hpp"
#include "nsl/enclave/client.hpp"

namespace nsl::chain::neo {

/// The production signer: a single-signature account whose secp256r1 key the enclave holds
/// sealed. The server sends SHA-256 of the sign data (network magic and transaction hash)
/// across the boundary and gets the 64-byte signature back.
class EnclaveAccountSigner final : public AccountSigner {
 public:
  /// Throws std::invalid_argument unless `key` is a secp256r1 key with its compressed public key.
  EnclaveAccountSigner(enclave::EnclaveClient& enclave, enclave::SealedKey key);
  const Bytes& verification_script() const override { return verification_; }
  asio::awaitable<Bytes> invocation(Bytes sign_data) override;

 private:
  enclave::EnclaveClient& enclave_;
  enclave::SealedKey key_;
  Bytes verification_;
};

}  // namespace nsl::chain::neo
