#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/core/asio.hpp"
#include "nsl/core/batcher.hpp"
#include "nsl/core/logging.hpp"
#include "nsl/core/metrics.hpp"
#include "nsl/core/thread_pool.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/crypto/key_wrap.hpp"
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

/// What the enclave says of itself (the "info" operation).
struct EnclaveInfo {
  std::string mode;         // "simulation"
  std::string measurement;  // hex SHA-256 of the enclave binary
  int protocol = 0;
  crypto::Bytes root_id;  // the newest sealing root
  crypto::Bytes attestation_public_key;
  /// Whether the enclave holds keys and secrets in locked memory (mlock can fail under a low
  /// RLIMIT_MEMLOCK: then they may be written to swap).
  bool memory_locked = false;
};

/// The enclave's transport key: keys come in wrapped for it (import_wrapped).
struct TransportKey {
  crypto::Bytes public_key;  // P-256, compressed
  std::string format;        // crypto::key_wrap::kFormat
  crypto::Bytes root_id;     // the root it is derived from
};

/// A sealed key's public key, and whether the key may leave the enclave (export_key).
struct KeyInfo {
  crypto::Bytes public_key;
  bool exportable = false;
};

/// A blob sealed again under the newest root (rewrap).
struct Rewrapped {
  crypto::Bytes sealed;
  crypto::Bytes root_id;
};

/// A signed attestation report: `report` is the JSON document the signature covers
/// (attestation_signing_bytes), `signature` P-256 r || s by the attestation key it names.
struct Attestation {
  nlohmann::json report;
  crypto::Bytes signature;
};

namespace testing {
class RawCalls;
}

/// The server's side of the enclave boundary: one typed method per operation, over pooled
/// connections, made on a named thread pool ("enclave") so no IO thread waits on the socket
/// (or, attached, from the IO threads' own asynchronous connections). Requests made meanwhile
/// travel together in one items frame (at most `max_batch` and about 1 MiB), so under load
/// each round trip and thread hop serves many callers. A connection that fails is
/// dropped and the request tried once more on a fresh one (the enclave may have restarted);
/// then EnclaveUnavailable. Refusals are EnclaveError with the enclave's code. Exports
/// `nsl_enclave_requests_total{op,outcome}` and `nsl_enclave_request_duration_seconds`.
/// Requests are built and answers read here and nowhere else: callers pass and get typed
/// values (bytes, not hex).
class EnclaveClient {
 public:
  EnclaveClient(ClientOptions options, metrics::Registry& registry, log::Sink& logs);
  ~EnclaveClient();

  /// The enclave's mode, measurement, protocol version, newest root and attestation key.
  asio::awaitable<EnclaveInfo> info();
  /// info() for startup code outside coroutines: on the calling thread, attached or not.
  EnclaveInfo info_blocking();

  /// A new key of `kind` (secp256r1, secp256k1, ed25519), sealed for the record `key_ref`;
  /// `exportable` keys may later leave wrapped (export_key).
  asio::awaitable<SealedKey> create_key(std::string kind, std::string key_ref, bool exportable = false);
  /// A key given in clear (32 bytes), sealed like a new one; EnclaveError invalid_key if it is
  /// not a valid key of `kind`. The caller wipes `private_key`.
  asio::awaitable<SealedKey> import_key(std::string kind, std::string key_ref, crypto::ByteView private_key,
                                        bool exportable = false);
  /// The P-256 key that keys are wrapped for on their way in.
  asio::awaitable<TransportKey> transport_key();
  /// A key wrapped for the transport key (its `kind` is ignored: `kind` binds it); EnclaveError
  /// invalid_key if it does not open or is not a valid key of `kind`.
  asio::awaitable<SealedKey> import_wrapped(std::string kind, std::string key_ref, const crypto::key_wrap::Wrapped& wrapped,
                                            bool exportable = false);
  /// An exportable key wrapped for `recipient` (a P-256 public key); EnclaveError
  /// not_exportable for a key not created exportable, bad_request for a recipient that is not a key.
  asio::awaitable<crypto::key_wrap::Wrapped> export_key(const SealedKey& key, crypto::ByteView recipient);
  /// The public key of a sealed key, read from the blob.
  asio::awaitable<KeyInfo> public_key(const SealedKey& key);

