// The Key Management routes: each parses its request, calls the KeyService (keys.hpp) and renders
// the answer. The table below is every route of the service.
#include "nsl/services/keys/routes.hpp"

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neox/address.hpp"
#include "nsl/core/errors.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/uint256.hpp"
#include "nsl/enclave/protocol.hpp"
#include "nsl/services/common/fields.hpp"
#include "nsl/services/common/route_table.hpp"

namespace nsl::services::keys {
namespace {

using crypto::Bytes;
using http::Context;
using http::Response;
using http::Verb;
using nlohmann::json;

class Routes {
 public:
  explicit Routes(KeyService& keys) : keys_(keys) {}
  asio::awaitable<Response> create(Context& ctx);
  asio::awaitable<Response> transport_key(Context& ctx);
  asio::awaitable<Response> import(Context& ctx);
  asio::awaitable<Response> list(Context& ctx);
  asio::awaitable<Response> get(Context& ctx);
  asio::awaitable<Response> sign(Context& ctx);
  asio::awaitable<Response> sign_message(Context& ctx);
  asio::awaitable<Response> sign_transaction(Context& ctx);
  asio::awaitable<Response> export_key(Context& ctx);
  asio::awaitable<Response> verify(Context& ctx);
  asio::awaitable<Response> rotate(Context& ctx);
  asio::awaitable<Response> disable(Context& ctx);
  asio::awaitable<Response> remove(Context& ctx);

 private:
  KeyService& keys_;
};

// The JSON Schemas of the OpenAPI operations.
constexpr const char* kKey = R"js({"type": "object",
  "required": ["id", "name", "kind", "version", "status", "public_key", "addresses", "exportable", "created_at"],
  "properties": {"id": {"type": "string"}, "name": {"type": "string"},
    "kind": {"enum": ["secp256r1", "secp256k1", "ed25519"]}, "version": {"type": "integer", "minimum": 1},
    "status": {"enum": ["active", "disabled"]}, "public_key": {"type": "string", "pattern": "^[0-9a-f]+$"},
    "addresses": {"type": "object", "properties": {
      "neo_n3": {"type": "object", "required": ["address", "script_hash"],
                 "properties": {"address": {"type": "string"}, "script_hash": {"type": "string"}}},
      "neo_x": {"type": "object", "required": ["address"], "properties": {"address": {"type": "string"}}}}},
    "exportable": {"type": "boolean"}, "created_at": {"type": "string"}}})js";
constexpr const char* kKeyList = R"js({"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array"}}})js";
constexpr const char* kCreate = R"js({"type": "object", "required": ["name", "kind"], "properties": {
  "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[A-Za-z0-9._:-]+$"},
  "kind": {"enum": ["secp256r1", "secp256k1", "ed25519"]}, "exportable": {"type": "boolean"}}})js";
constexpr const char* kImport = R"js({"type": "object", "required": ["name", "kind"],
  "description": "exactly one of private_key (hex, or a WIF for secp256r1) and wrapped (nsl-key-wrap-v1)",
  "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[A-Za-z0-9._:-]+$"},
    "kind": {"enum": ["secp256r1", "secp256k1", "ed25519"]}, "exportable": {"type": "boolean"},
    "private_key": {"type": "string", "pattern": "^((0x)?[0-9a-fA-F]{64}|[1-9A-HJ-NP-Za-km-z]{51,52})$"}, "wrapped": {"type": "object"}},
  "oneOf": [{"required": ["private_key"]}, {"required": ["wrapped"]}]})js";
constexpr const char* kTransportKey = R"js({"type": "object", "required": ["public_key", "format", "root_id"],
  "properties": {"public_key": {"type": "string"}, "format": {"type": "string"}, "root_id": {"type": "string"}}})js";
constexpr const char* kSign = R"js({"type": "object",
  "description": "digest: 32 bytes of hex (secp256r1, secp256k1); message: the message in hex (ed25519)",
  "properties": {"digest": {"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{64}$"},
                 "message": {"type": "string", "minLength": 1, "maxLength": 131074}},
  "oneOf": [{"required": ["digest"], "not": {"required": ["message"]}},
            {"required": ["message"], "not": {"required": ["digest"]}}]})js";
