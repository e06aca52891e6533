#include "nsl/chain/neo/encoding.hpp"

#include <algorithm>

namespace nsl::chain::neo {
namespace {

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> parse_display(std::string_view display) {
  const auto b = crypto::from_hex(display);
  if (!b || b->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  std::reverse_copy(b->begin(), b->end(), out.begin());
  return out;
}

}  // namespace

std::string to_display(ByteView wire) {
  Bytes reversed(wire.rbegin(), wire.rend());
  return "0x" + crypto::to_hex(reversed);
}

std::optional<UInt160> parse_uint160(std::string_view display) { return parse_display<20>(display); }
std::optional<UInt256> parse_uint256(std::string_view display) { return parse_display<32>(display); }

Writer& Writer::u8(std::uint8_t v) {
  out_.push_back(v);
  return *this;
}

Writer& Writer::u16(std::uint16_t v) {
  for (int i = 0; i < 2; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return *this;
}

Writer& Writer::u32(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return *this;
}

Writer& Writer::u64(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return *this;
}

Writer& Writer::var_int(std::uint64_t v) {
  if (v < 0xFD) return u8(static_cast<std::uint8_t>(v));
  if (v <= 0xFFFF) return u8(0xFD).u16(static_cast<std::uint16_t>(v));
  if (v <= 0xFFFFFFFF) return u8(0xFE).u32(static_cast<std::uint32_t>(v));
  return u8(0xFF).u64(v);
}

Writer& Writer::bytes(ByteView b) {
  out_.insert(out_.end(), b.begin(), b.end());
  return *this;
}

bool Reader::u8(std::uint8_t& v) {
  if (remaining() < 1) return false;
  v = data_[pos_++];
  return true;
}

bool Reader::u16(std::uint16_t& v) {
  if (remaining() < 2) return false;
  v = static_cast<std::uint16_t>(data_[pos_] | data_[pos_ + 1] << 8);
  pos_ += 2;
  return true;
}

bool Reader::u32(std::uint32_t& v) {
  if (remaining() < 4) return false;
  v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | data_[pos_ + static_cast<std::size_t>(i)];
  pos_ += 4;
  return true;
}

bool Reader::u64(std::uint64_t& v) {
  if (remaining() < 8) return false;
  v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | data_[pos_ + static_cast<std::size_t>(i)];
  pos_ += 8;
  return true;
}

bool Reader::i64(std::int64_t& v) {
  std::uint64_t u = 0;
  if (!u64(u)) return false;
  v = static_cast<std::int64_t>(u);
  return true;
}

bool Reader::var_int(std::uint64_t& v, std::uint64_t max) {
  std::uint8_t prefix = 0;
  if (!u8(prefix)) return false;
  if (prefix < 0xFD) {
    v = prefix;
  } else if (prefix == 0xFD) {
    std::uint16_t x = 0;
    if (!u16(x)) return false;
    v = x;
  } else if (prefix == 0xFE) {
    std::uint32_t x = 0;
    if (!u32(x)) return false;
    v = x;
  } else {
    if (!u64(v)) return false;
  }
  return v <= max;
}

bool Reader::bytes(std::size_t n, Bytes& out) {
  if (remaining() < n) return false;
  out.assign(data_.begin() + static_cast<std::ptrdiff_t>(pos_), data_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
  pos_ += n;
  return true;
}

bool Reader::var_bytes(Bytes& out, std::size_t max) {
  std::uint64_t n = 0;
  return var_int(n, max) && bytes(static_cast<std::size_t>(n), out);
}

}  // namespace nsl::chain::neo
