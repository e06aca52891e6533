#include "nsl/services/keys/routes.hpp"

#include <nlohmann/json.hpp>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neo/enclave_signer.hpp"
#include "nsl/chain/neo/encoding.hpp"
#include "nsl/chain/neo/transaction.hpp"
#include "nsl/chain/neox/abi.hpp"
#include "nsl/chain/neox/address.hpp"
#include "nsl/chain/neox/enclave_signer.hpp"
#include "nsl/chain/neox/transaction.hpp"
#include "nsl/cache/cache.hpp"
#include "nsl/core/errors.hpp"
#include "nsl/core/ids.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/secp256k1.hpp"
#include "nsl/crypto/symmetric.hpp"
#include "nsl/crypto/uint256.hpp"

namespace nsl::services::keys {
namespace {

using crypto::Bytes;
using nlohmann::json;

RequestError field_error(const std::string& field, const std::string& message) {
  return std::move(RequestError(ErrorKind::bad_request, field + " " + message).with_field(field, message));
}

json body_of(const http::Context& ctx) {
  auto j = json::parse(ctx.request.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw BadRequest("the request body must be a JSON object");
  return j;
}

std::string text(const json& j, const char* name, std::size_t max) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_string()) throw field_error(name, "is required (a string)");
  auto s = it->get<std::string>();
  if (s.empty() || s.size() > max) throw field_error(name, "must be 1 to " + std::to_string(max) + " characters");
  return s;
}

Bytes hex(const json& j, const char* name, std::size_t max_bytes) {
  const auto s = text(j, name, max_bytes * 2 + 2);
  auto b = crypto::from_hex(s);
  if (!b) throw field_error(name, "must be hex");
  return std::move(*b);
}

std::string kind_of(const json& j) {
  const auto k = text(j, "kind", 16);
  if (k != "secp256r1" && k != "secp256k1" && k != "ed25519")
    throw field_error("kind", "must be secp256r1, secp256k1 or ed25519");
  return k;
}

bool flag(const json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw field_error(name, "must be true or false");
  return it->get<bool>();
}

std::string valid_name(const json& j) {
  auto name = text(j, "name", 100);
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != ':') {
      throw field_error("name", "may hold letters, digits and - _ . : only");
    }
  }
  return name;
}

// The record the enclave binds a sealed key to: tenant, key id and version.
std::string key_ref(const std::string& account, const std::string& id, std::int64_t version) {
  return account + "/" + id + "/" + std::to_string(version);
}

// The chain addresses of a public key.
json addresses(const std::string& kind, const Bytes& pub) {
  json out = json::object();
  if (kind == "secp256r1" && pub.size() == 33) {
    chain::neo::PublicKey key{};
    std::copy(pub.begin(), pub.end(), key.begin());
    const auto hash = chain::neo::script_hash(chain::neo::single_sig_script(key));
    out["neo_n3"] = {{"address", chain::neo::to_address(hash)}, {"script_hash", chain::neo::to_display(hash)}};
  } else if (kind == "secp256k1" && pub.size() == 65) {
    std::array<std::uint8_t, 65> key{};
    std::copy(pub.begin(), pub.end(), key.begin());
    out["neo_x"] = {{"address", chain::neox::to_checksum(chain::neox::address_of(key))}};
  }
  return out;
}

struct KeyRow {
  std::string id, name, kind, sealed_hex, public_hex, status, created_at;
  std::int64_t version = 0;
  bool exportable = false;
};

json describe(const KeyRow& k) {
  const auto pub = crypto::from_hex(k.public_hex).value_or(Bytes{});
  return {{"id", k.id},
          {"name", k.name},
          {"kind", k.kind},
          {"version", k.version},
          {"status", k.status},
          {"public_key", k.public_hex},
          {"addresses", addresses(k.kind, pub)},
          {"exportable", k.exportable},
          {"created_at", k.created_at}};
}

constexpr const char* kColumns = "id, name, kind, sealed, public_key, status, created_at, version, exportable";