constexpr const char* kSignMessage = R"js({"type": "object", "required": ["message"],
  "properties": {"message": {"type": "string", "minLength": 1, "maxLength": 65536}}})js";
constexpr const char* kSignature = R"js({"type": "object", "required": ["signature"], "properties": {
  "signature": {"type": "string"}, "recovery_id": {"type": "integer", "minimum": 0, "maximum": 3},
  "signature_rsv": {"type": "string"}}})js";
// A Neo X transaction as ethers writes one: type 2 (EIP-1559, the default) or 0 (legacy, EIP-155);
// quantities as JSON numbers, decimal digits or 0x hex.

std::string neox_transaction_schema() {
  const auto quantity = json::parse(R"js({"oneOf": [{"type": "integer", "minimum": 0},
    {"type": "string", "pattern": "^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$"}]})js");
  const json address{{"type", "string"}, {"pattern", "^0x[0-9a-fA-F]{40}$"}};
  auto schema = json::parse(R"js({"type": "object", "required": ["chainId", "nonce", "gasLimit"],
    "properties": {"type": {"enum": [0, 2]},
      "data": {"type": ["string", "null"], "maxLength": 262146, "pattern": "^(0x)?([0-9a-fA-F]{2})*$"},
      "accessList": {"type": ["array", "null"], "maxItems": 256, "items": {"type": "object", "required": ["address"],
        "properties": {"storageKeys": {"type": "array", "maxItems": 1024,
          "items": {"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{64}$"}}}}}},
    "oneOf": [{"required": ["maxFeePerGas", "maxPriorityFeePerGas"], "not": {"required": ["gasPrice"]},
               "properties": {"type": {"const": 2}}},
              {"required": ["type", "gasPrice"], "not": {"required": ["maxFeePerGas"]},
               "properties": {"type": {"const": 0}, "accessList": {"type": "null"}}}]})js");
  auto& properties = schema["properties"];
  for (const char* name : {"chainId", "nonce", "gasLimit", "value", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas"}) {
    properties[name] = quantity;
  }
  properties["to"] = {{"oneOf", json::array({{{"type", "null"}}, address})}};
  properties["accessList"]["items"]["properties"]["address"] = address;
  return schema.dump();
}

const std::string kSignTransaction = std::string(R"js({"type": "object",
  "description": "secp256r1 (Neo N3): network and transaction (hex); secp256k1 (Neo X): transaction with ethers' field names",
  "properties": {"network": {"type": "integer", "minimum": 0, "maximum": 4294967295},
                 "transaction": {"oneOf": [{"type": "string", "minLength": 2, "maxLength": 204800,
                                            "pattern": "^(0x)?([0-9a-fA-F]{2})+$"}, )js") +
                                     neox_transaction_schema() + "]}}}";
constexpr const char* kSignedTransaction = R"js({"anyOf": [
  {"type": "object", "required": ["hash", "network", "signer", "signature", "invocation_script", "verification_script",
                                  "complete", "transaction"],
   "properties": {"hash": {"type": "string"}, "network": {"type": "integer"}, "signer": {"type": "string"},
                  "signature": {"type": "string"}, "invocation_script": {"type": "string"},
                  "verification_script": {"type": "string"}, "complete": {"type": "boolean"},
                  "transaction": {"type": "string"}}},
  {"type": "object", "required": ["raw", "hash", "from", "signature"],
   "properties": {"raw": {"type": "string"}, "hash": {"type": "string"}, "from": {"type": "string"},
                  "signature": {"type": "object", "required": ["r", "s", "v"]}}}]})js";
constexpr const char* kExport = R"js({"type": "object", "required": ["recipient"], "properties": {
  "recipient": {"type": "string", "description": "a P-256 public key, 33 or 65 bytes of hex",
                "pattern": "^(0x)?(0[23][0-9a-fA-F]{64}|04[0-9a-fA-F]{128})$"},
  "account_id": {"type": "string", "minLength": 1, "maxLength": 100}}})js";
constexpr const char* kExported = R"js({"type": "object", "required": ["id", "version", "kind", "public_key", "wrapped"],
  "properties": {"id": {"type": "string"}, "version": {"type": "integer"}, "kind": {"type": "string"},
                 "public_key": {"type": "string"}, "wrapped": {"type": "object"}}})js";
