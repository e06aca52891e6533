#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/chain/neo/encoding.hpp"
#include "nsl/chain/neo/script.hpp"
#include "nsl/crypto/uint256.hpp"

namespace nsl::chain::neo {

/// A NeoVM stack item as RPC returns it (docs/neo-protocol.md §2.3).
struct StackItem {
  enum class Type { Any, Pointer, Boolean, Integer, ByteString, Buffer, Array, Struct, Map, InteropInterface };
  Type type = Type::Any;
  bool boolean = false;
  crypto::Uint256 integer;       // two's complement
  Bytes bytes;                   // ByteString, Buffer
  std::vector<StackItem> items;  // Array, Struct
  struct Entry;                  // a named pair, for the reason given at Arg::Entry
  std::vector<Entry> map;        // Map
  std::int64_t pointer = 0;
  std::string interface;    // InteropInterface: "IIterator"
  std::string iterator_id;  // with sessions on

  /// The integer as int64 (Integer, or a numeric ByteString read LE two's complement as nodes
  /// store numbers); std::nullopt when it is neither or does not fit.
  std::optional<std::int64_t> as_int64() const;
  /// A ByteString of 20 bytes as a script hash (wire order), e.g. the from/to of a Transfer.
  std::optional<UInt160> as_hash160() const;
  /// A ByteString as UTF-8 text.
  std::optional<std::string> as_string() const;
};

/// One key/value pair of a Map stack item.
struct StackItem::Entry {
  StackItem key;
  StackItem value;
};

/// Parses a stack item; std::nullopt with a reason for anything malformed (nesting is limited).
std::optional<StackItem> parse_stack_item(const nlohmann::json& j, std::string* why = nullptr);

/// The ContractParameter JSON that invokefunction takes for a call argument.
nlohmann::json contract_param_json(const Arg& arg);

/// Base64 decoding (standard alphabet, padding required); std::nullopt if malformed.
std::optional<Bytes> base64_decode(std::string_view text);

}  // namespace nsl::chain::neo