KeyRow row_of(const db::Result& r, std::size_t i) {
  return {r.get<std::string>(i, 0), r.get<std::string>(i, 1),  r.get<std::string>(i, 2),
          r.get<std::string>(i, 3), r.get<std::string>(i, 4),  r.get<std::string>(i, 5),
          r.get<std::string>(i, 6), r.get<std::int64_t>(i, 7), r.get<std::int64_t>(i, 8) != 0};
}

std::string cache_key(const std::string& account, const std::string& id) { return "key:" + account + "/" + id; }

json row_json(const KeyRow& k) {
  return {{"id", k.id},
          {"name", k.name},
          {"kind", k.kind},
          {"sealed", k.sealed_hex},
          {"public_key", k.public_hex},
          {"status", k.status},
          {"created_at", k.created_at},
          {"version", k.version},
          {"exportable", k.exportable}};
}

KeyRow row_from(const json& j) {
  return {j.at("id"),
          j.at("name"),
          j.at("kind"),
          j.at("sealed"),
          j.at("public_key"),
          j.at("status"),
          j.at("created_at"),
          j.at("version").get<std::int64_t>(),
          j.at("exportable").get<bool>()};
}

enclave::SealedKey sealed(const std::string& account, const KeyRow& k) {
  return {k.kind, key_ref(account, k.id, k.version), crypto::from_hex(k.sealed_hex).value(),
          crypto::from_hex(k.public_hex).value()};
}

// A key as the cache hands it out: the row, and the sealed key as the enclave takes it. Made
// once per cache entry and shared by the requests that use it.
struct CachedKey {
  KeyRow row;
  enclave::SealedKey sealed;
};

// The newest version of the caller's key, or 404 (also for another account's key). Read through
// the two-level cache: every change to a key (rotate, disable, delete) invalidates it on every
// replica before it is acknowledged, so a disabled key signs nowhere once the caller is told.
asio::awaitable<std::shared_ptr<const CachedKey>> cached_key(db::Database& db, cache::Cache& cache, const std::string& account,
                                                             const std::string& id) {
  auto* database = &db;
  cache::Cache::Loader loader = [database, account, id]() -> asio::awaitable<std::optional<std::string>> {
    const auto r = co_await database->run([&](db::Connection& c) {
      return c.query(std::string("SELECT ") + kColumns +
                         " FROM keys WHERE id = $1 AND account_id = $2 AND status != 'retired' ORDER BY version DESC LIMIT 1",
                     {id, account});
    });
    if (r.empty()) co_return std::nullopt;
    co_return row_json(row_of(r, 0)).dump();
  };
  auto decode = [account](const std::string& text) {
    auto row = row_from(json::parse(text));
    auto key = sealed(account, row);
    return CachedKey{std::move(row), std::move(key)};
  };
  auto k = co_await cache.get_decoded<CachedKey>(cache_key(account, id), loader, decode);
  if (!k) throw NotFound("no key " + id);
  co_return k;
}

asio::awaitable<KeyRow> current(db::Database& db, cache::Cache& cache, const std::string& account, const std::string& id) {
  const auto k = co_await cached_key(db, cache, account, id);
  co_return k->row;
}

// What a message signature covers: Neo N3 P-256 keys sign SHA-256 of the message, Neo X keys
// its EIP-191 hash, Ed25519 the message itself.
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

json signature_json(const std::string& kind, const enclave::EnclaveClient::Signature& s) {
  json out{{"signature", crypto::to_hex(s.bytes)}};
  if (kind == "secp256k1") {
    out["recovery_id"] = s.recovery_id;
    // r || s || v (27 + recovery id), the form wallets and ecrecover take.
    auto rsv = s.bytes;
    rsv.push_back(static_cast<std::uint8_t>(27 + s.recovery_id));
    out["signature_rsv"] = crypto::to_hex(rsv);
  }
  return out;
}

