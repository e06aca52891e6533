#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/core/asio.hpp"
#include "nsl/core/batcher.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/core/thread_pool.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/enclave/protocol.hpp"

namespace nsl::enclave {

struct ClientOptions {
  std::string socket_path;
  crypto::Bytes token;
  std::size_t threads = 4;  // frames in flight at once (one connection each)
  std::chrono::milliseconds timeout{5000};
  std::size_t max_batch = 64;  // requests in one frame
};

/// A key as the server keeps it: the sealed blob (useless without the enclave) and its public key.
struct SealedKey {
  std::string kind;  // secp256r1 | secp256k1 | ed25519
  std::string key_ref;
  crypto::Bytes sealed;
  crypto::Bytes public_key;
};

/// The server's side of the enclave boundary: typed calls over pooled connections, made on a
/// named thread pool ("enclave") so no IO thread waits on the socket. Requests made meanwhile
/// travel together in one items frame (at most `max_batch` and about 1 MiB), so under load
/// each round trip and thread hop serves many callers. A connection that fails is
/// dropped and the request tried once more on a fresh one (the enclave may have restarted);
/// then EnclaveUnavailable. Refusals are EnclaveError with the enclave's code. Exports
/// `nsl_enclave_requests_total{op,outcome}` and `nsl_enclave_request_duration_seconds`.
class EnclaveClient {
 public:
  EnclaveClient(ClientOptions options, metrics::Registry& registry, log::Sink& logs);
  ~EnclaveClient();

  /// One request; the response without "ok". Throws EnclaveError or EnclaveUnavailable.
  asio::awaitable<nlohmann::json> call(nlohmann::json request);
  /// The same for a request already serialised (a JSON object whose "op" is `op`), for hot
  /// paths that write it directly.
  asio::awaitable<nlohmann::json> call_text(std::string op, std::string request);
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

  /// AES-256-GCM under a tenant's data key (its sealed blob from data_key_create), bound to
  /// `aad`: encrypt gives nonce | ciphertext | tag, decrypt takes them back (EnclaveError
  /// decrypt_failed if they do not verify).
  asio::awaitable<crypto::Bytes> data_encrypt(crypto::ByteView tenant, crypto::ByteView sealed_key, crypto::ByteView aad,
                                              crypto::ByteView plaintext);
  asio::awaitable<crypto::Bytes> data_decrypt(crypto::ByteView tenant, crypto::ByteView sealed_key, crypto::ByteView aad,
                                              crypto::ByteView ciphertext);

  /// From now on, requests made by coroutines talk to the enclave from the threads of `io`
  /// (asynchronous sockets: no hop to the "enclave" pool and back), still batched into frames.
  /// detach() (or the Attached guard) before `io` is destroyed.
  void attach(asio::any_io_executor io);
  void detach();
  struct Attached {
    EnclaveClient& client;
    ~Attached() { client.detach(); }
  };

 private:
  struct Call {
    std::string op;
    std::string body;      // the request: JSON text, or an encoded item (src/nsl/enclave/protocol.hpp)
    char answer_type = 0;  // for an item: the answer's item type ('s' or 'x'); 0 for JSON
    std::optional<nlohmann::json> response;
    std::optional<crypto::Bytes> bytes;  // the answer to an item
    int recovery_id = -1;
    std::exception_ptr error;
    bool done() const { return response.has_value() || bytes.has_value(); }
  };
  struct Link;     // one asynchronous connection
  struct Pending;  // one queued request on the asynchronous path
  int checkout();
  void checkin(int fd);
  std::string exchange(const std::string& body, bool retry);
  void run_batch(std::vector<Call*>& calls);
  void send_batch(std::vector<Call*>& calls);
  nlohmann::json finish(const std::string& op, nlohmann::json answer);
  // Gives each call of a frame its answer (or the refusal, or `unavailable`).
  void deliver(std::vector<Call*>& calls, const std::string& reply);
  void answer(Call& call, const Item& item);
  // A lone JSON request travels as it is; anything else in an items frame.
  static bool plain(const std::vector<Call*>& calls);
  static std::string items_frame(const std::vector<Call*>& calls);
  void fail(std::vector<Call*>& calls, const std::exception_ptr& unavailable, const std::string& why);
  asio::awaitable<Call> call_async(Call call, asio::any_io_executor io);
  asio::awaitable<Call> submit(Call call);
  asio::awaitable<nlohmann::json> json_call(Call call);
  asio::awaitable<crypto::Bytes> data_call(char type, const DataItem& item);
  asio::awaitable<void> send_frames(std::shared_ptr<Link> link);
  asio::awaitable<std::shared_ptr<Link>> open_link();
  asio::awaitable<std::optional<std::string>> exchange_async(std::shared_ptr<Link> link, const std::string& body);

  ClientOptions options_;
  log::Logger log_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Histogram& duration_;
  std::mutex mutex_;
  std::vector<int> idle_;
  ThreadPool pool_;
  Batcher<Call> batcher_;
  // The asynchronous path (under mutex_): requests waiting for a frame, idle connections, and
  // the number of frames being sent (at most options_.threads).
  std::optional<asio::any_io_executor> io_;
  std::deque<std::shared_ptr<Pending>> queued_;
  std::vector<std::shared_ptr<Link>> idle_links_;
  std::size_t senders_ = 0;
};

}  // namespace nsl::enclave
