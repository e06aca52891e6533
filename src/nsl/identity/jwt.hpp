#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nsl/crypto/bytes.hpp"

namespace nsl::identity {

/// The claims of an access token.
struct Claims {
  std::string subject;  // account id
  std::string name;     // account name (or address)
  std::string role;
  std::vector<std::string> scope;  // the permissions the token carries
  std::string issuer;
  std::string audience;
  std::chrono::system_clock::time_point issued_at{};
  std::chrono::system_clock::time_point expires_at{};
  std::string id;          // jti: what revocation names
  std::string api_key_id;  // akid: the API key the token descends from ("" for wallet sign-in)
};

/// How tokens are signed and checked: HS256 with a shared secret (`Jwt:Secret`), or ES256 with a
/// P-256 key held by the enclave (the server has only its public key). Exactly one algorithm is
/// accepted, so a token cannot choose how it is verified.
struct TokenKeys {
  std::string algorithm;           // "HS256" | "ES256"
  crypto::Bytes hmac_secret;       // HS256
  crypto::Bytes es256_public_key;  // ES256: compressed or uncompressed P-256 point
};

/// base64url without padding.
std::string base64url(crypto::ByteView data);
/// Strict base64url decoding (no padding, no other characters); std::nullopt if malformed.
std::optional<crypto::Bytes> base64url_decode(std::string_view text);

/// The header and payload, encoded and joined ("h.p"): what the signature covers.
std::string signing_input(const std::string& algorithm, const Claims& claims);
/// Appends a signature ("h.p" + "." + base64url(signature)).
std::string assemble(const std::string& input, crypto::ByteView signature);
/// An HS256 token.
std::string sign_hs256(const Claims& claims, crypto::ByteView secret);

/// Why a token was refused.
struct TokenError {
  std::string reason;
};

/// Checks a token: form, algorithm (only keys.algorithm; "none" never), signature, issuer,
/// audience, expiry and not-before (30 s leeway). Returns the claims or the reason.
std::optional<Claims> verify(std::string_view token, const TokenKeys& keys, const std::string& issuer,
                             const std::string& audience, std::chrono::system_clock::time_point now, TokenError& error);

}  // namespace nsl::identity