constexpr const char* kVerify = R"js({"type": "object", "required": ["signature"],
  "description": "digest (32 bytes of hex) or message (text, hashed as sign-message does)",
  "properties": {"digest": {"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{64}$"},
                 "message": {"type": "string", "minLength": 1, "maxLength": 65536},
                 "signature": {"type": "string", "minLength": 1, "maxLength": 132}},
  "oneOf": [{"required": ["digest"], "not": {"required": ["message"]}},
            {"required": ["message"], "not": {"required": ["digest"]}}]})js";
constexpr const char* kValid = R"js({"type": "object", "required": ["valid"], "properties": {"valid": {"type": "boolean"}}})js";

// /v1/keys/transport-key is registered before /v1/keys/{id}, which would otherwise take it.
const RouteRow<Routes> kRoutes[] = {
    {Verb::post,
     "/v1/keys",
     "keys:create",
     &Routes::create,
     {.summary = "Create a key in the enclave", .request = kCreate, .responses = {{201, kKey}}, .errors = {409}}},
    {Verb::get,
     "/v1/keys/transport-key",
     "keys:import",
     &Routes::transport_key,
     {.summary = "The enclave's P-256 key that imports are wrapped for", .responses = {{200, kTransportKey}}}},
    {Verb::post,
     "/v1/keys/import",
     "keys:import",
     &Routes::import,
     {.summary = "Import a key, in clear or wrapped", .request = kImport, .responses = {{201, kKey}}, .errors = {409}}},
    {Verb::get, "/v1/keys", "keys:read", &Routes::list, {.summary = "The caller's keys", .responses = {{200, kKeyList}}}},
    {Verb::get,
     "/v1/keys/{id}",
     "keys:read",
     &Routes::get,
     {.summary = "A key: its public key and chain addresses", .responses = {{200, kKey}}, .errors = {404}}},
    {Verb::post,
     "/v1/keys/{id}/sign",
     "keys:sign",
     &Routes::sign,
     {.summary = "Sign a digest (or an Ed25519 message)",
      .request = kSign,
      .responses = {{200, kSignature}},
      .errors = {404, 409}}},
    {Verb::post,
     "/v1/keys/{id}/sign-message",
     "keys:sign",
     &Routes::sign_message,
     {.summary = "Sign a message (Neo N3, EIP-191 or Ed25519)",
      .request = kSignMessage,
      .responses = {{200, kSignature}},
      .errors = {404, 409}}},
    {Verb::post,
     "/v1/keys/{id}/sign-transaction",
     "keys:sign",
     &Routes::sign_transaction,
     {.summary = "Sign a Neo N3 or Neo X transaction",
      .request = kSignTransaction,
      .responses = {{200, kSignedTransaction}},
      .errors = {404, 409}}},
    {Verb::post,
     "/v1/keys/{id}/export",
     "keys:export",
     &Routes::export_key,
     {.summary = "Export an exportable key, wrapped for a recipient",
      .request = kExport,
      .responses = {{200, kExported}},
      .errors = {404, 409}}},
    {Verb::post,
     "/v1/keys/{id}/verify",
     "keys:read",
     &Routes::verify,
     {.summary = "Verify a signature by a key", .request = kVerify, .responses = {{200, kValid}}, .errors = {404}}},
    {Verb::post,
     "/v1/keys/{id}/rotate",
     "keys:create",
     &Routes::rotate,
     {.summary = "A new key under the same id (the next version)", .responses = {{200, kKey}}, .errors = {404, 409}}},
    {Verb::post,
     "/v1/keys/{id}/disable",
     "keys:create",
     &Routes::disable,
     {.summary = "Stop a key from signing", .responses = {{200, kKey}}, .errors = {404}}},
    {Verb::delete_,
     "/v1/keys/{id}",
     "keys:create",
     &Routes::remove,
     {.summary = "Delete a key and every version", .responses = {{204, ""}}, .errors = {404}}},
};

// --- request fields ---

std::string kind_of(const json& body) {
  auto k = string_field(body, "kind", 16);
  if (!is_kind(k)) throw field_error("kind", "must be secp256r1, secp256k1 or ed25519");
  return k;
}

std::string name_of(const json& body) { return valid_name(string_field(body, "name", 100), "name", 100); }

