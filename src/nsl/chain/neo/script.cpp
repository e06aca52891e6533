#include "nsl/chain/neo/script.hpp"

#include <algorithm>

#include "nsl/chain/neo/account.hpp"
#include "nsl/crypto/hash.hpp"

namespace nsl::chain::neo {
namespace {

UInt160 from_display(const char* display) { return *parse_uint160(display); }

// The minimal little-endian two's-complement bytes of a 256-bit value (at least one byte).
Bytes signed_le(const crypto::Uint256& v) {
  const auto be = v.to_be32();
  Bytes le(be.rbegin(), be.rend());
  const bool negative = v.bit(255);
  const std::uint8_t fill = negative ? 0xFF : 0x00;
  while (le.size() > 1 && le.back() == fill && ((le[le.size() - 2] & 0x80) != 0) == negative) le.pop_back();
  return le;
}

}  // namespace

Arg Arg::integer(std::int64_t x) {
  const crypto::Uint256 magnitude(static_cast<std::uint64_t>(x < 0 ? -(x + 1) : x));
  return Arg{Integer{x < 0 ? (magnitude + crypto::Uint256(1)).negated() : magnitude}};
}

std::uint32_t syscall_id(std::string_view name) {
  const auto h = crypto::sha256(crypto::as_bytes(name));
  return static_cast<std::uint32_t>(h[0]) | static_cast<std::uint32_t>(h[1]) << 8 | static_cast<std::uint32_t>(h[2]) << 16 |
         static_cast<std::uint32_t>(h[3]) << 24;
}

ScriptBuilder& ScriptBuilder::op(OpCode o) {
  script_.push_back(static_cast<std::uint8_t>(o));
  return *this;
}

ScriptBuilder& ScriptBuilder::push(std::int64_t v) { return push_arg(Arg::integer(v)); }

ScriptBuilder& ScriptBuilder::push_integer(const crypto::Uint256& v) {
  // -1..16 have one-byte opcodes.
  if (v == crypto::Uint256(1).negated()) return op(OpCode::PUSHM1);
  if (!v.bit(255) && v.fits_u64() && v.low_u64() <= 16) {
    script_.push_back(static_cast<std::uint8_t>(0x10 + v.low_u64()));
    return *this;
  }
  auto le = signed_le(v);
  // PUSHINT8..PUSHINT256 take 1, 2, 4, 8, 16 or 32 bytes, sign-extended.
  std::size_t size = 1;
  std::uint8_t code = 0x00;
  while (size < le.size()) {
    size *= 2;
    ++code;
  }
  le.resize(size, v.bit(255) ? 0xFF : 0x00);
  script_.push_back(code);
  script_.insert(script_.end(), le.begin(), le.end());
  return *this;
}

ScriptBuilder& ScriptBuilder::push_bytes(ByteView data) {
  Writer w;
  if (data.size() < 0x100)
    w.u8(static_cast<std::uint8_t>(OpCode::PUSHDATA1)).u8(static_cast<std::uint8_t>(data.size()));
  else if (data.size() < 0x10000)
    w.u8(static_cast<std::uint8_t>(OpCode::PUSHDATA2)).u16(static_cast<std::uint16_t>(data.size()));
  else
    w.u8(static_cast<std::uint8_t>(OpCode::PUSHDATA4)).u32(static_cast<std::uint32_t>(data.size()));
  w.bytes(data);
  script_.insert(script_.end(), w.data().begin(), w.data().end());
  return *this;
}

ScriptBuilder& ScriptBuilder::push_arg(const Arg& a) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Arg::Null>)
          push_null();
        else if constexpr (std::is_same_v<T, bool>)
          push(x);
        else if constexpr (std::is_same_v<T, Arg::Integer>)
          push_integer(x.value);
        else if constexpr (std::is_same_v<T, Bytes> || std::is_same_v<T, UInt160> || std::is_same_v<T, UInt256>)
          push_bytes(x);
        else if constexpr (std::is_same_v<T, std::string>)
          push_string(x);
        else if constexpr (std::is_same_v<T, Arg::PublicKey>)
          push_bytes(x.bytes);
        else if constexpr (std::is_same_v<T, std::vector<Arg>>) {
          // As the C# node's EmitPush(ContractParameter) and neon-js: even an empty array is
          // PUSH0 PACK (only a call's own argument list uses NEWARRAY0, see contract_call).
          for (auto it = x.rbegin(); it != x.rend(); ++it) push_arg(*it);
          push(static_cast<std::int64_t>(x.size())).op(OpCode::PACK);
        } else {  // Map: each pair in reverse, value then key, then count and PACKMAP
          for (auto it = x.rbegin(); it != x.rend(); ++it) push_arg(it->value).push_arg(it->key);
          push(static_cast<std::int64_t>(x.size())).op(OpCode::PACKMAP);
        }
      },
      a.v);
  return *this;
}

