#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "nsl/enclave/sealer.hpp"

namespace nsl::enclave {

/// Everything nsl-enclave does with secrets, one request at a time (thread-safe). Private keys
/// and secret values exist in clear only inside handle(); callers get public keys, signatures
/// and sealed blobs. Keys are stateless here: their sealed blobs are stored by the server and
/// sent back with each use, so a restarted enclave serves every key at once.
class EnclaveService {
 public:
  struct Identity {
    std::string mode = "simulation";  // "simulation" | "sgx"
    std::string measurement;          // hex SHA-256 of the enclave binary
  };

  EnclaveService(Sealer& sealer, Identity identity);

  /// One request → one response ({"ok":true,...} or {"ok":false,"error":{code,message}}).
  /// Malformed input is answered with bad_request, never a crash.
  nlohmann::json handle(const nlohmann::json& request);

  /// An items frame (src/nsl/enclave/protocol.hpp) → the items frame of its answers, or one JSON
  /// refusal if the frame itself is malformed.
  std::string handle_items(std::string_view frame);

  const Identity& identity() const { return identity_; }

 private:
  nlohmann::json dispatch(const nlohmann::json& request);
  nlohmann::json attest(const nlohmann::json& request);
  /// The public keys the enclave vouches for in its reports and info, by purpose.
  nlohmann::json public_keys();
  /// Whether secret material is in locked memory: the secure heap (crypto/secure_heap.hpp) and
  /// the sealing roots; its size, use, and allocations it could not take.
  nlohmann::json memory() const;
  nlohmann::json sign_one(const nlohmann::json& request);

  Sealer& sealer_;
  Identity identity_;
};

}  // namespace nsl::enclave