bool verify_signature(const std::string& kind, const Bytes& pub, const Bytes& payload, const Bytes& sig) {
  if (kind == "secp256r1") {
    if (payload.size() != 32) return false;
    crypto::Hash256 d{};
    std::copy(payload.begin(), payload.end(), d.begin());
    return crypto::p256::verify_digest(pub, d, sig);
  }
  if (kind == "secp256k1") {
    if (payload.size() != 32 || (sig.size() != 64 && sig.size() != 65)) return false;
    crypto::Hash256 d{};
    std::copy(payload.begin(), payload.end(), d.begin());
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
  return crypto::ed25519::verify(pub, payload, sig);
}

http::Response no_content() { return http::Response{http::beast_http::status::no_content, 11}; }

// A concurrent rotation stored the version a rotation meant to store.
struct VersionTaken {};
constexpr int kMaxRotateAttempts = 16;

// Where the key of a new version comes from: made in the enclave, or imported in clear or
// wrapped for the enclave's transport key. A clear key is wiped with the source.
struct KeySource {
  KeySource() = default;
  KeySource(KeySource&&) = default;
  KeySource& operator=(KeySource&&) = default;
  ~KeySource() {
    if (private_key) crypto::wipe(private_key->data(), private_key->size());
  }
  bool exportable = false;
  std::optional<Bytes> private_key;  // import_key
  std::optional<json> wrapped;       // import_wrapped: the nsl-key-wrap-v1 object as given
};

// Creates (or imports) version 1 of a key, or the next version of `id`, from `source`.
asio::awaitable<json> store_key(db::Database& db, enclave::EnclaveClient& enclave, const std::string& account, std::string id,
                                std::int64_t version, std::string name, std::string kind, KeySource source,
                                int keys_per_account = 0, int versions_kept = 10) {
  const auto ref = key_ref(account, id, version);
  const bool exportable = source.exportable;
  const char* key_field = source.wrapped ? "wrapped" : "private_key";
  const bool request_has_key = source.wrapped || source.private_key;
  enclave::SealedKey made;
  try {
    if (source.wrapped) {
      const auto wrapped = enclave::wrapped_from_json(*source.wrapped, kind);
      made = co_await enclave.import_wrapped(kind, ref, wrapped, exportable);
    } else if (source.private_key) {
      made = co_await enclave.import_key(kind, ref, *source.private_key, exportable);
    } else {
      made = co_await enclave.create_key(kind, ref, exportable);
    }
  } catch (const enclave::EnclaveError& e) {
    // The enclave names what is wrong with a key it was given (not a valid key, a wrapping that
    // does not open or is malformed); anything else is the server's fault.
    if (e.code() == "invalid_key" || (e.code() == "bad_request" && request_has_key)) {
      throw field_error(key_field, std::string("is not a valid key: ") + e.what());
    }
    throw RequestError(ErrorKind::internal, "the enclave refused the key", e.what());
  }
  KeyRow row{id, name, kind, crypto::to_hex(made.sealed), crypto::to_hex(made.public_key), "active", "", version, exportable};
  // Concurrent requests meet here: two creates of one name, or two rotations of one key. The
  // unique index refuses the second row; a rotation whose key was deleted meanwhile finds no
  // version to retire and stores nothing.
  enum class Outcome { created, name_taken, key_gone, version_taken, over_quota } outcome = Outcome::created;
  std::string created;
  try {
    created = co_await db.transaction([&](db::Connection& c) {
      outcome = Outcome::created;
      if (version == 1) {
        if (!c.query("SELECT 1 FROM keys WHERE account_id = $1 AND name = $2", {account, name}).empty()) {
          outcome = Outcome::name_taken;
          return std::string();
        }
        if (c.query("SELECT count(DISTINCT id) FROM keys WHERE account_id = $1", {account}).get<std::int64_t>(0, 0) >=
            keys_per_account) {
          outcome = Outcome::over_quota;
          return std::string();
        }
      } else {
        // The number must still be the next one: old versions are pruned, so the primary key
        // alone would let a pruned number be used again.
        const auto newest = c.query("SELECT coalesce(max(version), 0) FROM keys WHERE id = $1 AND account_id = $2", {id, account})
                                .get<std::int64_t>(0, 0);
        if (newest == 0 || newest >= version) {
          outcome = newest == 0 ? Outcome::key_gone : Outcome::version_taken;
          return std::string();
        }
        c.query("UPDATE keys SET status = 'retired' WHERE id = $1 AND account_id = $2 AND version < $3", {id, account, version});
        c.query("DELETE FROM keys WHERE id = $1 AND account_id = $2 AND version <= $3", {id, account, version - versions_kept});
      }
      c.query(
          "INSERT INTO keys (id, version, account_id, name, kind, sealed, public_key, status, exportable) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8)",
          {id, version, account, name, kind, row.sealed_hex, row.public_hex, std::int64_t{exportable ? 1 : 0}});
      return c.query("SELECT created_at FROM keys WHERE id = $1 AND version = $2", {id, version}).get<std::string>(0, 0);
    });
  } catch (const db::DatabaseError& e) {
    if (e.kind() != db::DatabaseError::Kind::unique_violation) throw;
    outcome = version == 1 ? Outcome::name_taken : Outcome::version_taken;
  }
  if (outcome == Outcome::name_taken) {
    throw RequestError(ErrorKind::conflict, "a key named " + name + " exists already").with_field("name", "is taken");
  }
  if (outcome == Outcome::key_gone) throw NotFound("no key " + id);
  if (outcome == Outcome::over_quota) {
    throw RequestError(ErrorKind::conflict, "the quota of " + std::to_string(keys_per_account) +
                                                " keys is used up (Quotas:KeysPerAccount); delete one first");
  }
  if (outcome == Outcome::version_taken) throw VersionTaken{};
  row.created_at = created;
  co_return describe(row);
}

// Unsigned integers in a JSON transaction: a JSON number, decimal digits, or 0x hex.
std::optional<crypto::Uint256> number_field(const json& tx, const char* name, bool required) {
  const std::string field = std::string("transaction.") + name;
  const auto it = tx.find(name);
  if (it == tx.end() || it->is_null()) {
    if (required) throw field_error(field, "is required");
    return std::nullopt;
  }
  std::optional<crypto::Uint256> v;
  if (it->is_number_unsigned()) v = crypto::Uint256(it->get<std::uint64_t>());
  if (it->is_string()) v = crypto::Uint256::parse(it->get_ref<const std::string&>());
  if (!v) throw field_error(field, "must be an unsigned integer (a number, decimal digits or 0x hex)");
  return v;
}

std::uint64_t u64_field(const json& tx, const char* name) {
  const auto v = number_field(tx, name, true);
  const auto be = v->to_be_minimal();
  if (be.size() > 8) throw field_error(std::string("transaction.") + name, "must fit in 64 bits");
  std::uint64_t out = 0;
  for (const auto b : be) out = (out << 8) | b;
  return out;
}

chain::neox::Address address_field(const json& j, const char* name, const std::string& field) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_string()) throw field_error(field, "must be an address (0x and 40 hex digits)");
  std::string why;
  const auto a = chain::neox::parse_address(it->get_ref<const std::string&>(), &why);
  if (!a) throw field_error(field, why.empty() ? "is not an address" : why);
  return *a;
}

