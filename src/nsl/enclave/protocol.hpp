#pragma once

// The "ecall" boundary between nsl serve and nsl-enclave: length-prefixed frames over a Unix
// domain socket. Every connection starts with {"op":"hello","token":...}; then each request
// {"op":..., ...} gets one response {"ok":true, ...} or {"ok":false,"error":{"code","message"}}.
// Binary values travel as lower-case hex. docs/architecture.md lists the operations.
//
// Several requests travel together in an items frame, a binary envelope (all integers
// big-endian):
//   frame:    0x01 | u16 count | count items
//   'J' item: u32 length | a JSON request (or, in the answer, a JSON response)
//   'S' item: a signing request without JSON or hex:
//             u8 kind (1 secp256r1, 2 secp256k1, 3 ed25519) | u16 length | key_ref
//             | u16 length | sealed blob | u32 length | digest (or the Ed25519 message)
//   's' item: the answer to an 'S' item: u8 recovery id (0xFF: none) | u8 length | signature
//   'E' item: data_encrypt, 'D' item: data_decrypt, without JSON or hex:
//             u16 length | tenant | u16 length | sealed data key | u16 length | aad
//             | u32 length | plaintext ('E') or nonce, ciphertext and tag ('D')
//   'x' item: the answer to an 'E' or 'D' item: u32 length | bytes
// The answer is an items frame with one item per request, in order (a refused 'S' item is
// answered by a 'J' item holding the refusal), or one JSON refusal for a malformed frame.

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/key_wrap.hpp"

namespace nsl::enclave {

/// Largest frame either side accepts (a request or a response).
constexpr std::uint32_t kMaxFrameBytes = 5u << 20;  // a 1 MB storage value as hex, with room
/// Protocol version, checked in the hello exchange (2: items frames).
constexpr int kProtocolVersion = 2;

/// The enclave answered, and refused: `code` is one of bad_request, unknown_op, unseal_failed,
/// invalid_key, forbidden, unauthorized, busy, internal.
class EnclaveError : public std::runtime_error {
 public:
  EnclaveError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

/// The enclave could not be reached or stopped answering (it may be restarting).
class EnclaveUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The first byte of an items frame (a JSON frame starts with '{').
constexpr unsigned char kItemsFrame = 0x01;
/// Most items in one frame.
constexpr std::size_t kMaxItems = 1024;

/// The fields of an 'S' item (views into the frame or the caller's buffers).
struct SignItem {
  std::uint8_t kind = 0;  // 1 secp256r1, 2 secp256k1, 3 ed25519
  std::string_view key_ref;
  std::string_view sealed;
  std::string_view payload;  // the 32-byte digest, or the Ed25519 message
};

/// The fields of an 'E' or 'D' item.
struct DataItem {
  std::string_view tenant;
  std::string_view sealed_key;
  std::string_view aad;
  std::string_view data;
};

/// One item as read from a frame: `type` is 'J', 'S', 's', 'E', 'D' or 'x'.
struct Item {
  char type = 0;
  std::string_view json;   // 'J'
  SignItem sign;           // 'S'
  DataItem data;           // 'E', 'D'
  std::string_view bytes;  // 's' (the signature), 'x'
  int recovery_id = -1;    // 's'
};

/// An 'S' item on its own, ready to be appended to a frame (the client keeps one per call).
std::string encode_sign_item(const SignItem& item);
/// An 'E' (`type` 'E') or 'D' item on its own.
std::string encode_data_item(char type, const DataItem& item);

/// Builds an items frame.
class ItemsWriter {
 public:
  explicit ItemsWriter(std::size_t reserve = 256);
  ItemsWriter& json(std::string_view text);
  ItemsWriter& signature(std::string_view signature, int recovery_id);
  ItemsWriter& bytes(std::string_view bytes);
  /// An item already encoded (encode_sign_item).
  ItemsWriter& encoded(std::string_view item);
  std::size_t count() const { return count_; }
  std::string finish();

 private:
  std::string out_;
  std::size_t count_ = 0;
};

/// Reads an items frame. Every method throws std::invalid_argument on a malformed frame (a wrong
/// first byte, more than kMaxItems items, an item cut short, an unknown item type, or bytes left
/// over after the last item).
class ItemsReader {
 public:
  explicit ItemsReader(std::string_view frame);
  std::size_t count() const { return count_; }
  /// Whether all `count` items have been read (and nothing follows them).
  bool done() const;
  Item next();

 private:
  std::string_view take(std::size_t n);
  std::uint32_t uint(std::size_t bytes);

  std::string_view rest_;
  std::size_t count_ = 0;
  std::size_t read_ = 0;
};

/// Writes one frame (4-byte big-endian length, then the body) to a blocking socket.
bool write_frame(int fd, std::string_view body);
/// Reads one frame; std::nullopt on end of stream, error, timeout, or a length above `max`.
std::optional<std::string> read_frame(int fd, std::uint32_t max = kMaxFrameBytes);
/// Sets the send and receive timeouts of a socket.
void set_timeouts(int fd, std::chrono::milliseconds timeout);
/// Connects to a Unix socket; -1 (errno set) on failure.
int connect_unix(const std::string& path);

/// The first request on every connection, which proves the caller holds `token`.
std::string hello_request(crypto::ByteView token);

/// A wrapped key as it travels in JSON (the enclave's requests and answers, and the API):
/// {"format": "nsl-key-wrap-v1", "kind", "recipient", "ephemeral_public_key", "nonce",
/// "ciphertext"}, bytes as lower-case hex.
nlohmann::json wrapped_to_json(const crypto::key_wrap::Wrapped& wrapped);
/// The same object read back, for a key of `kind` (its associated data binds the kind, so the
/// object's own "kind" is not read). Throws EnclaveError "bad_request" naming what is wrong (not
/// an object, another format, a field missing, too long or not hex), as the enclave refuses it.
crypto::key_wrap::Wrapped wrapped_from_json(const nlohmann::json& wrapped, std::string kind);

}  // namespace nsl::enclave
