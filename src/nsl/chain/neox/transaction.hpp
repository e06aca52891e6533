#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nsl/chain/neox/address.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/secp256k1.hpp"
#include "nsl/crypto/uint256.hpp"

namespace nsl::chain::neox {

using crypto::Bytes;
using crypto::ByteView;
using crypto::Hash256;
using crypto::Uint256;

/// Neo X chain ids (docs/neo-protocol.md §6).
inline constexpr std::uint64_t kMainNetChainId = 47763;
inline constexpr std::uint64_t kTestNetT4ChainId = 12227332;

/// One EIP-2930 access-list entry.
struct AccessListEntry {
  Address address{};
  std::vector<Hash256> storage_keys;
};

/// An EVM transaction: legacy with EIP-155 replay protection (type 0) or EIP-1559 (type 2).
/// Neo X fixes the base fee and enforces a minimum tip through its Policy contract; choosing
/// fees is the sender's job, this type only encodes and signs.
struct Transaction {
  enum class Type { legacy = 0, eip1559 = 2 };
  Type type = Type::eip1559;
  std::uint64_t chain_id = kMainNetChainId;
  std::uint64_t nonce = 0;
  Uint256 gas_price;                 // legacy
  Uint256 max_priority_fee_per_gas;  // eip1559
  Uint256 max_fee_per_gas;           // eip1559
  std::uint64_t gas_limit = 21000;
  std::optional<Address> to;  // none: contract creation
  Uint256 value;
  Bytes data;
  std::vector<AccessListEntry> access_list;  // eip1559
};

/// A signature as the transaction carries it.
struct TxSignature {
  Uint256 v;  // legacy: recovery id + 35 + 2 * chain id; eip1559: y parity (0 or 1)
  Uint256 r;
  Uint256 s;
};

/// The bytes whose keccak256 is signed (legacy: RLP with chainId, 0, 0; type 2: 0x02 || RLP).
Bytes signing_payload(const Transaction& tx);
/// keccak256 of the signing payload.
Hash256 signing_hash(const Transaction& tx);
/// The signed raw transaction, as eth_sendRawTransaction takes it.
Bytes encode_signed(const Transaction& tx, const TxSignature& sig);
/// The transaction hash: keccak256 of the signed raw bytes.
Hash256 transaction_hash(ByteView signed_raw);
/// Signs with a secp256k1 private key (RFC 6979, low-S). Secret handling belongs to the enclave;
/// this is the primitive it uses.
TxSignature sign(const Transaction& tx, crypto::ByteView private_key);
/// The transaction's v, r, s from a signature over its signing_hash() made elsewhere (the enclave).
TxSignature tx_signature(const Transaction& tx, const crypto::secp256k1::RecoverableSignature& sig);
/// The signature's recovery id from its v, for a given transaction type and chain id.
std::optional<int> recovery_id(const Transaction& tx, const TxSignature& sig);

/// A signed transaction decoded from raw bytes, with the sender recovered from the signature.
struct DecodedTransaction {
  Transaction tx;
  TxSignature signature;
  Address sender{};
};
/// Decodes a signed legacy (EIP-155) or type-2 transaction and recovers its sender; std::nullopt
/// with a reason for anything malformed or unsigned by a valid key.
std::optional<DecodedTransaction> decode_signed(crypto::ByteView raw, std::string* why = nullptr);

}  // namespace nsl::chain::neox