std::string hex0x(crypto::ByteView b) { return "0x" + crypto::to_hex(b); }

// Neo X: an EIP-155 (type 0) or EIP-1559 (type 2) transaction given as JSON with ethers' field
// names; the answer is the signed raw transaction, its hash and the sender.
asio::awaitable<json> sign_neox_transaction(enclave::EnclaveClient& enclave, enclave::SealedKey key, const json& body) {
  const auto it = body.find("transaction");
  if (it == body.end() || !it->is_object()) throw field_error("transaction", "is required (an object with ethers' field names)");
  const auto& j = *it;
  chain::neox::Transaction tx;
  const auto type = number_field(j, "type", false).value_or(crypto::Uint256(2));
  if (type == crypto::Uint256(2)) {
    tx.type = chain::neox::Transaction::Type::eip1559;
    tx.max_fee_per_gas = *number_field(j, "maxFeePerGas", true);
    tx.max_priority_fee_per_gas = *number_field(j, "maxPriorityFeePerGas", true);
    if (j.contains("gasPrice")) throw field_error("transaction.gasPrice", "belongs to type 0 transactions");
  } else if (type == crypto::Uint256(0)) {
    tx.type = chain::neox::Transaction::Type::legacy;
    tx.gas_price = *number_field(j, "gasPrice", true);
    if (j.contains("accessList")) throw field_error("transaction.accessList", "belongs to type 2 transactions");
  } else {
    throw field_error("transaction.type", "must be 0 (legacy, EIP-155) or 2 (EIP-1559)");
  }
  tx.chain_id = u64_field(j, "chainId");
  if (tx.chain_id == 0) throw field_error("transaction.chainId", "must not be 0 (EIP-155 replay protection)");
  tx.nonce = u64_field(j, "nonce");
  tx.gas_limit = u64_field(j, "gasLimit");
  if (j.contains("to") && !j["to"].is_null()) tx.to = address_field(j, "to", "transaction.to");
  tx.value = number_field(j, "value", false).value_or(crypto::Uint256());
  if (j.contains("data") && !j["data"].is_null()) {
    const auto* d = j["data"].is_string() ? &j["data"].get_ref<const std::string&>() : nullptr;
    auto bytes = d ? crypto::from_hex(*d) : std::nullopt;
    if (!bytes) throw field_error("transaction.data", "must be hex");
    if (bytes->size() > 128 * 1024) throw field_error("transaction.data", "must be at most 128 KiB");
    tx.data = std::move(*bytes);
  }
  if (!tx.to && tx.data.empty()) throw field_error("transaction.to", "is required unless data deploys a contract");
  if (j.contains("accessList") && !j["accessList"].is_null()) {
    if (!j["accessList"].is_array() || j["accessList"].size() > 256) {
      throw field_error("transaction.accessList", "must be an array of at most 256 entries");
    }
    for (const auto& e : j["accessList"]) {
      if (!e.is_object()) throw field_error("transaction.accessList", "entries are {address, storageKeys}");
      chain::neox::AccessListEntry entry;
      entry.address = address_field(e, "address", "transaction.accessList");
      const auto keys = e.find("storageKeys");
      if (keys != e.end()) {
        if (!keys->is_array() || keys->size() > 1024) throw field_error("transaction.accessList", "storageKeys must be an array");
        for (const auto& sk : *keys) {
          auto b = sk.is_string() ? crypto::from_hex(sk.get_ref<const std::string&>()) : std::nullopt;
          if (!b || b->size() != 32) throw field_error("transaction.accessList", "storage keys are 32 bytes of hex");
          chain::neox::Hash256 h{};
          std::copy(b->begin(), b->end(), h.begin());
          entry.storage_keys.push_back(h);
        }
      }
      tx.access_list.push_back(std::move(entry));
    }
  }
  chain::neox::EnclaveSigner signer(enclave, std::move(key));
  const auto sig = co_await signer.sign(tx);
  const auto raw = chain::neox::encode_signed(tx, sig);
  const auto hash = chain::neox::transaction_hash(raw);
  co_return json{{"raw", hex0x(raw)},
                 {"hash", hex0x(hash)},
                 {"from", chain::neox::to_checksum(signer.address())},
                 {"signature", {{"r", hex0x(sig.r.to_be32())}, {"s", hex0x(sig.s.to_be32())}, {"v", sig.v.to_decimal()}}}};
}

