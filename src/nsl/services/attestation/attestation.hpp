#pragma once

// Attestation: the enclave's report, bound to a caller's nonce, for anybody to check against the
// expected measurement (`nsl attest verify`). What the service does, without HTTP.

#include <string>

#include "nsl/core/asio.hpp"
#include "nsl/enclave/client.hpp"

namespace nsl::services::attestation {

/// A nonce of 16 to 64 bytes written as hex (32 to 128 digits); 400 naming `nonce` otherwise,
/// "is required" when there is none.
crypto::Bytes valid_nonce(const std::optional<std::string>& hex);

class AttestationService {
 public:
  explicit AttestationService(enclave::EnclaveClient& enclave) : enclave_(enclave) {}

  /// The enclave's report over `nonce`, signed with its attestation key; 503 when the enclave
  /// does not answer.
  asio::awaitable<enclave::Attestation> report(crypto::Bytes nonce);

 private:
  enclave::EnclaveClient& enclave_;
};

}  // namespace nsl::services::attestation
