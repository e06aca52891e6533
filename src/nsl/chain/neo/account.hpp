#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nsl/chain/neo/encoding.hpp"

namespace nsl::chain::neo {

/// A compressed secp256r1 public key (33 bytes).
using PublicKey = std::array<std::uint8_t, 33>;

/// Neo N3 address version byte (ProtocolSettings.AddressVersion).
inline constexpr std::uint8_t kAddressVersion = 0x35;

/// `PUSHDATA1 33 <key> SYSCALL System.Crypto.CheckSig` (40 bytes).
Bytes single_sig_script(const PublicKey& key);
/// `PUSH(m) {PUSHDATA1 33 key}×n PUSH(n) SYSCALL System.Crypto.CheckMultisig`, keys sorted ascending.
/// Throws std::invalid_argument unless 1 <= m <= n <= 1024.
Bytes multisig_script(std::size_t m, std::vector<PublicKey> keys);
/// RIPEMD-160(SHA-256(script)), wire order.
UInt160 script_hash(ByteView verification_script);
/// Base58Check(0x35 || script hash).
std::string to_address(const UInt160& script_hash);
/// The script hash of an N3 address; std::nullopt for a bad checksum or version.
std::optional<UInt160> parse_address(std::string_view address);

/// The private key in a WIF string (0x80 || key || 0x01, Base58Check); std::nullopt if malformed.
/// The caller owns the secret: wipe it after use.
std::optional<Bytes> decode_wif(std::string_view wif);
std::string encode_wif(ByteView private_key);

/// NEP-2: the private key encrypted under a passphrase (scrypt N=16384, r=8, p=8; AES-256),
/// bound to the key's address by a 4-byte hash. `scrypt_n` may be lowered only for tests.
std::string nep2_encrypt(ByteView private_key, std::string_view passphrase, std::uint64_t scrypt_n = 16384);
/// The private key, or std::nullopt for a malformed string or a wrong passphrase (the address
/// hash does not match).
std::optional<Bytes> nep2_decrypt(std::string_view nep2, std::string_view passphrase, std::uint64_t scrypt_n = 16384);

}  // namespace nsl::chain::neo