// Neo N3: the transaction's bytes (unsigned, or signed by others already) and the network magic;
// the answer is the transaction with this key's witness in its signer's place.
asio::awaitable<json> sign_neo_transaction(enclave::EnclaveClient& enclave, enclave::SealedKey key, const json& body) {
  const auto magic_it = body.find("network");
  if (magic_it == body.end() || !magic_it->is_number_unsigned() || magic_it->get<std::uint64_t>() > 0xffffffffULL) {
    throw field_error("network", "is required: the network magic (an unsigned 32-bit number)");
  }
  const auto magic = static_cast<std::uint32_t>(magic_it->get<std::uint64_t>());
  const auto raw = hex(body, "transaction", 102400);
  std::string why;
  auto tx = chain::neo::deserialize(raw, &why, /*witnesses_optional=*/true);
  if (!tx) throw field_error("transaction", "is not a Neo N3 transaction: " + why);
  chain::neo::EnclaveAccountSigner signer(enclave, std::move(key));
  const auto account = chain::neo::script_hash(signer.verification_script());
  std::size_t index = tx->signers.size();
  for (std::size_t i = 0; i < tx->signers.size(); ++i) {
    if (tx->signers[i].account == account) index = i;
  }
  if (index == tx->signers.size()) {
    throw field_error("transaction", "has no signer for this key's account " + chain::neo::to_address(account));
  }
  auto invocation = co_await signer.invocation(chain::neo::sign_data(*tx, magic));
  tx->witnesses.resize(tx->signers.size());
  tx->witnesses[index] = {invocation, signer.verification_script()};
  bool complete = true;
  for (const auto& w : tx->witnesses) complete = complete && !w.invocation.empty();
  const auto hash = chain::neo::transaction_hash(*tx);
  co_return json{{"hash", chain::neo::to_display(hash)},
                 {"network", magic},
                 {"signer", chain::neo::to_address(account)},
                 {"signature", crypto::to_hex(crypto::ByteView(invocation).subspan(2))},
                 {"invocation_script", crypto::to_hex(invocation)},
                 {"verification_script", crypto::to_hex(signer.verification_script())},
                 {"complete", complete},
                 {"transaction", crypto::to_hex(chain::neo::serialize(*tx))}};
}

}  // namespace

