#pragma once

#include "nsl/http/router.hpp"
#include "nsl/services/attestation/attestation.hpp"

namespace nsl::services::attestation {

/// GET /v1/attestation/report?nonce=<16-64 bytes hex>: the enclave's signed report binding its
/// measurement, its public keys, the nonce, the time and its mode (`simulation` here). Public,
/// like health: whoever relies on the service may check what runs it before they hold a
/// credential. `nsl attest verify` checks a saved report.
void add_routes(http::Router& router, AttestationService& attestation);

}  // namespace nsl::services::attestation
