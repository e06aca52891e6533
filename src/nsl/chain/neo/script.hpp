#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "nsl/chain/neo/encoding.hpp"

namespace nsl::chain::neo {

/// NeoVM opcodes the builder emits (docs/neo-protocol.md §1.5).
enum class OpCode : std::uint8_t {
  PUSHINT8 = 0x00,
  PUSHT = 0x08,
  PUSHF = 0x09,
  PUSHNULL = 0x0B,
  PUSHDATA1 = 0x0C,
  PUSHDATA2 = 0x0D,
  PUSHDATA4 = 0x0E,
  PUSHM1 = 0x0F,
  PUSH0 = 0x10,
  ABORT = 0x38,
  RET = 0x40,
  SYSCALL = 0x41,
  PACKMAP = 0xBE,
  PACK = 0xC0,
  NEWARRAY0 = 0xC2,
  NEWMAP = 0xC8,
};

/// CallFlags of System.Contract.Call.
enum class CallFlags : std::uint8_t {
  None = 0,
  ReadStates = 1,
  WriteStates = 2,
  AllowCall = 4,
  AllowNotify = 8,
  States = 3,
  ReadOnly = 5,
  All = 15
};

/// An argument of a contract call, as a ContractParameter would carry it.
struct Arg {
  struct Null {};
  struct PublicKey {
    std::array<std::uint8_t, 33> bytes;
  };
  /// Integers: a 256-bit two's-complement value (Uint256::negated() for negative numbers).
  struct Integer {
    crypto::Uint256 value;
  };
  // A named entry rather than std::pair<Arg, Arg>: C++20 std::pair asks whether Arg is
  // default-constructible while Arg still holds a vector of that pair, a cycle that clang rejects.
  struct Entry;
  using Map = std::vector<Entry>;
  std::variant<Null, bool, Integer, Bytes, std::string, UInt160, UInt256, PublicKey, std::vector<Arg>, Map> v;

  static Arg integer(std::int64_t x);
};

/// One key/value pair of an Arg::Map.
struct Arg::Entry {
  Arg key;
  Arg value;
};

/// The interop id of a syscall: the first 4 bytes of SHA-256 of its name, as a LE u32.
std::uint32_t syscall_id(std::string_view name);

/// Builds NeoVM scripts the way the C# node and neon-js do (so hashes match theirs).
class ScriptBuilder {
 public:
  ScriptBuilder& op(OpCode op);
  /// PUSHM1/PUSH0..PUSH16 for -1..16, else the smallest PUSHINT that holds the signed value.
  ScriptBuilder& push(std::int64_t v);
  ScriptBuilder& push_integer(const crypto::Uint256& twos_complement);
  ScriptBuilder& push(bool v) { return op(v ? OpCode::PUSHT : OpCode::PUSHF); }
  ScriptBuilder& push_bytes(ByteView data);
  ScriptBuilder& push_string(std::string_view s) { return push_bytes(crypto::as_bytes(s)); }
  ScriptBuilder& push_null() { return op(OpCode::PUSHNULL); }
  ScriptBuilder& push_arg(const Arg& a);
  ScriptBuilder& syscall(std::string_view name);
  /// System.Contract.Call: arguments packed in reverse, then flags, method and contract hash.
  ScriptBuilder& contract_call(const UInt160& contract, std::string_view method, const std::vector<Arg>& args,
                               CallFlags flags = CallFlags::All);
  const Bytes& script() const { return script_; }
  Bytes take() { return std::move(script_); }

 private:
  Bytes script_;
};

/// Native contract hashes (display order in docs/neo-protocol.md §4), in wire order.
UInt160 gas_token_hash();
UInt160 neo_token_hash();
UInt160 oracle_contract_hash();
UInt160 contract_management_hash();
/// One of the native contracts (docs/neo-protocol.md §4): the only ones that run when a block
/// is persisted (OnPersist / PostPersist).
bool is_native_contract(const UInt160& hash);
/// The hash a contract gets when `sender` deploys it: Hash160(ABORT, PUSHDATA sender, PUSH the
/// NEF checksum, PUSH the manifest name).
UInt160 contract_hash(const UInt160& sender, std::uint32_t nef_checksum, std::string_view name);
/// The checksum of a NEF file (its last four bytes, little-endian); std::nullopt if too short.
std::optional<std::uint32_t> nef_checksum(ByteView nef);

/// The fixed script of an Oracle response transaction: OracleContract.finish().
Bytes oracle_finish_script();

}  // namespace nsl::chain::neo
