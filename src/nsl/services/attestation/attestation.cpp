#include "nsl/services/attestation/attestation.hpp"

#include "nsl/core/errors.hpp"

namespace nsl::services::attestation {

crypto::Bytes valid_nonce(const std::optional<std::string>& hex) {
  if (!hex) throw field_error("nonce", "is required");
  auto bytes = crypto::from_hex(*hex);
  const bool plain_hex = !hex->starts_with("0x") && !hex->starts_with("0X");
  if (!bytes || !plain_hex || bytes->size() < 16 || bytes->size() > 64)
    throw field_error("nonce", "must be 32 to 128 hex digits");
  return std::move(*bytes);
}

asio::awaitable<enclave::Attestation> AttestationService::report(crypto::Bytes nonce) {
  try {
    co_return co_await enclave_.attest(nonce);
  } catch (const enclave::EnclaveUnavailable& e) {
    throw RequestError(ErrorKind::unavailable, "the enclave is not available", e.what());
  }
}

}  // namespace nsl::services::attestation
