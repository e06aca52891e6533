#include "nsl/services/keys/keys.hpp"

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neo/enclave_signer.hpp"
#include "nsl/chain/neo/encoding.hpp"
#include "nsl/chain/neo/transaction.hpp"
#include "nsl/chain/neox/abi.hpp"
#include "nsl/chain/neox/address.hpp"
#include "nsl/chain/neox/enclave_signer.hpp"
#include "nsl/core/errors.hpp"
#include "nsl/core/ids.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/secp256k1.hpp"
#include "nsl/crypto/symmetric.hpp"

namespace nsl::services::keys {
namespace {

using crypto::Bytes;
using nlohmann::json;

constexpr int kMaxRotateAttempts = 16;

// The record the enclave binds a sealed key to: tenant, key id and version.
std::string key_ref(const std::string& account, const std::string& id, std::int64_t version) {
  return account + "/" + id + "/" + std::to_string(version);
}

std::string cache_key(const std::string& account, const std::string& id) { return "key:" + account + "/" + id; }

// A key record as the cache holds it.
std::string encode(const KeyRecord& k) {
  return json{{"id", k.id},
              {"name", k.name},
              {"kind", k.kind},
              {"sealed", crypto::to_hex(k.sealed)},
              {"public_key", crypto::to_hex(k.public_key)},
              {"status", k.status},
              {"created_at", k.created_at},
              {"version", k.version},
              {"exportable", k.exportable}}
      .dump();
}

KeyRecord decode(const std::string& text) {
  const auto j = json::parse(text);
  return {.id = j.at("id"),
          .name = j.at("name"),
          .kind = j.at("kind"),
          .version = j.at("version").get<std::int64_t>(),
          .status = j.at("status"),
          .sealed = crypto::from_hex(j.at("sealed").get<std::string>()).value(),
          .public_key = crypto::from_hex(j.at("public_key").get<std::string>()).value(),
          .exportable = j.at("exportable").get<bool>(),
          .created_at = j.at("created_at")};
}

enclave::SealedKey sealed_key(const std::string& account, const KeyRecord& k) {
  return {k.kind, key_ref(account, k.id, k.version), k.sealed, k.public_key};
}

crypto::Hash256 digest_of(const Bytes& payload) {
  crypto::Hash256 d{};
  std::copy(payload.begin(), payload.end(), d.begin());
  return d;
}

bool verify_secp256k1(const Bytes& pub, const Bytes& payload, const Bytes& sig) {
  if (payload.size() != 32 || (sig.size() != 64 && sig.size() != 65)) return false;
  const auto d = digest_of(payload);
  for (int v = 0; v < 2; ++v) {
    crypto::secp256k1::RecoverableSignature rs;
    std::copy(sig.begin(), sig.begin() + 32, rs.r.begin());
    std::copy(sig.begin() + 32, sig.begin() + 64, rs.s.begin());
    rs.recovery_id = sig.size() == 65 ? (sig[64] >= 27 ? sig[64] - 27 : sig[64]) : v;
    const auto rec = crypto::secp256k1::recover(d, rs);
    if (rec && Bytes(rec->begin(), rec->end()) == pub) return true;
    if (sig.size() == 65) break;
  }
  return false;
}

// Seals the key of a new version in the enclave: made there, or imported from `source`.
asio::awaitable<enclave::SealedKey> make_key(enclave::EnclaveClient& enclave, const std::string& kind, const std::string& ref,
                                             const KeySource& source) {
  const char* key_field = source.wrapped ? "wrapped" : "private_key";
  const bool given = source.wrapped || source.private_key;
  try {
    if (source.wrapped) {
      const auto wrapped = enclave::wrapped_from_json(*source.wrapped, kind);
      co_return co_await enclave.import_wrapped(kind, ref, wrapped, source.exportable);
    }
    if (source.private_key) co_return co_await enclave.import_key(kind, ref, *source.private_key, source.exportable);
    co_return co_await enclave.create_key(kind, ref, source.exportable);
  } catch (const enclave::EnclaveError& e) {
    // The enclave names what is wrong with a key it was given (not a valid key, a wrapping that
    // does not open or is malformed); anything else is the server's fault.
    if (e.code() == "invalid_key" || (e.code() == "bad_request" && given)) {
      throw field_error(key_field, std::string("is not a valid key: ") + e.what());
    }
    throw RequestError(ErrorKind::internal, "the enclave refused the key", e.what());
  }
}

// A concurrent rotation stored the version a rotation meant to store.
struct VersionTaken {};

}  // namespace

bool is_kind(const std::string& kind) { return kind == "secp256r1" || kind == "secp256k1" || kind == "ed25519"; }

KeySource::~KeySource() {
  if (private_key) crypto::wipe(private_key->data(), private_key->size());
}

Addresses addresses_of(const KeyRecord& key) {
  Addresses out;
  const auto& pub = key.public_key;
  if (key.kind == "secp256r1" && pub.size() == 33) {
    chain::neo::PublicKey p{};
    std::copy(pub.begin(), pub.end(), p.begin());
    const auto hash = chain::neo::script_hash(chain::neo::single_sig_script(p));
    out.neo_n3_address = chain::neo::to_address(hash);
    out.neo_n3_script_hash = chain::neo::to_display(hash);
  } else if (key.kind == "secp256k1" && pub.size() == 65) {
    std::array<std::uint8_t, 65> p{};
    std::copy(pub.begin(), pub.end(), p.begin());
    out.neo_x_address = chain::neox::to_checksum(chain::neox::address_of(p));
  }
  return out;
}

Bytes message_payload(const std::string& kind, const std::string& message) {
  if (kind == "secp256r1") {
    const auto h = crypto::sha256(crypto::as_bytes(message));
    return Bytes(h.begin(), h.end());
  }
  if (kind == "secp256k1") {
    const auto h = chain::neox::abi::eip191_message_hash(crypto::as_bytes(message));
    return Bytes(h.begin(), h.end());
  }
  return Bytes(message.begin(), message.end());
}

bool verify(const KeyRecord& key, const Bytes& payload, const Bytes& signature) {
  if (key.kind == "secp256r1")
    return payload.size() == 32 && crypto::p256::verify_digest(key.public_key, digest_of(payload), signature);
  if (key.kind == "secp256k1") return verify_secp256k1(key.public_key, payload, signature);
  return crypto::ed25519::verify(key.public_key, payload, signature);
}

KeyService::KeyService(db::Database& database, enclave::EnclaveClient& enclave, cache::Cache& cache, Settings settings)
    : store_(database), enclave_(enclave), cache_(cache), settings_(settings) {}

asio::awaitable<KeyRecord> KeyService::store_version(std::string account, KeyRecord record, KeySource source, int quota) {
  auto made = co_await make_key(enclave_, record.kind, key_ref(account, record.id, record.version), source);
  record.sealed = std::move(made.sealed);
  record.public_key = std::move(made.public_key);
  record.exportable = source.exportable;
  const auto outcome = co_await store_.insert(account, record, quota, settings_.versions_kept);
  switch (outcome) {
    case StoreOutcome::stored:
      co_return record;
    case StoreOutcome::name_taken:
      throw RequestError(ErrorKind::conflict, "a key named " + record.name + " exists already").with_field("name", "is taken");
    case StoreOutcome::key_gone:
      throw NotFound("no key " + record.id);
    case StoreOutcome::over_quota:
      throw RequestError(ErrorKind::conflict,
                         "the quota of " + std::to_string(quota) + " keys is used up (Quotas:KeysPerAccount); delete one first");
    case StoreOutcome::version_taken:
      break;
  }
  throw VersionTaken{};
}

asio::awaitable<KeyRecord> KeyService::create(std::string account, std::string name, std::string kind, KeySource source) {
  KeyRecord record{.id = random_uuid(), .name = std::move(name), .kind = std::move(kind), .version = 1};
  co_return co_await store_version(std::move(account), std::move(record), std::move(source), settings_.keys_per_account);
}

asio::awaitable<enclave::TransportKey> KeyService::transport_key() { co_return co_await enclave_.transport_key(); }

asio::awaitable<std::vector<KeyRecord>> KeyService::list(std::string account) { co_return co_await store_.list(account); }

asio::awaitable<KeyHandle> KeyService::get(std::string account, std::string id) {
  auto* store = &store_;
  cache::Cache::Loader loader = [store, account, id]() -> asio::awaitable<std::optional<std::string>> {
    const auto record = co_await store->newest(account, id);
    if (!record) co_return std::nullopt;
    co_return encode(*record);
  };
  auto decoder = [account](const std::string& text) {
    auto record = decode(text);
    auto sealed = sealed_key(account, record);
    return Key{std::move(record), std::move(sealed)};
  };
  auto k = co_await cache_.get_decoded<Key>(cache_key(account, id), loader, decoder);
  if (!k) throw NotFound("no key " + id);
  co_return k;
}

asio::awaitable<KeyHandle> KeyService::signing_key(std::string account, std::string id) {
  auto k = co_await get(std::move(account), std::move(id));
  if (k->record.status != "active") throw RequestError(ErrorKind::conflict, "the key is disabled");
  co_return k;
}

asio::awaitable<enclave::EnclaveClient::Signature> KeyService::sign(const Key& key, Bytes payload) {
  co_return co_await enclave_.sign(key.sealed, std::move(payload));
}

asio::awaitable<NeoSigned> KeyService::sign_neo_transaction(const Key& key, std::uint32_t network, const Bytes& raw) {
  std::string why;
  auto tx = chain::neo::deserialize(raw, &why, /*witnesses_optional=*/true);
  if (!tx) throw field_error("transaction", "is not a Neo N3 transaction: " + why);
  chain::neo::EnclaveAccountSigner signer(enclave_, key.sealed);
  const auto account = chain::neo::script_hash(signer.verification_script());
  std::size_t index = tx->signers.size();
  for (std::size_t i = 0; i < tx->signers.size(); ++i) {
    if (tx->signers[i].account == account) index = i;
  }
  if (index == tx->signers.size()) {
    throw field_error("transaction", "has no signer for this key's account " + chain::neo::to_address(account));
  }
  auto invocation = co_await signer.invocation(chain::neo::sign_data(*tx, network));
  tx->witnesses.resize(tx->signers.size());
  tx->witnesses[index] = {invocation, signer.verification_script()};
  bool complete = true;
  for (const auto& w : tx->witnesses) complete = complete && !w.invocation.empty();
  co_return NeoSigned{.hash = chain::neo::to_display(chain::neo::transaction_hash(*tx)),
                      .network = network,
                      .signer = chain::neo::to_address(account),
                      .invocation_script = std::move(invocation),
                      .verification_script = signer.verification_script(),
                      .transaction = chain::neo::serialize(*tx),
                      .complete = complete};
}

asio::awaitable<NeoXSigned> KeyService::sign_neox_transaction(const Key& key, const chain::neox::Transaction& tx) {
  chain::neox::EnclaveSigner signer(enclave_, key.sealed);
  const auto sig = co_await signer.sign(tx);
  auto raw = chain::neox::encode_signed(tx, sig);
  const auto hash = chain::neox::transaction_hash(raw);
  co_return NeoXSigned{.raw = std::move(raw), .hash = hash, .from = chain::neox::to_checksum(signer.address()), .signature = sig};
}

asio::awaitable<Exported> KeyService::export_key(std::string account, std::string id, Bytes recipient) {
  const auto k = co_await get(account, id);
  if (!k->record.exportable) throw RequestError(ErrorKind::conflict, "the key was not created exportable");
  auto wrapped = co_await enclave_.export_key(k->sealed, recipient);
  co_return Exported{k->record, std::move(wrapped)};
}

asio::awaitable<KeyRecord> KeyService::rotate_once(const std::string& account, const KeyRecord& current) {
  // Concurrent rotations each store a version of their own: one that lost its number to another
  // makes a new key under the next.
  auto version = current.version + 1;
  for (int attempt = 1;; ++attempt) {
    try {
      KeySource source;
      source.exportable = current.exportable;
      KeyRecord next{.id = current.id, .name = current.name, .kind = current.kind, .version = version};
      co_return co_await store_version(account, std::move(next), std::move(source), 0);
    } catch (const VersionTaken&) {
      if (attempt == kMaxRotateAttempts) {
        throw RequestError(ErrorKind::conflict,
                           "key " + current.id + " is being rotated by too many requests at once; try again");
      }
    }
    const auto newest = co_await store_.newest_version(account, current.id);
    if (!newest) throw NotFound("no key " + current.id);
    version = *newest + 1;
  }
}

asio::awaitable<KeyRecord> KeyService::rotate(std::string account, std::string id) {
  const auto k = co_await get(account, id);
  KeyRecord out;
  co_await cache_.write(cache_key(account, k->record.id),
                        [&]() -> asio::awaitable<void> { out = co_await rotate_once(account, k->record); });
  co_return out;
}

asio::awaitable<KeyRecord> KeyService::disable(std::string account, std::string id) {
  const auto k = co_await get(account, id);
  co_await cache_.write(cache_key(account, k->record.id),
                        [&]() -> asio::awaitable<void> { co_await store_.disable(k->record.id, k->record.version); });
  auto record = k->record;
  record.status = "disabled";
  co_return record;
}

asio::awaitable<void> KeyService::remove(std::string account, std::string id) {
  std::int64_t removed = 0;
  co_await cache_.write(cache_key(account, id),
                        [&]() -> asio::awaitable<void> { removed = co_await store_.remove(account, id); });
  if (removed == 0) throw NotFound("no key " + id);
}

}  // namespace nsl::services::keys
