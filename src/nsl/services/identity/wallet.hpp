#pragma once

// Wallet sign-in's proof: a signature of the challenge by the address's key.

#include <string>

#include "nsl/crypto/bytes.hpp"

namespace nsl::services::identity {

/// The address a wallet signs in as: a Neo N3 address as given, a Neo X address in its checksum
/// form; 400 naming `address` (or `chain`, when neither "neo-n3" nor "neo-x") otherwise.
std::string wallet_address(const std::string& chain, const std::string& address);

/// Whether `signature` is `address`'s signature of `message`. Neo N3: ECDSA P-256 over SHA-256 of
/// the message (64 bytes r || s) by the key `public_key` (33 bytes compressed; 400 naming
/// public_key otherwise), which must be the key of the address's single-signature account.
/// Neo X: an EIP-191 personal signature (65 bytes r || s || v, v 0, 1, 27 or 28) whose signer
/// recovers to the address.
bool wallet_signature_valid(const std::string& chain, const std::string& address, const std::string& message,
                            crypto::ByteView signature, crypto::ByteView public_key);

}  // namespace nsl::services::identity
