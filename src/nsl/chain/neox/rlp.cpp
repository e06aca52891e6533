#include "nsl/chain/neox/rlp.hpp"

#include <stdexcept>

namespace nsl::chain::neox::rlp {
namespace {

void append_length(Bytes& out, std::size_t len, std::uint8_t short_base, std::uint8_t long_base) {
  if (len < 56) {
    out.push_back(static_cast<std::uint8_t>(short_base + len));
    return;
  }
  Bytes be;
  for (std::size_t v = len; v > 0; v >>= 8) be.insert(be.begin(), static_cast<std::uint8_t>(v & 0xFF));
  out.push_back(static_cast<std::uint8_t>(long_base + be.size()));
  out.insert(out.end(), be.begin(), be.end());
}

Bytes wrap_list(const Bytes& payload) {
  Bytes out;
  out.reserve(payload.size() + 9);
  append_length(out, payload.size(), 0xC0, 0xF7);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

bool fail(std::string* why, const char* reason) {
  if (why) *why = reason;
  return false;
}

// Decodes the item at data[pos..end); advances pos past it.
bool decode_at(ByteView data, std::size_t& pos, std::size_t end, Item& out, std::string* why, int depth) {
  if (depth > 64) return fail(why, "nesting too deep");
  if (pos >= end) return fail(why, "truncated");
  const std::uint8_t prefix = data[pos++];
  if (prefix < 0x80) {
    out.bytes.assign(1, prefix);
    return true;
  }
  std::size_t len = 0;
  const bool list = prefix >= 0xC0;
  const std::uint8_t short_base = list ? 0xC0 : 0x80;
  const std::uint8_t long_base = list ? 0xF7 : 0xB7;
  if (prefix <= long_base) {
    len = prefix - short_base;
  } else {
    const std::size_t len_of_len = prefix - long_base;
    if (len_of_len > 8 || pos + len_of_len > end) return fail(why, "truncated length");
    if (data[pos] == 0) return fail(why, "length with leading zero");
    for (std::size_t i = 0; i < len_of_len; ++i) len = (len << 8) | data[pos++];
    if (len < 56) return fail(why, "long form for a short length");
  }
  if (len > end - pos) return fail(why, "truncated payload");
  if (!list) {
    if (len == 1 && data[pos] < 0x80) return fail(why, "single byte below 0x80 must not be wrapped");
    out.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(pos), data.begin() + static_cast<std::ptrdiff_t>(pos + len));
    pos += len;
    return true;
  }
  out.is_list = true;
  const std::size_t list_end = pos + len;
  while (pos < list_end) {
    Item child;
    if (!decode_at(data, pos, list_end, child, why, depth + 1)) return false;
    out.items.push_back(std::move(child));
  }
  return true;
}

}  // namespace

Bytes encode_bytes(ByteView b) {
  Bytes out;
  if (b.size() == 1 && b[0] < 0x80) {
    out.push_back(b[0]);
    return out;
  }
  append_length(out, b.size(), 0x80, 0xB7);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Encoder& Encoder::bytes(ByteView b) {
  const auto e = encode_bytes(b);
  stack_.back().insert(stack_.back().end(), e.begin(), e.end());
  return *this;
}

Encoder& Encoder::uint(const crypto::Uint256& v) { return bytes(v.to_be_minimal()); }

Encoder& Encoder::raw(ByteView encoded) {
  stack_.back().insert(stack_.back().end(), encoded.begin(), encoded.end());
  return *this;
}

Encoder& Encoder::begin_list() {
  stack_.emplace_back();
  return *this;
}

Encoder& Encoder::end_list() {
  if (stack_.size() < 2) throw std::logic_error("rlp::Encoder::end_list without begin_list");
  auto inner = wrap_list(stack_.back());
  stack_.pop_back();
  stack_.back().insert(stack_.back().end(), inner.begin(), inner.end());
  return *this;
}

Bytes Encoder::finish_list() const { return wrap_list(stack_.front()); }

std::optional<Item> decode(ByteView data, std::string* why) {
  Item item;
  std::size_t pos = 0;
  if (!decode_at(data, pos, data.size(), item, why, 0)) return std::nullopt;
  if (pos != data.size()) {
    fail(why, "trailing bytes after the item");
    return std::nullopt;
  }
  return item;
}

}  // namespace nsl::chain::neox::rlp