ScriptBuilder& ScriptBuilder::syscall(std::string_view name) {
  Writer w;
  w.u8(static_cast<std::uint8_t>(OpCode::SYSCALL)).u32(syscall_id(name));
  script_.insert(script_.end(), w.data().begin(), w.data().end());
  return *this;
}

ScriptBuilder& ScriptBuilder::contract_call(const UInt160& contract, std::string_view method, const std::vector<Arg>& args,
                                            CallFlags flags) {
  // The argument list: NEWARRAY0 when empty (C# CreateArray), else the elements packed.
  if (args.empty())
    op(OpCode::NEWARRAY0);
  else
    push_arg(Arg{args});
  push(static_cast<std::int64_t>(flags));
  push_string(method);
  push_bytes(contract);
  return syscall("System.Contract.Call");
}

UInt160 gas_token_hash() { return from_display("0xd2a4cff31913016155e38e474a2c06d08be276cf"); }
UInt160 neo_token_hash() { return from_display("0xef4073a0f2b305a38ec4050e4d3d28bc40ea63f5"); }
UInt160 oracle_contract_hash() { return from_display("0xfe924b7cfe89ddd271abaf7210a80a7e11178758"); }
UInt160 contract_management_hash() { return from_display("0xfffdc93764dbaddd97c48f252a53ea4643faa3fd"); }

bool is_native_contract(const UInt160& hash) {
  static const std::vector<UInt160> natives = [] {
    std::vector<UInt160> out;
    for (const char* h : {"0xfffdc93764dbaddd97c48f252a53ea4643faa3fd", "0xacce6fd80d44e1796aa0c2c625e9e4e0ce39efc0",
                          "0x726cb6e0cd8628a1350a611384688911ab75f51b", "0xda65b600f7124ce6c79950c1772a36403104f2be",
                          "0xef4073a0f2b305a38ec4050e4d3d28bc40ea63f5", "0xd2a4cff31913016155e38e474a2c06d08be276cf",
                          "0xcc5e4edd9f5f8dba8bb65734541df7a1c081c67b", "0x49cf4e5378ffcd4dec034fd98a174c5491e395e2",
                          "0xfe924b7cfe89ddd271abaf7210a80a7e11178758", "0xc1e14f19c3e60d0b9244d06dd7ba9b113135ec3b",
                          "0x156326f25b1b5d839a4d326aeaa75383c9563ac1"}) {
      out.push_back(from_display(h));
    }
    return out;
  }();
  return std::find(natives.begin(), natives.end(), hash) != natives.end();
}

UInt160 contract_hash(const UInt160& sender, std::uint32_t nef_checksum, std::string_view name) {
  const auto script =
      ScriptBuilder().op(OpCode::ABORT).push_bytes(sender).push(std::int64_t{nef_checksum}).push_string(name).take();
  return script_hash(script);
}

std::optional<std::uint32_t> nef_checksum(ByteView nef) {
  std::optional<std::uint32_t> out;
  if (nef.size() < 4) return out;
  const auto* p = nef.data() + nef.size() - 4;
  out = static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 | static_cast<std::uint32_t>(p[2]) << 16 |
        static_cast<std::uint32_t>(p[3]) << 24;
  return out;
}

Bytes oracle_finish_script() {
  return ScriptBuilder().contract_call(oracle_contract_hash(), "finish", {}, CallFlags::All).take();
}

}  // namespace nsl::chain::neo