// An imported key: `private_key` in clear (hex, or a WIF for secp256r1) or `wrapped`.
KeySource import_source(json& body, const std::string& kind) {
  KeySource source;
  source.exportable = bool_field(body, "exportable");
  const bool has_clear = body.contains("private_key"), has_wrapped = body.contains("wrapped");
  if (has_clear == has_wrapped) throw field_error("private_key", "or wrapped is required (exactly one of them)");
  if (has_wrapped) {
    if (!body["wrapped"].is_object()) throw field_error("wrapped", "must be an nsl-key-wrap-v1 object");
    source.wrapped = body["wrapped"];
    return source;
  }
  auto given = string_field(body, "private_key", 200);
  std::optional<Bytes> key = crypto::from_hex(given);
  if (!key && kind == "secp256r1") key = chain::neo::decode_wif(given);
  crypto::wipe(given.data(), given.size());
  body["private_key"] = nullptr;
  if (!key || key->size() != 32) throw field_error("private_key", "must be 32 bytes of hex (or a WIF for secp256r1)");
  source.private_key = *key;
  crypto::wipe(key->data(), key->size());
  return source;
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
  if (it->is_number_unsigned()) {
    v = crypto::Uint256(it->get<std::uint64_t>());  // all of 64 bits, beyond whole_number's range
  } else if (const auto n = whole_number(*it); n && *n >= 0) {
    v = crypto::Uint256(static_cast<std::uint64_t>(*n));
  }
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

std::vector<chain::neox::AccessListEntry> access_list_of(const json& list) {
  if (!list.is_array() || list.size() > 256)
    throw field_error("transaction.accessList", "must be an array of at most 256 entries");
  std::vector<chain::neox::AccessListEntry> out;
  for (const auto& e : list) {
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
    out.push_back(std::move(entry));
  }
  return out;
}

// The fee fields of type 2 (EIP-1559) or type 0 (legacy, EIP-155).
void fees_of(const json& j, chain::neox::Transaction& tx) {
  const auto type = number_field(j, "type", false).value_or(crypto::Uint256(2));
  if (type == crypto::Uint256(2)) {
    tx.type = chain::neox::Transaction::Type::eip1559;
    tx.max_fee_per_gas = *number_field(j, "maxFeePerGas", true);
    tx.max_priority_fee_per_gas = *number_field(j, "maxPriorityFeePerGas", true);
    if (j.contains("gasPrice")) throw field_error("transaction.gasPrice", "belongs to type 0 transactions");
  } else if (type == crypto::Uint256(0)) {
    tx.type = chain::neox::Transaction::Type::legacy;
    tx.gas_price = *number_field(j, "gasPrice", true);
    for (const char* fee : {"maxFeePerGas", "maxPriorityFeePerGas"}) {
      if (j.contains(fee)) throw field_error(std::string("transaction.") + fee, "belongs to type 2 transactions");
    }
    if (j.contains("accessList") && !j["accessList"].is_null()) {
      throw field_error("transaction.accessList", "belongs to type 2 transactions");
    }
  } else {
    throw field_error("transaction.type", "must be 0 (legacy, EIP-155) or 2 (EIP-1559)");
  }
}

// Neo X: an EIP-155 (type 0) or EIP-1559 (type 2) transaction with ethers' field names.
chain::neox::Transaction neox_transaction_of(const json& body) {
  const auto it = body.find("transaction");
  if (it == body.end() || !it->is_object()) throw field_error("transaction", "is required (an object with ethers' field names)");
  const auto& j = *it;
  chain::neox::Transaction tx;
  fees_of(j, tx);
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
  if (j.contains("accessList") && !j["accessList"].is_null()) tx.access_list = access_list_of(j["accessList"]);
  return tx;
}

std::uint32_t network_of(const json& body) {
  const auto it = body.find("network");
  const auto n = it == body.end() ? std::nullopt : whole_number(*it);
  if (!n || *n < 0 || *n > 0xffffffffLL) {
    throw field_error("network", "is required: the network magic (an unsigned 32-bit number)");
  }
  return static_cast<std::uint32_t>(*n);
}

// The text of sign-message and verify: 1 to 65,536 characters, and for Ed25519, which signs the
// message itself rather than a hash of it, at most 64 KiB of UTF-8 (what the enclave accepts).
crypto::Bytes message_of(const json& body, const std::string& kind) {
  const auto text = string_field(body, "message", 64 * 1024);
  if (kind == "ed25519" && text.size() > 64 * 1024)
    throw field_error("message", "must be at most 65536 bytes of UTF-8 for ed25519");
  return message_payload(kind, text);
}

// --- answers ---

std::string hex0x(crypto::ByteView b) { return "0x" + crypto::to_hex(b); }

json describe(const KeyRecord& k) {
  const auto a = addresses_of(k);
  json addresses = json::object();
  if (a.neo_n3_address) addresses["neo_n3"] = {{"address", *a.neo_n3_address}, {"script_hash", *a.neo_n3_script_hash}};
  if (a.neo_x_address) addresses["neo_x"] = {{"address", *a.neo_x_address}};
  return {{"id", k.id},
          {"name", k.name},
          {"kind", k.kind},
          {"version", k.version},
          {"status", k.status},
          {"public_key", crypto::to_hex(k.public_key)},
          {"addresses", addresses},
          {"exportable", k.exportable},
          {"created_at", k.created_at}};
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

json neo_json(const NeoSigned& s) {
  return {{"hash", s.hash},
          {"network", s.network},
          {"signer", s.signer},
          {"signature", crypto::to_hex(crypto::ByteView(s.invocation_script).subspan(2))},
          {"invocation_script", crypto::to_hex(s.invocation_script)},
          {"verification_script", crypto::to_hex(s.verification_script)},
          {"complete", s.complete},
          {"transaction", crypto::to_hex(s.transaction)}};
}

json neox_json(const NeoXSigned& s) {
  return {{"raw", hex0x(s.raw)},
          {"hash", hex0x(s.hash)},
          {"from", s.from},
          {"signature",
           {{"r", hex0x(s.signature.r.to_be32())}, {"s", hex0x(s.signature.s.to_be32())}, {"v", s.signature.v.to_decimal()}}}};
}

Response ok(int status, const json& body) { return http::json_response(status, body.dump()); }

// --- handlers ---

asio::awaitable<Response> Routes::create(Context& ctx) {
  const auto body = json_body(ctx);
  KeySource source;
  source.exportable = bool_field(body, "exportable");
  auto name = name_of(body);
  auto kind = kind_of(body);
  const auto key = co_await keys_.create(ctx.principal->account_id, std::move(name), std::move(kind), std::move(source));
  co_return ok(201, describe(key));
}

asio::awaitable<Response> Routes::transport_key(Context&) {
  const auto answer = co_await keys_.transport_key();
  co_return ok(200, json{{"public_key", crypto::to_hex(answer.public_key)},
                         {"format", answer.format},
                         {"root_id", crypto::to_hex(answer.root_id)}});
}

asio::awaitable<Response> Routes::import(Context& ctx) {
  auto body = json_body(ctx);
  auto kind = kind_of(body);
  auto source = import_source(body, kind);
  auto name = name_of(body);
  const auto key = co_await keys_.create(ctx.principal->account_id, std::move(name), std::move(kind), std::move(source));
  co_return ok(201, describe(key));
}

asio::awaitable<Response> Routes::list(Context& ctx) {
  json out = json::array();
  const auto keys = co_await keys_.list(ctx.principal->account_id);
  for (const auto& k : keys) out.push_back(describe(k));
  co_return ok(200, json{{"keys", out}});
}

asio::awaitable<Response> Routes::get(Context& ctx) {
  const auto k = co_await keys_.get(ctx.principal->account_id, std::string(ctx.param("id")));
  co_return ok(200, describe(k->record));
}

// A digest (32 bytes of hex) for ECDSA keys; for Ed25519 the message itself, in hex.
asio::awaitable<Response> Routes::sign(Context& ctx) {
  const auto body = json_body(ctx);
  const auto k = co_await keys_.signing_key(ctx.principal->account_id, std::string(ctx.param("id")));
  const bool ed25519 = k->record.kind == "ed25519";
  // The one field the key's kind signs; the other is refused rather than ignored.
  if (const char* other = ed25519 ? "digest" : "message"; body.contains(other)) {
    throw field_error(
        other, std::string("is not signed by a ") + k->record.kind + " key: send " + (ed25519 ? "message" : "digest") + " alone");
  }
  Bytes payload;
  if (ed25519) {
    payload = hex_field(body, "message", 64 * 1024);
  } else {
    payload = hex_field(body, "digest", 32);
    if (payload.size() != 32) throw field_error("digest", "must be 32 bytes");
  }
  const auto signature = co_await keys_.sign(*k, std::move(payload));
  co_return ok(200, signature_json(k->record.kind, signature));
}

asio::awaitable<Response> Routes::sign_message(Context& ctx) {
  const auto body = json_body(ctx);
  const auto k = co_await keys_.signing_key(ctx.principal->account_id, std::string(ctx.param("id")));
  auto payload = message_of(body, k->record.kind);
  const auto signature = co_await keys_.sign(*k, std::move(payload));
  co_return ok(200, signature_json(k->record.kind, signature));
}

asio::awaitable<Response> Routes::sign_transaction(Context& ctx) {
  const auto body = json_body(ctx);
  const auto k = co_await keys_.signing_key(ctx.principal->account_id, std::string(ctx.param("id")));
  if (k->record.kind == "secp256r1") {
    const auto network = network_of(body);
    const auto raw = hex_field(body, "transaction", 102400);
    const auto signed_tx = co_await keys_.sign_neo_transaction(*k, network, raw);
    co_return ok(200, neo_json(signed_tx));
  }
  if (k->record.kind == "secp256k1") {
    const auto tx = neox_transaction_of(body);
    const auto signed_tx = co_await keys_.sign_neox_transaction(*k, tx);
    co_return ok(200, neox_json(signed_tx));
  }
  throw RequestError(ErrorKind::conflict, "an ed25519 key signs no Neo N3 or Neo X transaction");
}

// A key leaves the enclave only if it was created exportable, only wrapped for the recipient's
// P-256 key (nsl-key-wrap-v1), and only for those allowed keys:export (admins).
asio::awaitable<Response> Routes::export_key(Context& ctx) {
  const auto body = json_body(ctx);
  const auto account = body.contains("account_id") ? string_field(body, "account_id", 100) : ctx.principal->account_id;
  if (account != ctx.principal->account_id) ctx.acting_on = account;
  auto recipient = hex_field(body, "recipient", 65);
  if (!crypto::p256::is_valid_public_key(recipient)) {
    throw field_error("recipient", "must be a P-256 public key (33 or 65 bytes of hex)");
  }
  const auto out = co_await keys_.export_key(account, std::string(ctx.param("id")), std::move(recipient));
  co_return ok(200, json{{"id", out.record.id},
                         {"version", out.record.version},
                         {"kind", out.record.kind},
                         {"public_key", crypto::to_hex(out.record.public_key)},
                         {"wrapped", enclave::wrapped_to_json(out.wrapped)}});
}

asio::awaitable<Response> Routes::verify(Context& ctx) {
  const auto body = json_body(ctx);
  const auto k = co_await keys_.get(ctx.principal->account_id, std::string(ctx.param("id")));
  if (body.contains("message") && body.contains("digest")) {
    throw field_error("digest", "and message: send one of them, not both");
  }
  const auto payload = body.contains("message") ? message_of(body, k->record.kind) : hex_field(body, "digest", 32);
  const auto signature = hex_field(body, "signature", 65);
  co_return ok(200, json{{"valid", keys::verify(k->record, payload, signature)}});
}

asio::awaitable<Response> Routes::rotate(Context& ctx) {
  const auto key = co_await keys_.rotate(ctx.principal->account_id, std::string(ctx.param("id")));
  co_return ok(200, describe(key));
}

asio::awaitable<Response> Routes::disable(Context& ctx) {
  const auto key = co_await keys_.disable(ctx.principal->account_id, std::string(ctx.param("id")));
  co_return ok(200, describe(key));
}

asio::awaitable<Response> Routes::remove(Context& ctx) {
  co_await keys_.remove(ctx.principal->account_id, std::string(ctx.param("id")));
  co_return Response{http::beast_http::status::no_content, 11};
}

}  // namespace

void add_routes(http::Router& router, KeyService& keys) {
  add_route_table<Routes>(router, "keys", std::make_shared<Routes>(keys), kRoutes);
}

}  // namespace nsl::services::keys
