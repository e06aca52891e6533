#pragma once

#include "nsl/http/router.hpp"
#include "nsl/services/keys/keys.hpp"

namespace nsl::services::keys {

/// The Key Management routes (/v1/keys), each one parse → KeyService call → answer:
///   POST   /v1/keys                   {name, kind: secp256r1|secp256k1|ed25519,      keys:create
///                                      exportable?}
///   POST   /v1/keys/import            {name, kind, private_key (hex, or WIF) |        keys:import (admins)
///                                      wrapped (nsl-key-wrap-v1), exportable?}
///   GET    /v1/keys/transport-key     the enclave's P-256 key to wrap imports for     keys:import
///   GET    /v1/keys, /v1/keys/{id}    public key and chain addresses                 keys:read
///   POST   /v1/keys/{id}/sign         {digest} (32 bytes hex; Ed25519: {message})    keys:sign
///   POST   /v1/keys/{id}/sign-message {message}: Neo N3 (P-256 over SHA-256),        keys:sign
///                                     Neo X (EIP-191), Ed25519
///   POST   /v1/keys/{id}/sign-transaction  Neo N3 {network, transaction (hex)};     keys:sign
///                                     Neo X {transaction: ethers' fields}
///   POST   /v1/keys/{id}/export       {recipient, account_id?}: wrapped, if the key   keys:export (admins)
///                                     was created exportable
///   POST   /v1/keys/{id}/verify       {digest|message, signature}                     keys:read
///   POST   /v1/keys/{id}/rotate       a new key under the same id (new version)       keys:create
///   POST   /v1/keys/{id}/disable      no more signing                                 keys:create
///   DELETE /v1/keys/{id}              every version                                   keys:create
/// Another account's key id answers 404, like a missing one.
void add_routes(http::Router& router, KeyService& keys);

}  // namespace nsl::services::keys
