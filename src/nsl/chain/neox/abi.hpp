#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "nsl/chain/neox/address.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/uint256.hpp"

namespace nsl::chain::neox::abi {

using crypto::Bytes;
using crypto::ByteView;
using crypto::Uint256;

/// A Solidity ABI type: uint<M>, int<M>, address, bool, bytes<M>, bytes, string, T[k], T[], and
/// tuples (T1,T2,...).
struct Type {
  enum class Kind { uint, int_, address, boolean, fixed_bytes, bytes, string, fixed_array, array, tuple };
  Kind kind = Kind::uint;
  unsigned size = 256;           // bits of uint/int, bytes of bytes<M>, length of T[k]
  std::vector<Type> components;  // the element type of arrays, or the tuple's members

  /// Whether its encoding has a head and a tail (a length or offsets).
  bool is_dynamic() const;
  /// The canonical spelling used in signatures ("uint256", "(address,bytes)[]").
  std::string canonical() const;
};

/// Parses a type ("uint", an alias of "uint256", is accepted); std::nullopt with a reason if invalid.
std::optional<Type> parse_type(std::string_view text, std::string* why = nullptr);

/// A value of some ABI type. Integers of both signs are Uint256 (int<M> in two's complement);
/// bytes<M> and bytes are Bytes; arrays and tuples are lists of values.
struct Value {
  std::variant<Uint256, bool, Address, Bytes, std::string, std::vector<Value>> v;
};

/// Encodes values of the given types as a function's argument list (a tuple). Throws
/// std::invalid_argument naming the position when a value does not fit its type.
Bytes encode(const std::vector<Type>& types, const std::vector<Value>& values);

/// Decodes an argument list or return data. Every offset and length is bounds-checked, and
/// integer, bool and address words must be in range (their padding zero or sign-extended).
std::optional<std::vector<Value>> decode(const std::vector<Type>& types, ByteView data, std::string* why = nullptr);

/// The 4-byte selector of a canonical function signature ("transfer(address,uint256)").
std::array<std::uint8_t, 4> selector(std::string_view signature);
/// Topic 0 of an event: keccak256 of its canonical signature.
crypto::Hash256 event_topic(std::string_view signature);

/// EIP-191 personal message hash: keccak256("\x19Ethereum Signed Message:\n" + len + message),
/// what wallets sign for `personal_sign` and what sign-in with a Neo X wallet verifies.
crypto::Hash256 eip191_message_hash(ByteView message);

}  // namespace nsl::chain::neox::abi