  /// ECDSA over a 32-byte digest (secp256r1: r||s; secp256k1: r||s and the recovery id in
  /// `recovery_id`), or Ed25519 over a message.
  struct Signature {
    crypto::Bytes bytes;
    int recovery_id = -1;
  };
  asio::awaitable<Signature> sign(const SealedKey& key, crypto::Bytes digest_or_message);

  /// Seals `plaintext` (at most 256 KiB) for `purpose` ("secret" or "data_key") bound to
  /// `aad`; open gives it back for the same purpose and aad only (else EnclaveError
  /// unseal_failed). The caller wipes what open returns.
  asio::awaitable<crypto::Bytes> seal(std::string_view purpose, crypto::ByteView aad, crypto::ByteView plaintext);
  asio::awaitable<crypto::Bytes> open(std::string_view purpose, crypto::ByteView aad, crypto::ByteView sealed);

  /// A new data key for `tenant`, sealed (purpose data_key, bound to the tenant).
  asio::awaitable<crypto::Bytes> data_key_create(crypto::ByteView tenant);
  /// AES-256-GCM under a tenant's data key (its sealed blob from data_key_create), bound to
  /// `aad`: encrypt gives nonce | ciphertext | tag, decrypt takes them back (EnclaveError
  /// decrypt_failed if they do not verify).
  asio::awaitable<crypto::Bytes> data_encrypt(crypto::ByteView tenant, crypto::ByteView sealed_key, crypto::ByteView aad,
                                              crypto::ByteView plaintext);
  asio::awaitable<crypto::Bytes> data_decrypt(crypto::ByteView tenant, crypto::ByteView sealed_key, crypto::ByteView aad,
                                              crypto::ByteView ciphertext);

  /// A new sealing root; blobs sealed under older roots still open. Its id. Never batched nor
  /// retried (it must not run twice after a lost answer).
  asio::awaitable<crypto::Bytes> rotate_root();
  /// A blob of `purpose` ("secret" or "data_key") bound to `aad`, or a sealed key, sealed again
  /// under the newest root.
  asio::awaitable<Rewrapped> rewrap(std::string_view purpose, crypto::ByteView aad, crypto::ByteView sealed);
  asio::awaitable<Rewrapped> rewrap(const SealedKey& key);

  /// A report signed by the enclave's attestation key, carrying `nonce` (16 to 64 bytes).
  asio::awaitable<Attestation> attest(crypto::ByteView nonce);

  /// The P-256 key that signs the server's ES256 access tokens (compressed); the private key
  /// never leaves the enclave.
  asio::awaitable<crypto::Bytes> jwt_public_key();
  /// jwt_public_key() for startup code outside coroutines: on the calling thread, attached or not.
  crypto::Bytes jwt_public_key_blocking();
  /// The ES256 signature (r || s) of a token's signing input.
  asio::awaitable<crypto::Bytes> jwt_sign(std::string_view input);

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
  // The generic entry points, for the typed methods (and tests, through testing::RawCalls).
  friend class testing::RawCalls;
  /// One request; the response without "ok". Throws EnclaveError or EnclaveUnavailable.
  asio::awaitable<nlohmann::json> call(nlohmann::json request);
  /// The same, blocking, on the calling thread.
  nlohmann::json call_blocking(const nlohmann::json& request);

  struct Call {
    Call() = default;
    Call(Call&&) = default;
    Call& operator=(Call&&) = default;
    ~Call();
    std::string op;
    std::string body;      // the request: JSON text, or an encoded item (src/nsl/enclave/protocol.hpp)
    char answer_type = 0;  // for an item: the answer's item type ('s' or 'x'); 0 for JSON
    bool secret = false;   // the request or its answer holds a secret: texts are wiped
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
  // A request whose field `field` (hex) holds a secret, or whose answer does: every text of it is wiped.
  asio::awaitable<nlohmann::json> secret_call(nlohmann::json request, const char* field);
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
