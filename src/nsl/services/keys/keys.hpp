#pragma once

// Key Management: the keys of an account, held by the enclave as sealed blobs (the database
// stores the blobs, useless without the enclave). What the service does, without HTTP: the routes
// (routes.cpp) parse a request, call one of these and render the answer.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/cache/cache.hpp"
#include "nsl/chain/neox/transaction.hpp"
#include "nsl/core/asio.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/db/database.hpp"
#include "nsl/enclave/client.hpp"
#include "nsl/services/keys/settings.hpp"
#include "nsl/services/keys/store.hpp"

namespace nsl::services::keys {

/// The key kinds: secp256r1 (Neo N3), secp256k1 (Neo X) and ed25519.
bool is_kind(const std::string& kind);

/// Where a new key comes from: made in the enclave, or imported in clear (`private_key`, wiped
/// with the source) or wrapped for the enclave's transport key (`wrapped`, nsl-key-wrap-v1).
struct KeySource {
  KeySource() = default;
  KeySource(KeySource&&) = default;
  KeySource& operator=(KeySource&&) = default;
  ~KeySource();
  bool exportable = false;
  std::optional<crypto::Bytes> private_key;
  std::optional<nlohmann::json> wrapped;
};

/// A key as requests use it: its record and the sealed key as the enclave takes it. Made once per
/// cache entry and shared by the requests that use it.
struct Key {
  KeyRecord record;
  enclave::SealedKey sealed;
};
using KeyHandle = std::shared_ptr<const Key>;

/// The chain addresses of a key: Neo N3 for secp256r1, Neo X for secp256k1, none for ed25519.
struct Addresses {
  std::optional<std::string> neo_n3_address, neo_n3_script_hash, neo_x_address;
};
Addresses addresses_of(const KeyRecord& key);

/// What a message signature covers: SHA-256 of the message for secp256r1 (Neo N3), its EIP-191
/// hash for secp256k1 (Neo X), the message itself for ed25519.
crypto::Bytes message_payload(const std::string& kind, const std::string& message);

/// Whether `signature` by `key` covers `payload` (a digest, or an Ed25519 message). secp256k1
/// takes r||s (either recovery id) or r||s||v.
bool verify(const KeyRecord& key, const crypto::Bytes& payload, const crypto::Bytes& signature);

/// A Neo N3 transaction with this key's witness in its signer's place.
struct NeoSigned {
  std::string hash;  // display form (0x, big-endian)
  std::uint32_t network = 0;
  std::string signer;  // the key's address
  crypto::Bytes invocation_script, verification_script, transaction;
  bool complete = false;  // every signer has a witness
};

/// A signed Neo X transaction.
struct NeoXSigned {
  crypto::Bytes raw;
  crypto::Hash256 hash{};
  std::string from;  // checksummed
  chain::neox::TxSignature signature;
};

/// A key wrapped for a recipient's P-256 key.
struct Exported {
  KeyRecord record;
  crypto::key_wrap::Wrapped wrapped;
};

class KeyService {
 public:
  KeyService(db::Database& database, enclave::EnclaveClient& enclave, cache::Cache& cache, Settings settings);

  /// Version 1 of a new key named `name` (unique in the account). 409 when the name is taken or
  /// the account holds Quotas:KeysPerAccount keys; 400 naming `private_key` or `wrapped` when an
  /// imported key is not one.
  asio::awaitable<KeyRecord> create(std::string account, std::string name, std::string kind, KeySource source);
  /// The enclave's P-256 key that imports are wrapped for.
  asio::awaitable<enclave::TransportKey> transport_key();
  /// The account's keys (their newest versions), oldest first.
  asio::awaitable<std::vector<KeyRecord>> list(std::string account);
  /// The newest version of the account's key; 404 also for another account's key. Read through
  /// the two-level cache: every change to a key is invalidated on every replica before it is
  /// acknowledged, so a disabled key signs nowhere once the caller is told.
  asio::awaitable<KeyHandle> get(std::string account, std::string id);
  /// The key if it may sign: 409 when it is disabled.
  asio::awaitable<KeyHandle> signing_key(std::string account, std::string id);

  /// A signature over a 32-byte digest (ECDSA) or a message (Ed25519).
  asio::awaitable<enclave::EnclaveClient::Signature> sign(const Key& key, crypto::Bytes payload);
  /// Neo N3: `raw` is a transaction (unsigned, or signed by others already) with a signer for
  /// the key's account; 400 naming `transaction` otherwise.
  asio::awaitable<NeoSigned> sign_neo_transaction(const Key& key, std::uint32_t network, const crypto::Bytes& raw);
  /// Neo X: an EIP-155 or EIP-1559 transaction.
  asio::awaitable<NeoXSigned> sign_neox_transaction(const Key& key, const chain::neox::Transaction& tx);
  /// The key wrapped for `recipient` (a P-256 public key), if it was created exportable (409
  /// otherwise).
  asio::awaitable<Exported> export_key(std::string account, std::string id, crypto::Bytes recipient);

  /// A new key under the same id and name (the next version); the newest Quotas:KeyVersionsKept
  /// versions are kept and older ones deleted, sealed material included.
  asio::awaitable<KeyRecord> rotate(std::string account, std::string id);
  /// No more signing with the key.
  asio::awaitable<KeyRecord> disable(std::string account, std::string id);
  /// Deletes every version; 404 if there is none.
  asio::awaitable<void> remove(std::string account, std::string id);

 private:
  asio::awaitable<KeyRecord> store_version(std::string account, KeyRecord record, KeySource source, int quota);
  asio::awaitable<KeyRecord> rotate_once(const std::string& account, const KeyRecord& current);

  KeyStore store_;
  enclave::EnclaveClient& enclave_;
  cache::Cache& cache_;
  Settings settings_;
};

}  // namespace nsl::services::keys
