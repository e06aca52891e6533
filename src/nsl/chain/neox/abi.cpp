#include "nsl/chain/neox/abi.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "nsl/crypto/hash.hpp"

namespace nsl::chain::neox::abi {
namespace {

constexpr std::size_t kWord = 32;
constexpr std::size_t kMaxDepth = 32;

bool parse_uint(std::string_view s, unsigned& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && !s.empty() && s[0] != '0';
}

// Splits "a,(b,c),d" at top-level commas.
std::vector<std::string_view> split_top(std::string_view s) {
  std::vector<std::string_view> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(')
      ++depth;
    else if (s[i] == ')')
      --depth;
    else if (s[i] == ',' && depth == 0) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

std::optional<Type> parse(std::string_view t, std::string* why, std::size_t depth) {
  auto fail = [&](std::string reason) -> std::optional<Type> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (depth > kMaxDepth) return fail("type nested too deeply");
  // Array suffixes bind last: T[2][] is an array of T[2].
  if (!t.empty() && t.back() == ']') {
    const auto open = t.rfind('[');
    if (open == std::string_view::npos) return fail("unbalanced [ ] in \"" + std::string(t) + "\"");
    auto inner = parse(t.substr(0, open), why, depth + 1);
    if (!inner) return std::nullopt;
    const auto len = t.substr(open + 1, t.size() - open - 2);
    Type a;
    a.components.push_back(std::move(*inner));
    if (len.empty()) {
      a.kind = Type::Kind::array;
    } else {
      a.kind = Type::Kind::fixed_array;
      if (!parse_uint(len, a.size)) return fail("bad array length in \"" + std::string(t) + "\"");
    }
    return a;
  }
  if (!t.empty() && t.front() == '(') {
    if (t.back() != ')') return fail("unbalanced ( ) in \"" + std::string(t) + "\"");
    Type tup;
    tup.kind = Type::Kind::tuple;
    const auto body = t.substr(1, t.size() - 2);
    if (!body.empty()) {
      for (auto part : split_top(body)) {
        auto c = parse(part, why, depth + 1);
        if (!c) return std::nullopt;
        tup.components.push_back(std::move(*c));
      }
    }
    return tup;
  }
  Type s;
  auto sized = [&](std::string_view prefix, Type::Kind kind, unsigned def, unsigned min, unsigned max,
                   unsigned step) -> std::optional<Type> {
    s.kind = kind;
    const auto rest = t.substr(prefix.size());
    if (rest.empty() && def) {
      s.size = def;
      return s;
    }
    if (!parse_uint(rest, s.size) || s.size < min || s.size > max || s.size % step != 0) {
      return fail("invalid type \"" + std::string(t) + "\"");
    }
    return s;
  };
  if (t == "address") {
    s.kind = Type::Kind::address;
    return s;
  }
  if (t == "bool") {
    s.kind = Type::Kind::boolean;
    return s;
  }
  if (t == "string") {
    s.kind = Type::Kind::string;
    return s;
  }
  if (t == "bytes") {
    s.kind = Type::Kind::bytes;
    return s;
  }
  if (t.starts_with("uint")) return sized("uint", Type::Kind::uint, 256, 8, 256, 8);
  if (t.starts_with("int")) return sized("int", Type::Kind::int_, 256, 8, 256, 8);
  if (t.starts_with("bytes")) return sized("bytes", Type::Kind::fixed_bytes, 0, 1, 32, 1);
  return fail("unknown type \"" + std::string(t) + "\"");
}

std::array<std::uint8_t, kWord> word_of(const Uint256& v) { return v.to_be32(); }

void append_word(Bytes& out, const Uint256& v) {
  const auto w = word_of(v);
  out.insert(out.end(), w.begin(), w.end());
}

void append_padded(Bytes& out, ByteView b) {
  out.insert(out.end(), b.begin(), b.end());
  out.resize(out.size() + (kWord - b.size() % kWord) % kWord, 0);
}

// Whether a two's-complement value fits in `bits` bits.
bool fits_signed(const Uint256& v, unsigned bits) {
  const bool negative = v.bit(255);
  for (unsigned i = bits - 1; i < 256; ++i) {
    if (v.bit(i) != negative) return false;
  }
  return true;
}

bool fits_unsigned(const Uint256& v, unsigned bits) {
  for (unsigned i = bits; i < 256; ++i) {
    if (v.bit(i)) return false;
  }
  return true;
}

// Words a static type takes in the head: one, or all of a static array's or tuple's members.
std::size_t static_words(const Type& t) {
  if (t.kind == Type::Kind::fixed_array) return t.size * static_words(t.components[0]);
  if (t.kind == Type::Kind::tuple) {
    std::size_t n = 0;
    for (const auto& c : t.components) n += static_words(c);
    return n;
  }
  return 1;
}

void encode_tuple(Bytes& out, const std::vector<Type>& types, const std::vector<Value>& values, const std::string& at);

void encode_one(Bytes& out, const Type& t, const Value& v, const std::string& at) {
  auto wrong = [&](const char* expected) {
    throw std::invalid_argument("argument " + at + " (" + t.canonical() + "): expected " + expected);
  };
  switch (t.kind) {
    case Type::Kind::uint: {
      const auto* u = std::get_if<Uint256>(&v.v);
      if (!u) wrong("an integer");
      if (!fits_unsigned(*u, t.size)) wrong("a value that fits the type");
      append_word(out, *u);
      return;
    }
    case Type::Kind::int_: {
      const auto* u = std::get_if<Uint256>(&v.v);
      if (!u) wrong("an integer");
      if (!fits_signed(*u, t.size)) wrong("a value that fits the type");
      append_word(out, *u);
      return;
    }
    case Type::Kind::address: {
      const auto* a = std::get_if<Address>(&v.v);
      if (!a) wrong("an address");
      out.insert(out.end(), 12, 0);
      out.insert(out.end(), a->begin(), a->end());
      return;
    }
    case Type::Kind::boolean: {
      const auto* b = std::get_if<bool>(&v.v);
      if (!b) wrong("a boolean");
      append_word(out, Uint256(*b ? 1 : 0));
      return;
    }
    case Type::Kind::fixed_bytes: {
      const auto* b = std::get_if<Bytes>(&v.v);
      if (!b || b->size() != t.size) wrong("bytes of the type's length");
      append_padded(out, *b);
      return;
    }
    case Type::Kind::bytes:
    case Type::Kind::string: {
      ByteView data;
      if (t.kind == Type::Kind::bytes) {
        const auto* b = std::get_if<Bytes>(&v.v);
        if (!b) wrong("bytes");
        data = *b;
      } else {
        const auto* s = std::get_if<std::string>(&v.v);
        if (!s) wrong("a string");
        data = crypto::as_bytes(*s);
      }
      append_word(out, Uint256(data.size()));
      append_padded(out, data);
      return;
    }
    case Type::Kind::fixed_array:
    case Type::Kind::array: {
      const auto* items = std::get_if<std::vector<Value>>(&v.v);
      if (!items) wrong("a list");
      if (t.kind == Type::Kind::fixed_array && items->size() != t.size) wrong("a list of the type's length");
      if (t.kind == Type::Kind::array) append_word(out, Uint256(items->size()));
      encode_tuple(out, std::vector<Type>(items->size(), t.components[0]), *items, at + "[]");
      return;
    }
    case Type::Kind::tuple: {
      const auto* items = std::get_if<std::vector<Value>>(&v.v);
      if (!items || items->size() != t.components.size()) wrong("a list with one value per member");
      encode_tuple(out, t.components, *items, at);
      return;
    }
  }
}

void encode_tuple(Bytes& out, const std::vector<Type>& types, const std::vector<Value>& values, const std::string& at) {
  if (types.size() != values.size()) {
    throw std::invalid_argument("argument " + at + ": " + std::to_string(values.size()) + " values for " +
                                std::to_string(types.size()) + " types");
  }
  std::size_t head_size = 0;
  for (const auto& t : types) head_size += (t.is_dynamic() ? 1 : static_words(t)) * kWord;
  Bytes head;
  Bytes tail;
  for (std::size_t i = 0; i < types.size(); ++i) {
    const auto where = at.empty() ? std::to_string(i) : at + "." + std::to_string(i);
    if (types[i].is_dynamic()) {
      append_word(head, Uint256(head_size + tail.size()));
      encode_one(tail, types[i], values[i], where);
    } else {
      encode_one(head, types[i], values[i], where);
    }
  }
  out.insert(out.end(), head.begin(), head.end());
  out.insert(out.end(), tail.begin(), tail.end());
}

struct Decoder {
  ByteView data;
  std::string* why;

  bool fail(const std::string& reason) {
    if (why) *why = reason;
    return false;
  }

  bool word(std::size_t at, Uint256& out) {
    if (at > data.size() || data.size() - at < kWord) return fail("data too short");
    out = *Uint256::from_be(data.subspan(at, kWord));
    return true;
  }

  bool size_at(std::size_t at, std::size_t& out) {
    Uint256 v;
    if (!word(at, v)) return false;
    if (!v.fits_u64() || v.low_u64() > data.size()) return fail("offset or length beyond the data");
    out = static_cast<std::size_t>(v.low_u64());
    return true;
  }

  bool tuple(const std::vector<Type>& types, std::size_t base, std::vector<Value>& out, std::size_t depth) {
    if (depth > kMaxDepth) return fail("value nested too deeply");
    std::size_t head = base;
    for (const auto& t : types) {
      Value v;
      if (t.is_dynamic()) {
        std::size_t offset = 0;
        if (!size_at(head, offset)) return false;
        if (base + offset > data.size()) return fail("offset beyond the data");
        if (!one(t, base + offset, v, depth + 1)) return false;
        head += kWord;
      } else {
        if (!one(t, head, v, depth + 1)) return false;
        head += static_words(t) * kWord;
      }
      out.push_back(std::move(v));
    }
    return true;
  }

  bool one(const Type& t, std::size_t at, Value& out, std::size_t depth) {
    Uint256 w;
    switch (t.kind) {
      case Type::Kind::uint:
        if (!word(at, w)) return false;
        if (!fits_unsigned(w, t.size)) return fail(t.canonical() + " value out of range");
        out.v = w;
        return true;
      case Type::Kind::int_:
        if (!word(at, w)) return false;
        if (!fits_signed(w, t.size)) return fail(t.canonical() + " value not sign-extended");
        out.v = w;
        return true;
      case Type::Kind::address: {
        if (!word(at, w)) return false;
        if (!fits_unsigned(w, 160)) return fail("address with non-zero padding");
        Address a{};
        const auto full = w.to_be32();
        std::copy(full.begin() + 12, full.end(), a.begin());
        out.v = a;
        return true;
      }
      case Type::Kind::boolean:
        if (!word(at, w)) return false;
        if (!(w == Uint256(0) || w == Uint256(1))) return fail("bool that is neither 0 nor 1");
        out.v = w == Uint256(1);
        return true;
      case Type::Kind::fixed_bytes: {
        if (at > data.size() || data.size() - at < kWord) return fail("data too short");
        const auto chunk = data.subspan(at, kWord);
        if (std::any_of(chunk.begin() + t.size, chunk.end(), [](std::uint8_t b) { return b != 0; })) {
          return fail(t.canonical() + " with non-zero padding");
        }
        out.v = Bytes(chunk.begin(), chunk.begin() + t.size);
        return true;
      }
      case Type::Kind::bytes:
      case Type::Kind::string: {
        std::size_t len = 0;
        if (!size_at(at, len)) return false;
        if (data.size() - at - kWord < len) return fail("length beyond the data");
        const auto body = data.subspan(at + kWord, len);
        if (t.kind == Type::Kind::bytes)
          out.v = Bytes(body.begin(), body.end());
        else
          out.v = std::string(body.begin(), body.end());
        return true;
      }
      case Type::Kind::fixed_array:
      case Type::Kind::array: {
        std::size_t count = t.size;
        std::size_t base = at;
        if (t.kind == Type::Kind::array) {
          if (!size_at(at, count)) return false;
          base = at + kWord;
        }
        // Every element takes at least one word: a count the data cannot hold is refused
        // before anything is allocated for it.
        if (count > (data.size() - std::min(base, data.size())) / kWord) return fail("array longer than the data");
        std::vector<Value> items;
        if (!tuple(std::vector<Type>(count, t.components[0]), base, items, depth)) return false;
        out.v = std::move(items);
        return true;
      }
      case Type::Kind::tuple: {
        std::vector<Value> items;
        if (!tuple(t.components, at, items, depth)) return false;
        out.v = std::move(items);
        return true;
      }
    }
    return fail("unknown type");
  }
};

}  // namespace

bool Type::is_dynamic() const {
  switch (kind) {
    case Kind::bytes:
    case Kind::string:
    case Kind::array:
      return true;
    case Kind::fixed_array:
      return components[0].is_dynamic();
    case Kind::tuple:
      return std::any_of(components.begin(), components.end(), [](const Type& c) { return c.is_dynamic(); });
    default:
      return false;
  }
}

std::string Type::canonical() const {
  switch (kind) {
    case Kind::uint:
      return "uint" + std::to_string(size);
    case Kind::int_:
      return "int" + std::to_string(size);
    case Kind::address:
      return "address";
    case Kind::boolean:
      return "bool";
    case Kind::fixed_bytes:
      return "bytes" + std::to_string(size);
    case Kind::bytes:
      return "bytes";
    case Kind::string:
      return "string";
    case Kind::fixed_array:
      return components[0].canonical() + "[" + std::to_string(size) + "]";
    case Kind::array:
      return components[0].canonical() + "[]";
    case Kind::tuple: {
      std::string s = "(";
      for (std::size_t i = 0; i < components.size(); ++i) s += (i ? "," : "") + components[i].canonical();
      return s + ")";
    }
  }
  return "";
}

std::optional<Type> parse_type(std::string_view text, std::string* why) { return parse(text, why, 0); }

Bytes encode(const std::vector<Type>& types, const std::vector<Value>& values) {
  Bytes out;
  encode_tuple(out, types, values, "");
  return out;
}

std::optional<std::vector<Value>> decode(const std::vector<Type>& types, ByteView data, std::string* why) {
  Decoder d{data, why};
  std::vector<Value> out;
  if (!d.tuple(types, 0, out, 0)) return std::nullopt;
  return out;
}

std::array<std::uint8_t, 4> selector(std::string_view signature) {
  const auto h = crypto::keccak256(crypto::as_bytes(signature));
  return {h[0], h[1], h[2], h[3]};
}

crypto::Hash256 event_topic(std::string_view signature) { return crypto::keccak256(crypto::as_bytes(signature)); }

crypto::Hash256 eip191_message_hash(ByteView message) {
  std::string prefix =
      "\x19"
      "Ethereum Signed Message:\n" +
      std::to_string(message.size());
  Bytes all(prefix.begin(), prefix.end());
  all.insert(all.end(), message.begin(), message.end());
  return crypto::keccak256(all);
}

}  // namespace nsl::chain::neox::abi
