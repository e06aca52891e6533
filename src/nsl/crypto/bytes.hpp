#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nsl::crypto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using Hash256 = std::array<std::uint8_t, 32>;

/// Lower-case hex of the bytes, without a prefix.
std::string to_hex(ByteView bytes);
/// Parses hex with or without a `0x` prefix (either case); std::nullopt for odd length or a
/// non-hex character.
std::optional<Bytes> from_hex(std::string_view hex);
/// Bytes of a string's characters.
inline ByteView as_bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

/// Overwrites memory that held secret material so that it does not linger (not optimized away).
void wipe(void* data, std::size_t size) noexcept;

/// A byte buffer for secret material: wiped when destroyed.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(Bytes bytes) : bytes_(std::move(bytes)) {}
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& o) noexcept : bytes_(std::move(o.bytes_)) {}
  ~SecretBytes() { wipe(bytes_.data(), bytes_.size()); }
  ByteView view() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }

 private:
  Bytes bytes_;
};

}  // namespace nsl::crypto
