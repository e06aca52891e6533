#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/uint256.hpp"

namespace nsl::chain::neo {

using crypto::Bytes;
using crypto::ByteView;

/// A 20-byte script hash in wire (little-endian) order. Shown as "0x" + the reversed hex.
using UInt160 = std::array<std::uint8_t, 20>;
/// A 32-byte hash in wire order (transaction and block hashes), shown reversed like UInt160.
using UInt256 = std::array<std::uint8_t, 32>;

/// The display form "0x…" (byte-reversed hex) of a wire-order hash.
std::string to_display(ByteView wire);
/// Parses the display form (with or without 0x) into wire order; std::nullopt if malformed.
std::optional<UInt160> parse_uint160(std::string_view display);
std::optional<UInt256> parse_uint256(std::string_view display);

/// Little-endian binary writer with Neo's var-int (1, 3, 5 or 9 bytes, canonical).
class Writer {
 public:
  Writer& u8(std::uint8_t v);
  Writer& u16(std::uint16_t v);
  Writer& u32(std::uint32_t v);
  Writer& u64(std::uint64_t v);
  Writer& i64(std::int64_t v) { return u64(static_cast<std::uint64_t>(v)); }
  Writer& var_int(std::uint64_t v);
  Writer& bytes(ByteView b);
  Writer& var_bytes(ByteView b) { return var_int(b.size()).bytes(b); }
  const Bytes& data() const { return out_; }
  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

/// Bounds-checked reader; every read returns false once the data runs out.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  bool u8(std::uint8_t& v);
  bool u16(std::uint16_t& v);
  bool u32(std::uint32_t& v);
  bool u64(std::uint64_t& v);
  bool i64(std::int64_t& v);
  /// A var-int no larger than `max`.
  bool var_int(std::uint64_t& v, std::uint64_t max = UINT64_MAX);
  bool bytes(std::size_t n, Bytes& out);
  bool var_bytes(Bytes& out, std::size_t max);
  template <std::size_t N>
  bool fixed(std::array<std::uint8_t, N>& out) {
    if (remaining() < N) return false;
    std::copy(data_.begin() + static_cast<std::ptrdiff_t>(pos_), data_.begin() + static_cast<std::ptrdiff_t>(pos_ + N),
              out.begin());
    pos_ += N;
    return true;
  }
  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

}  // namespace nsl::chain::neo
