#pragma once

// The "ecall" boundary between nsl serve and nsl-enclave: length-prefixed JSON frames over a Unix
// domain socket. Every connection starts with {"op":"hello","token":...}; then each request
// {"op":..., ...} gets one response {"ok":true, ...} or {"ok":false,"error":{"code","message"}}.
// Binary values travel as lower-case hex. docs/architecture.md lists the operations.

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nsl::enclave {

/// Largest frame either side accepts (a request or a response).
constexpr std::uint32_t kMaxFrameBytes = 5u << 20;  // a 1 MB storage value as hex, with room
/// Protocol version, checked in the hello exchange.
constexpr int kProtocolVersion = 1;

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

/// Writes one frame (4-byte big-endian length, then the body) to a blocking socket.
bool write_frame(int fd, std::string_view body);
/// Reads one frame; std::nullopt on end of stream, error, timeout, or a length above `max`.
std::optional<std::string> read_frame(int fd, std::uint32_t max = kMaxFrameBytes);
/// Sets the send and receive timeouts of a socket.
void set_timeouts(int fd, std::chrono::milliseconds timeout);
/// Connects to a Unix socket; -1 (errno set) on failure.
int connect_unix(const std::string& path);

}  // namespace nsl::enclave
