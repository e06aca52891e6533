#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "nsl/crypto/bytes.hpp"

namespace nsl::crypto {

/// Base58 with the Bitcoin alphabet (Neo addresses, WIF).
std::string base58_encode(ByteView data);
std::optional<Bytes> base58_decode(std::string_view text);
/// Base58Check: payload followed by the first 4 bytes of SHA-256(SHA-256(payload)).
std::string base58check_encode(ByteView payload);
/// The payload, or std::nullopt for bad characters or a wrong checksum.
std::optional<Bytes> base58check_decode(std::string_view text);

}  // namespace nsl::crypto
