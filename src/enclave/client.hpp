#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/core/asio.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/core/thread_pool.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/enclave/protocol.hpp"

namespace nsl::enclave {

struct ClientOptions {
  std::string socket_path;
  crypto::Bytes token;
  std::size_t threads = 4;  // requests in flight at once (one connection each)
  std::chrono::milliseconds timeout{5000};
};

/// A key as the server keeps it: the sealed blob (useless without the enclave) and its public key.
struct SealedKey {
  std::string kind;  // secp256r1 | secp256k1 | ed25519
  std::string key_ref;
  crypto::Bytes sealed;
  crypto::Bytes public_key;
};

/// The server's side of the enclave boundary: typed calls over pooled connections, made on a
/// named thread pool ("enclave") so no IO thread waits on the socket. A connection that fails is
/// dropped and the request tried once more on a fresh one (the enclave may have restarted);
/// then EnclaveUnavailable. Refusals are EnclaveError with the enclave's code. Exports
/// `nsl_enclave_requests_total{op,outcome}` and `nsl_enclave_request_duration_seconds`.
class EnclaveClient {
 public:
  EnclaveClient(ClientOptions options, metrics::Registry& registry, log::Sink& logs);
  ~EnclaveClient();

  /// One request; the response without "ok". Throws EnclaveError or EnclaveUnavailable.
  asio::awaitable<nlohmann::json> call(nlohmann::json request);
  /// The same, blocking (tools, tests, the supervisor's readiness check).
  nlohmann::json call_blocking(const nlohmann::json& request);

  asio::awaitable<SealedKey> create_key(std::string kind, std::string key_ref, bool exportable = false);
  /// ECDSA over a 32-byte digest (secp256r1: r||s; secp256k1: r||s and the recovery id in
  /// `recovery_id`), or Ed25519 over a message.
  struct Signature {
    crypto::Bytes bytes;
    int recovery_id = -1;
  };
  asio::awaitable<Signature> sign(const SealedKey& key, crypto::Bytes digest_or_message);

 private:
  int checkout();
  void checkin(int fd);
  nlohmann::json exchange(const nlohmann::json& request);

  ClientOptions options_;
  log::Logger log_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Histogram& duration_;
  std::mutex mutex_;
  std::vector<int> idle_;
  ThreadPool pool_;
};

}  // namespace nsl::enclave
