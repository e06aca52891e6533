#include "nsl/chain/neo/stack_item.hpp"

#include <openssl/evp.h>

#include "nsl/chain/neo/rpc.hpp"

namespace nsl::chain::neo {
namespace {

using nlohmann::json;
constexpr int kMaxDepth = 32;

std::optional<crypto::Uint256> parse_signed(const std::string& s) {
  const bool negative = !s.empty() && s[0] == '-';
  auto mag = crypto::Uint256::parse(negative ? s.substr(1) : s);
  if (!mag || mag->bit(255)) return std::nullopt;  // beyond the 256-bit range NeoVM allows
  return negative ? mag->negated() : *mag;
}

bool parse(const json& j, StackItem& out, std::string* why, int depth) {
  auto fail = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  if (depth > kMaxDepth) return fail("stack item nested too deeply");
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return fail("a stack item is {type, value}");
  const auto type = j["type"].get<std::string>();
  const json value = j.value("value", json());
  using T = StackItem::Type;
  if (type == "Any") {
    out.type = T::Any;
  } else if (type == "Boolean") {
    if (!value.is_boolean()) return fail("Boolean value must be true or false");
    out.type = T::Boolean;
    out.boolean = value.get<bool>();
  } else if (type == "Integer") {
    if (!value.is_string()) return fail("Integer value must be a decimal string");
    auto v = parse_signed(value.get<std::string>());
    if (!v) return fail("Integer value is not a 256-bit decimal");
    out.type = T::Integer;
    out.integer = *v;
  } else if (type == "ByteString" || type == "Buffer") {
    if (!value.is_string()) return fail(type + " value must be base64");
    auto b = base64_decode(value.get<std::string>());
    if (!b) return fail(type + " value is not valid base64");
    out.type = type == "ByteString" ? T::ByteString : T::Buffer;
    out.bytes = std::move(*b);
  } else if (type == "Array" || type == "Struct") {
    if (!value.is_array()) return fail(type + " value must be a list");
    out.type = type == "Array" ? T::Array : T::Struct;
    for (const auto& e : value) {
      StackItem item;
      if (!parse(e, item, why, depth + 1)) return false;
      out.items.push_back(std::move(item));
    }
  } else if (type == "Map") {
    if (!value.is_array()) return fail("Map value must be a list of {key, value}");
    out.type = T::Map;
    for (const auto& e : value) {
      StackItem k;
      StackItem v;
      if (!e.is_object() || !e.contains("key") || !e.contains("value")) return fail("Map entry must be {key, value}");
      if (!parse(e["key"], k, why, depth + 1) || !parse(e["value"], v, why, depth + 1)) return false;
      out.map.push_back({std::move(k), std::move(v)});
    }
  } else if (type == "Pointer") {
    if (!value.is_number_integer()) return fail("Pointer value must be an integer");
    out.type = T::Pointer;
    out.pointer = value.get<std::int64_t>();
  } else if (type == "InteropInterface") {
    out.type = T::InteropInterface;
    out.interface = j.value("interface", "");
    out.iterator_id = j.value("id", "");
  } else {
    return fail("unknown stack item type " + type);
  }
  return true;
}

}  // namespace

std::optional<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  Bytes out(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock keeps the bytes that padding stands for: drop them.
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::optional<StackItem> parse_stack_item(const json& j, std::string* why) {
  StackItem item;
  if (!parse(j, item, why, 0)) return std::nullopt;
  return item;
}

std::optional<std::int64_t> StackItem::as_int64() const {
  crypto::Uint256 v;
  if (type == Type::Integer) {
    v = integer;
  } else if (type == Type::ByteString || type == Type::Buffer) {
    if (bytes.size() > 32) return std::nullopt;
    // Little-endian two's complement, sign-extended.
    std::array<std::uint8_t, 32> be{};
    const std::uint8_t fill = !bytes.empty() && (bytes.back() & 0x80) ? 0xFF : 0x00;
    be.fill(fill);
    for (std::size_t i = 0; i < bytes.size(); ++i) be[31 - i] = bytes[i];
    v = *crypto::Uint256::from_be(be);
  } else {
    return std::nullopt;
  }
  const bool negative = v.bit(255);
  const auto magnitude = negative ? v.negated() : v;
  if (!magnitude.fits_u64() || magnitude.low_u64() > (negative ? 0x8000000000000000ull : 0x7FFFFFFFFFFFFFFFull)) {
    return std::nullopt;
  }
  return negative ? static_cast<std::int64_t>(0 - magnitude.low_u64()) : static_cast<std::int64_t>(magnitude.low_u64());
}

std::optional<UInt160> StackItem::as_hash160() const {
  if (type != Type::ByteString || bytes.size() != 20) return std::nullopt;
  UInt160 h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

std::optional<std::string> StackItem::as_string() const {
  if (type != Type::ByteString && type != Type::Buffer) return std::nullopt;
  return std::string(bytes.begin(), bytes.end());
}

json contract_param_json(const Arg& arg) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Arg::Null>)
          return {{"type", "Any"}};
        else if constexpr (std::is_same_v<T, bool>)
          return {{"type", "Boolean"}, {"value", x}};
        else if constexpr (std::is_same_v<T, Arg::Integer>) {
          const bool negative = x.value.bit(255);
          const auto text = (negative ? "-" : "") + (negative ? x.value.negated() : x.value).to_decimal();
          return {{"type", "Integer"}, {"value", text}};
        } else if constexpr (std::is_same_v<T, Bytes>)
          return {{"type", "ByteArray"}, {"value", base64(x)}};
        else if constexpr (std::is_same_v<T, std::string>)
          return {{"type", "String"}, {"value", x}};
        else if constexpr (std::is_same_v<T, UInt160>)
          return {{"type", "Hash160"}, {"value", to_display(x)}};
        else if constexpr (std::is_same_v<T, UInt256>)
          return {{"type", "Hash256"}, {"value", to_display(x)}};
        else if constexpr (std::is_same_v<T, Arg::PublicKey>)
          return {{"type", "PublicKey"}, {"value", crypto::to_hex(x.bytes)}};
        else if constexpr (std::is_same_v<T, std::vector<Arg>>) {
          json items = json::array();
          for (const auto& a : x) items.push_back(contract_param_json(a));
          return {{"type", "Array"}, {"value", items}};
        } else {
          json entries = json::array();
          for (const auto& [k, v] : x) entries.push_back({{"key", contract_param_json(k)}, {"value", contract_param_json(v)}});
          return {{"type", "Map"}, {"value", entries}};
        }
      },
      arg.v);
}

}  // namespace nsl::chain::neo
