#include "nsl/services/keys/routes.hpp"

#include <nlohmann/json.hpp>

#include "nsl/chain/neo/account.hpp"
#include "nsl/chain/neox/abi.hpp"
#include "nsl/chain/neox/address.hpp"
#include "nsl/core/errors.hpp"
#include "nsl/core/ids.hpp"
#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/secp256k1.hpp"
#include "nsl/crypto/symmetric.hpp"

namespace nsl::services::keys {
namespace {

using nlohmann::json;
using crypto::Bytes;

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
  if (k != "secp256r1" && k != "secp256k1" && k != "ed25519") throw field_error("kind", "must be secp256r1, secp256k1 or ed25519");
  return k;
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
  return {{"id", k.id}, {"name", k.name}, {"kind", k.kind}, {"version", k.version}, {"status", k.status},
          {"public_key", k.public_hex}, {"addresses", addresses(k.kind, pub)}, {"exportable", k.exportable},
          {"created_at", k.created_at}};
}

constexpr const char* kColumns = "id, name, kind, sealed, public_key, status, created_at, version, exportable";

KeyRow row_of(const db::Result& r, std::size_t i) {
  return {r.get<std::string>(i, 0), r.get<std::string>(i, 1), r.get<std::string>(i, 2), r.get<std::string>(i, 3),
          r.get<std::string>(i, 4), r.get<std::string>(i, 5), r.get<std::string>(i, 6), r.get<std::int64_t>(i, 7),
          r.get<std::int64_t>(i, 8) != 0};
}

// The newest version of the caller's key, or 404 (also for another account's key).
asio::awaitable<KeyRow> current(db::Database& db, const std::string& account, const std::string& id) {
  const auto r = co_await db.run([&](db::Connection& c) {
    return c.query(std::string("SELECT ") + kColumns +
                       " FROM keys WHERE id = $1 AND account_id = $2 AND status != 'retired' ORDER BY version DESC LIMIT 1",
                   {id, account});
  });
  if (r.empty()) throw NotFound("no key " + id);
  co_return row_of(r, 0);
}

enclave::SealedKey sealed(const std::string& account, const KeyRow& k) {
  return {k.kind, key_ref(account, k.id, k.version), crypto::from_hex(k.sealed_hex).value(), crypto::from_hex(k.public_hex).value()};
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

// Creates (or imports) version 1 of a key, or the next version of `id`.
asio::awaitable<json> store_key(db::Database& db, enclave::EnclaveClient& enclave, const std::string& account,
                                std::string id, std::int64_t version, std::string name, std::string kind,
                                std::optional<Bytes> private_key) {
  json request{{"kind", kind}, {"key_ref", key_ref(account, id, version)}};
  if (private_key) {
    request["op"] = "import_key";
    request["private_key"] = crypto::to_hex(*private_key);
    crypto::wipe(private_key->data(), private_key->size());
  } else {
    request["op"] = "create_key";
  }
  json answer;
  try {
    answer = co_await enclave.call(std::move(request));
  } catch (const enclave::EnclaveError& e) {
    if (e.code() == "invalid_key") throw field_error("private_key", std::string("is not a valid key: ") + e.what());
    throw RequestError(ErrorKind::internal, "the enclave refused the key", e.what());
  }
  KeyRow row{id, name, kind, answer.at("sealed").get<std::string>(), answer.at("public_key").get<std::string>(), "active", "", version, false};
  const auto created = co_await db.transaction([&](db::Connection& c) {
    if (version == 1) {
      const auto taken = c.query("SELECT 1 FROM keys WHERE account_id = $1 AND name = $2", {account, name});
      if (!taken.empty()) return std::string();
    } else {
      c.query("UPDATE keys SET status = 'retired' WHERE id = $1 AND account_id = $2 AND version < $3", {id, account, version});
    }
    c.query("INSERT INTO keys (id, version, account_id, name, kind, sealed, public_key, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active')",
            {id, version, account, name, kind, row.sealed_hex, row.public_hex});
    return c.query("SELECT created_at FROM keys WHERE id = $1 AND version = $2", {id, version}).get<std::string>(0, 0);
  });
  if (created.empty()) throw RequestError(ErrorKind::conflict, "a key named " + name + " exists already").with_field("name", "is taken");
  row.created_at = created;
  co_return describe(row);
}

}  // namespace

void add_routes(http::Router& router, db::Database& db, enclave::EnclaveClient& enclave) {
  router.add({http::Verb::post, "/v1/keys", "keys", "keys:create",
              [&db, &enclave](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto body = body_of(ctx);
                auto out = co_await store_key(db, enclave, ctx.principal->account_id, random_uuid(), 1, valid_name(body),
                                              kind_of(body), std::nullopt);
                co_return http::json_response(201, out.dump());
              }});
  router.add({http::Verb::post, "/v1/keys/import", "keys", "keys:import",
              [&db, &enclave](http::Context& ctx) -> asio::awaitable<http::Response> {
                auto body = body_of(ctx);
                const auto kind = kind_of(body);
                auto given = text(body, "private_key", 200);
                std::optional<Bytes> key = crypto::from_hex(given);
                if (!key && kind == "secp256r1") key = chain::neo::decode_wif(given);
                crypto::wipe(given.data(), given.size());
                body["private_key"] = nullptr;
                if (!key || key->size() != 32) throw field_error("private_key", "must be 32 bytes of hex (or a WIF for secp256r1)");
                auto out = co_await store_key(db, enclave, ctx.principal->account_id, random_uuid(), 1, valid_name(body), kind,
                                              std::move(key));
                co_return http::json_response(201, out.dump());
              }});
  router.add({http::Verb::get, "/v1/keys", "keys", "keys:read",
              [&db](http::Context& ctx) -> asio::awaitable<http::Response> {
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
              [&db](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto k = co_await current(db, ctx.principal->account_id, std::string(ctx.param("id")));
                co_return http::json_response(200, describe(k).dump());
              }});
  auto sign = [&db, &enclave](bool message) {
    return [&db, &enclave, message](http::Context& ctx) -> asio::awaitable<http::Response> {
      const auto body = body_of(ctx);
      const auto& account = ctx.principal->account_id;
      const auto k = co_await current(db, account, std::string(ctx.param("id")));
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
      const auto s = co_await enclave.sign(sealed(account, k), std::move(payload));
      co_return http::json_response(200, signature_json(k.kind, s).dump());
    };
  };
  router.add({http::Verb::post, "/v1/keys/{id}/sign", "keys", "keys:sign", sign(false)});
  router.add({http::Verb::post, "/v1/keys/{id}/sign-message", "keys", "keys:sign", sign(true)});
  router.add({http::Verb::post, "/v1/keys/{id}/verify", "keys", "keys:read",
              [&db](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto body = body_of(ctx);
                const auto k = co_await current(db, ctx.principal->account_id, std::string(ctx.param("id")));
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
              [&db, &enclave](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto k = co_await current(db, ctx.principal->account_id, std::string(ctx.param("id")));
                auto out = co_await store_key(db, enclave, ctx.principal->account_id, k.id, k.version + 1, k.name, k.kind,
                                              std::nullopt);
                co_return http::json_response(200, out.dump());
              }});
  router.add({http::Verb::post, "/v1/keys/{id}/disable", "keys", "keys:create",
              [&db](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto k = co_await current(db, ctx.principal->account_id, std::string(ctx.param("id")));
                co_await db.run([&](db::Connection& c) {
                  c.query("UPDATE keys SET status = 'disabled' WHERE id = $1 AND version = $2", {k.id, k.version});
                });
                auto row = k;
                row.status = "disabled";
                co_return http::json_response(200, describe(row).dump());
              }});
  router.add({http::Verb::delete_, "/v1/keys/{id}", "keys", "keys:create",
              [&db](http::Context& ctx) -> asio::awaitable<http::Response> {
                const std::string id(ctx.param("id"));
                const auto removed = co_await db.run([&](db::Connection& c) {
                  return c.query("DELETE FROM keys WHERE id = $1 AND account_id = $2", {id, ctx.principal->account_id}).affected;
                });
                if (removed == 0) throw NotFound("no key " + id);
                co_return no_content();
              }});
}

}  // namespace nsl::services::keys
