#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neo/encoding.hpp"

namespace nsl::chain::neo {

/// Network magic numbers (docs/neo-protocol.md §1.3).
inline constexpr std::uint32_t kMainNetMagic = 860833102;
inline constexpr std::uint32_t kTestNetMagic = 894710606;

/// WitnessScope flags.
enum WitnessScope : std::uint8_t {
  kScopeNone = 0x00,
  kCalledByEntry = 0x01,
  kCustomContracts = 0x10,
  kCustomGroups = 0x20,
  kWitnessRules = 0x40,
  kGlobal = 0x80,
};

struct Signer {
  UInt160 account{};
  std::uint8_t scopes = kCalledByEntry;
  std::vector<UInt160> allowed_contracts;  // with kCustomContracts
  std::vector<PublicKey> allowed_groups;   // with kCustomGroups
};

struct Witness {
  Bytes invocation;
  Bytes verification;
};

/// Transaction attributes: HighPriority (0x01), OracleResponse (0x11), NotValidBefore (0x20),
/// Conflicts (0x21), NotaryAssisted (0x22).
struct HighPriority {};
struct OracleResponse {
  std::uint64_t id = 0;
  std::uint8_t code = 0;  // 0x00 Success, 0x10 ProtocolNotSupported, ... 0xff Error
  Bytes result;
};
struct NotValidBefore {
  std::uint32_t height = 0;
};
struct Conflicts {
  UInt256 hash{};
};
struct NotaryAssisted {
  std::uint8_t keys = 0;
};
using Attribute = std::variant<HighPriority, OracleResponse, NotValidBefore, Conflicts, NotaryAssisted>;

/// A Neo N3 transaction (docs/neo-protocol.md §1.1).
struct Transaction {
  std::uint8_t version = 0;
  std::uint32_t nonce = 0;
  std::int64_t system_fee = 0;   // datoshi
  std::int64_t network_fee = 0;  // datoshi
  std::uint32_t valid_until_block = 0;
  std::vector<Signer> signers;
  std::vector<Attribute> attributes;
  Bytes script;
  std::vector<Witness> witnesses;
};

/// The bytes the hash covers (everything but the witnesses).
Bytes serialize_unsigned(const Transaction& tx);
/// The whole transaction, witnesses included, as sendrawtransaction takes it (base64 of this).
Bytes serialize(const Transaction& tx);
/// SHA-256 of the unsigned bytes, wire order (display with to_display()).
UInt256 transaction_hash(const Transaction& tx);
/// What the signers sign: u32 LE network magic || the hash (36 bytes).
Bytes sign_data(const Transaction& tx, std::uint32_t network_magic);
/// Invocation script for one 64-byte signature: PUSHDATA1 64 <r||s>.
Bytes signature_invocation(ByteView signature64);

/// Strict decoding with the node's limits (1..16 signers, no duplicates, at most 16 attributes
/// in all, script 1..65535 bytes, one witness per signer, no trailing bytes); std::nullopt with
/// the reason otherwise. With `witnesses_optional`, the unsigned form (serialize_unsigned, ending
/// after the script) is accepted too and gives a transaction without witnesses.
std::optional<Transaction> deserialize(ByteView data, std::string* why = nullptr, bool witnesses_optional = false);

}  // namespace nsl::chain::neo
