#include "nsl/identity/jwt.hpp"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/symmetric.hpp"

namespace nsl::identity {
namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;
constexpr auto kLeeway = std::chrono::seconds(30);
constexpr const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::int64_t seconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string base64url(crypto::ByteView data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8 | data[i + 2];
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (data.size() - i == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
  } else if (data.size() - i == 2) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16 | std::uint32_t{data[i + 1]} << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
  }
  return out;
}

std::optional<crypto::Bytes> base64url_decode(std::string_view text) {
  std::optional<crypto::Bytes> out;
  if (text.size() % 4 == 1) return out;
  crypto::Bytes bytes;
  bytes.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    if (v < 0) return out;
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<std::uint8_t>(acc >> bits & 0xFF));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return out;  // non-canonical trailing bits
  out = std::move(bytes);
  return out;
}

std::string signing_input(const std::string& algorithm, const Claims& c) {
  const json header{{"alg", algorithm}, {"typ", "JWT"}};
  json payload{{"sub", c.subject},
               {"name", c.name},
               {"role", c.role},
               {"scope", c.scope},
               {"iss", c.issuer},
               {"aud", c.audience},
               {"iat", seconds(c.issued_at)},
               {"nbf", seconds(c.issued_at)},
               {"exp", seconds(c.expires_at)},
               {"jti", c.id}};
  if (!c.api_key_id.empty()) payload["akid"] = c.api_key_id;
  const auto h = header.dump();
  const auto p = payload.dump();
  return base64url(crypto::as_bytes(h)) + "." + base64url(crypto::as_bytes(p));
}

std::string assemble(const std::string& input, crypto::ByteView signature) { return input + "." + base64url(signature); }

std::string sign_hs256(const Claims& claims, crypto::ByteView secret) {
  const auto input = signing_input("HS256", claims);
  return assemble(input, crypto::hmac_sha256(secret, crypto::as_bytes(input)));
}

std::optional<Claims> verify(std::string_view token, const TokenKeys& keys, const std::string& issuer,
                             const std::string& audience, Clock::time_point now, TokenError& error) {
  std::optional<Claims> out;
  auto fail = [&](std::string reason) {
    error.reason = std::move(reason);
    return out;
  };
  if (token.size() > 8192) return fail("the token is too long");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return fail("the token is not a JWT (header.payload.signature)");
  }
  const auto header_bytes = base64url_decode(token.substr(0, dot1));
  const auto payload_bytes = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!header_bytes || !payload_bytes || !signature) return fail("the token is not valid base64url");
  const auto header = json::parse(header_bytes->begin(), header_bytes->end(), nullptr, false);
  if (!header.is_object() || !header.contains("alg") || !header["alg"].is_string())
    return fail("the token header has no algorithm");
  const auto alg = header["alg"].get<std::string>();
  // Only the configured algorithm: never "none", never HS256 where ES256 is expected (or back).
  if (alg != keys.algorithm) return fail("the token's algorithm " + alg + " is not accepted (expected " + keys.algorithm + ")");
  if (header.contains("crit")) return fail("the token has critical header parameters");
  const auto input = token.substr(0, dot2);
  bool valid = false;
  if (alg == "HS256") {
    const auto mac = crypto::hmac_sha256(keys.hmac_secret, crypto::as_bytes(input));
    valid = signature->size() == mac.size() && CRYPTO_memcmp(signature->data(), mac.data(), mac.size()) == 0;
  } else if (alg == "ES256") {
    valid = signature->size() == 64 && crypto::p256::verify(keys.es256_public_key, crypto::as_bytes(input), *signature);
  }
  if (!valid) return fail("the token's signature is not valid");
  const auto payload = json::parse(payload_bytes->begin(), payload_bytes->end(), nullptr, false);
  if (!payload.is_object()) return fail("the token payload is not a JSON object");
  auto text = [&](const char* k) {
    return payload.contains(k) && payload[k].is_string() ? payload[k].get<std::string>() : std::string();
  };
  auto number = [&](const char* k) -> std::optional<std::int64_t> {
    if (!payload.contains(k) || !payload[k].is_number_integer()) return std::nullopt;
    return payload[k].get<std::int64_t>();
  };
  if (text("iss") != issuer) return fail("the token was issued by \"" + text("iss") + "\", not \"" + issuer + "\"");
  const bool audience_ok =
      payload.contains("aud") && (payload["aud"].is_string() ? payload["aud"].get<std::string>() == audience : false);
  if (!audience_ok) return fail("the token is not meant for this audience");
  const auto exp = number("exp");
  const auto nbf = number("nbf");
  const auto iat = number("iat");
  if (!exp || !iat) return fail("the token has no expiry or issue time");
  const auto now_s = seconds(now);
  if (*exp + kLeeway.count() <= now_s) return fail("the token has expired");
  if (nbf && *nbf - kLeeway.count() > now_s) return fail("the token is not valid yet");
  if (text("sub").empty() || text("jti").empty()) return fail("the token names no subject or id");
  if (!payload.contains("scope") || !payload["scope"].is_array()) return fail("the token carries no scope");
  Claims c;
  c.subject = text("sub");
  c.name = text("name");
  c.role = text("role");
  for (const auto& s : payload["scope"]) {
    if (!s.is_string()) return fail("the token's scope is malformed");
    c.scope.push_back(s.get<std::string>());
  }
  c.issuer = issuer;
  c.audience = audience;
  c.issued_at = Clock::time_point(std::chrono::seconds(*iat));
  c.expires_at = Clock::time_point(std::chrono::seconds(*exp));
  c.id = text("jti");
  c.api_key_id = text("akid");
  out = std::move(c);
  return out;
}

}  // namespace nsl::identity