void add_routes(http::Router& router, db::Database& db, enclave::EnclaveClient& enclave, cache::Cache& cache,
                int keys_per_account, int versions_kept) {
  router.add({http::Verb::post, "/v1/keys", "keys", "keys:create",
              [&db, &enclave, keys_per_account](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto body = body_of(ctx);
                KeySource source;
                source.exportable = flag(body, "exportable");
                auto out = co_await store_key(db, enclave, ctx.principal->account_id, random_uuid(), 1, valid_name(body),
                                              kind_of(body), std::move(source), keys_per_account);
                co_return http::json_response(201, out.dump());
              }});
  // Registered before /v1/keys/{id}, which would otherwise take it.
  router.add({http::Verb::get, "/v1/keys/transport-key", "keys", "keys:import",
              [&enclave](http::Context&) -> asio::awaitable<http::Response> {
                const auto answer = co_await enclave.transport_key();
                co_return http::json_response(200, json{{"public_key", crypto::to_hex(answer.public_key)},
                                                        {"format", answer.format},
                                                        {"root_id", crypto::to_hex(answer.root_id)}}
                                                       .dump());
              }});
  router.add({http::Verb::post, "/v1/keys/import", "keys", "keys:import",
              [&db, &enclave, keys_per_account](http::Context& ctx) -> asio::awaitable<http::Response> {
                auto body = body_of(ctx);
                const auto kind = kind_of(body);
                KeySource source;
                source.exportable = flag(body, "exportable");
                const bool has_clear = body.contains("private_key"), has_wrapped = body.contains("wrapped");
                if (has_clear == has_wrapped) throw field_error("private_key", "or wrapped is required (exactly one of them)");
                if (has_wrapped) {
                  if (!body["wrapped"].is_object()) throw field_error("wrapped", "must be an nsl-key-wrap-v1 object");
                  source.wrapped = body["wrapped"];
                } else {
                  auto given = text(body, "private_key", 200);
                  std::optional<Bytes> key = crypto::from_hex(given);
                  if (!key && kind == "secp256r1") key = chain::neo::decode_wif(given);
                  crypto::wipe(given.data(), given.size());
                  body["private_key"] = nullptr;
                  if (!key || key->size() != 32)
                    throw field_error("private_key", "must be 32 bytes of hex (or a WIF for secp256r1)");
                  source.private_key = *key;
                  crypto::wipe(key->data(), key->size());
                }
                auto out = co_await store_key(db, enclave, ctx.principal->account_id, random_uuid(), 1, valid_name(body), kind,
                                              std::move(source), keys_per_account);
                co_return http::json_response(201, out.dump());
              }});
  router.add(
      {http::Verb::get, "/v1/keys", "keys", "keys:read", [&db, &cache](http::Context& ctx) -> asio::awaitable<http::Response> {
         const auto r = co_await db.run([&](db::Connection& c) {
           return c.query(std::string("SELECT ") + kColumns +
                              " FROM keys WHERE account_id = $1 AND status != 'retired' ORDER BY created_at, id",
                          {ctx.principal->account_id});
         });
         json keys = json::array();
         for (std::size_t i = 0; i < r.rows.size(); ++i) keys.push_back(describe(row_of(r, i)));
         co_return http::json_response(200, json{{"keys", keys}}.dump());
       }});
  router.add({http::Verb::get, "/v1/keys/{id}", "keys", "keys:read",
              [&db, &cache](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto k = co_await current(db, cache, ctx.principal->account_id, std::string(ctx.param("id")));
                co_return http::json_response(200, describe(k).dump());
              }});
  auto sign = [&db, &enclave, &cache](bool message) {
    return [&db, &enclave, &cache, message](http::Context& ctx) -> asio::awaitable<http::Response> {
      const auto body = body_of(ctx);
      const auto& account = ctx.principal->account_id;
      const auto cached = co_await cached_key(db, cache, account, std::string(ctx.param("id")));
      const auto& k = cached->row;
      if (k.status != "active") throw RequestError(ErrorKind::conflict, "the key is disabled");
      Bytes payload;
      if (message) {
        payload = message_payload(k.kind, text(body, "message", 64 * 1024));
      } else if (k.kind == "ed25519") {
        payload = hex(body, "message", 64 * 1024);
      } else {
        payload = hex(body, "digest", 32);
        if (payload.size() != 32) throw field_error("digest", "must be 32 bytes");
      }
      const auto s = co_await enclave.sign(cached->sealed, std::move(payload));
      co_return http::json_response(200, signature_json(k.kind, s).dump());
    };
  };
  router.add({http::Verb::post, "/v1/keys/{id}/sign", "keys", "keys:sign", sign(false)});
  router.add({http::Verb::post, "/v1/keys/{id}/sign-message", "keys", "keys:sign", sign(true)});
  router.add({http::Verb::post, "/v1/keys/{id}/sign-transaction", "keys", "keys:sign",
              [&db, &enclave, &cache](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto body = body_of(ctx);
                const auto& account = ctx.principal->account_id;
                const auto k = co_await current(db, cache, account, std::string(ctx.param("id")));
                if (k.status != "active") throw RequestError(ErrorKind::conflict, "the key is disabled");
                json out;
                if (k.kind == "secp256r1") {
                  out = co_await sign_neo_transaction(enclave, sealed(account, k), body);
                } else if (k.kind == "secp256k1") {
                  out = co_await sign_neox_transaction(enclave, sealed(account, k), body);
                } else {
                  throw RequestError(ErrorKind::conflict, "an ed25519 key signs no Neo N3 or Neo X transaction");
                }
                co_return http::json_response(200, out.dump());
              }});
  // A key leaves the enclave only if it was created exportable, only wrapped for the recipient's
  // P-256 key (nsl-key-wrap-v1), and only for those allowed keys:export (admins).
  router.add({http::Verb::post, "/v1/keys/{id}/export", "keys", "keys:export",
              [&db, &enclave, &cache](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto body = body_of(ctx);
                const auto account = body.contains("account_id") ? text(body, "account_id", 100) : ctx.principal->account_id;
                if (account != ctx.principal->account_id) ctx.acting_on = account;
                const auto recipient = hex(body, "recipient", 65);
                if (!crypto::p256::is_valid_public_key(recipient)) {
                  throw field_error("recipient", "must be a P-256 public key (33 or 65 bytes of hex)");
                }
                const auto k = co_await current(db, cache, account, std::string(ctx.param("id")));
                if (!k.exportable) throw RequestError(ErrorKind::conflict, "the key was not created exportable");
                const auto key = sealed(account, k);
                const auto wrapped = co_await enclave.export_key(key, recipient);
                co_return http::json_response(200, json{{"id", k.id},
                                                        {"version", k.version},
                                                        {"kind", k.kind},
                                                        {"public_key", k.public_hex},
                                                        {"wrapped", enclave::wrapped_to_json(wrapped)}}
                                                       .dump());
              }});
  router.add({http::Verb::post, "/v1/keys/{id}/verify", "keys", "keys:read",
              [&db, &cache](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto body = body_of(ctx);
                const auto k = co_await current(db, cache, ctx.principal->account_id, std::string(ctx.param("id")));
                Bytes payload;
                if (body.contains("message")) {
                  payload = message_payload(k.kind, text(body, "message", 64 * 1024));
                } else {
                  payload = hex(body, "digest", 32);
                }
                const auto sig = hex(body, "signature", 65);
                const bool valid = verify_signature(k.kind, crypto::from_hex(k.public_hex).value(), payload, sig);
                co_return http::json_response(200, json{{"valid", valid}}.dump());
              }});
  router.add({http::Verb::post, "/v1/keys/{id}/rotate", "keys", "keys:create",
              [&db, &enclave, &cache, versions_kept](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto& account = ctx.principal->account_id;
                const auto k = co_await current(db, cache, account, std::string(ctx.param("id")));
                json out;
                co_await cache.write(cache_key(account, k.id), [&]() -> asio::awaitable<void> {
                  // Concurrent rotations each store a version of their own: one that lost its
                  // number to another makes a new key under the next.
                  auto version = k.version + 1;
                  for (int attempt = 1;; ++attempt) {
                    bool stored = false;
                    try {
                      KeySource source;
                      source.exportable = k.exportable;
                      out = co_await store_key(db, enclave, account, k.id, version, k.name, k.kind, std::move(source), 0,
                                               versions_kept);
                      stored = true;
                    } catch (const VersionTaken&) {
                      if (attempt == kMaxRotateAttempts) {
                        throw RequestError(ErrorKind::conflict,
                                           "key " + k.id + " is being rotated by too many requests at once; try again");
                      }
                    }
                    if (stored) break;
                    const auto latest = co_await db.run([&](db::Connection& c) {
                      return c.query("SELECT max(version) FROM keys WHERE id = $1 AND account_id = $2", {k.id, account});
                    });
                    const auto newest = latest.empty() ? std::nullopt : latest.get_optional<std::int64_t>(0, 0);
                    if (!newest) throw NotFound("no key " + k.id);
                    version = *newest + 1;
                  }
                });
                co_return http::json_response(200, out.dump());
              }});
  router.add({http::Verb::post, "/v1/keys/{id}/disable", "keys", "keys:create",
              [&db, &cache](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto k = co_await current(db, cache, ctx.principal->account_id, std::string(ctx.param("id")));
                co_await cache.write(cache_key(ctx.principal->account_id, k.id), [&]() -> asio::awaitable<void> {
                  co_await db.run([&](db::Connection& c) {
                    c.query("UPDATE keys SET status = 'disabled' WHERE id = $1 AND version = $2", {k.id, k.version});
                  });
                });
                auto row = k;
                row.status = "disabled";
                co_return http::json_response(200, describe(row).dump());
              }});
  router.add({http::Verb::delete_, "/v1/keys/{id}", "keys", "keys:create",
              [&db, &cache](http::Context& ctx) -> asio::awaitable<http::Response> {
                const std::string id(ctx.param("id"));
                std::int64_t removed = 0;
                co_await cache.write(cache_key(ctx.principal->account_id, id), [&]() -> asio::awaitable<void> {
                  // In a write transaction: a version a rotation committed while the delete waited
                  // for its rows is deleted too (on PostgreSQL the transaction is retried on a new snapshot).
                  removed = co_await db.transaction([&](db::Connection& c) {
                    return static_cast<std::int64_t>(
                        c.query("DELETE FROM keys WHERE id = $1 AND account_id = $2", {id, ctx.principal->account_id}).affected);
                  });
                });
                if (removed == 0) throw NotFound("no key " + id);
                co_return no_content();
              }});
}

}  // namespace nsl::services::keys
