#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/uint256.hpp"

namespace nsl::chain::neox::rlp {

using crypto::Bytes;
using crypto::ByteView;

/// A decoded RLP item: a byte string or a list of items.
struct Item {
  bool is_list = false;
  Bytes bytes;              // when !is_list
  std::vector<Item> items;  // when is_list
};

/// Builds an RLP encoding piece by piece: strings and integers appended to the current list.
class Encoder {
 public:
  Encoder& bytes(ByteView b);
  /// An integer as its minimal big-endian bytes (zero is the empty string).
  Encoder& uint(const crypto::Uint256& v);
  /// An already-encoded item, inserted as it is.
  Encoder& raw(ByteView encoded);
  /// Starts a nested list; end_list() closes it.
  Encoder& begin_list();
  Encoder& end_list();
  /// The encoding of everything appended, wrapped in one list.
  Bytes finish_list() const;

 private:
  std::vector<Bytes> stack_{Bytes{}};
};

/// The encoding of one byte string.
Bytes encode_bytes(ByteView b);

/// Strict decoding of one item that spans the whole input: lengths must be minimal, a single
/// byte below 0x80 must not be wrapped, and nothing may follow. std::nullopt otherwise, with
/// the reason in `why` when given.
std::optional<Item> decode(ByteView data, std::string* why = nullptr);

}  // namespace nsl::chain::neox::rlp
