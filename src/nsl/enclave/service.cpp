#include "nsl/enclave/service.hpp"

#include <chrono>
#include <cstring>
#include <ctime>

#include "nsl/crypto/hash.hpp"
#include "nsl/crypto/key_wrap.hpp"
#include "nsl/crypto/p256.hpp"
#include "nsl/crypto/secp256k1.hpp"
#include "nsl/crypto/symmetric.hpp"
#include "nsl/enclave/attestation.hpp"
#include "nsl/enclave/protocol.hpp"

namespace nsl::enclave {
namespace {

using crypto::Bytes;
using nlohmann::json;

constexpr std::size_t kMaxRef = 256;
constexpr std::size_t kMaxMessage = 64 * 1024;
constexpr std::size_t kMaxSecret = 256 * 1024;
constexpr std::size_t kMaxData = 1024 * 1024 + 1024;  // a storage value (1 MB) and its JSON framing

// A key blob's clear content: kind | flags | 32-byte private key.
enum class Kind : std::uint8_t { secp256r1 = 1, secp256k1 = 2, ed25519 = 3 };
constexpr std::uint8_t kExportable = 1;

[[noreturn]] void bad(const std::string& message) { throw EnclaveError("bad_request", message); }

const std::string& string_field(const json& r, const char* name, std::size_t max) {
  const auto it = r.find(name);
  if (it == r.end() || !it->is_string()) bad(std::string("\"") + name + "\" must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max) bad(std::string("\"") + name + "\" is longer than " + std::to_string(max) + " characters");
  return s;
}

Bytes hex_field(const json& r, const char* name, std::size_t max_bytes) {
  const auto& s = string_field(r, name, max_bytes * 2);
  auto b = crypto::from_hex(s);
  if (!b) bad(std::string("\"") + name + "\" must be hex");
  return std::move(*b);
}

Kind kind_field(const json& r) {
  const auto& k = string_field(r, "kind", 16);
  if (k == "secp256r1") return Kind::secp256r1;
  if (k == "secp256k1") return Kind::secp256k1;
  if (k == "ed25519") return Kind::ed25519;
  bad("\"kind\" must be secp256r1, secp256k1 or ed25519");
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::secp256r1:
      return "secp256r1";
    case Kind::secp256k1:
      return "secp256k1";
    case Kind::ed25519:
      return "ed25519";
  }
  return "";
}

// The record a key blob is bound to: its kind and the server's reference (tenant, name, version).
Bytes key_aad(Kind kind, const std::string& ref) {
  const std::string text = std::string("key:") + kind_name(kind) + ":" + ref;
  return Bytes(text.begin(), text.end());
}

bool valid_private(Kind kind, crypto::ByteView key) {
  switch (kind) {
    case Kind::secp256r1:
      return crypto::p256::is_valid_private_key(key);
    case Kind::secp256k1:
      return crypto::secp256k1::is_valid_private_key(key);
    case Kind::ed25519:
      return key.size() == 32;
  }
  return false;
}

Bytes public_of(Kind kind, crypto::ByteView key) {
  switch (kind) {
    case Kind::secp256r1: {
      const auto p = crypto::p256::public_key(key);
      return Bytes(p.begin(), p.end());
    }
    case Kind::secp256k1: {
      const auto p = crypto::secp256k1::public_key(key);
      return Bytes(p.begin(), p.end());
    }
    case Kind::ed25519: {
      const auto p = crypto::ed25519::public_key(key);
      return Bytes(p.begin(), p.end());
    }
  }
  return {};
}

// Secret material in the clear (a key blob, a data key, a secret value): in locked memory, wiped
// when freed. Bytes handed in (parsed from a request, unwrapped) are copied in and wiped.
struct Clear {
  crypto::LockedBytes bytes;
  Clear() = default;
  explicit Clear(crypto::LockedBytes b) : bytes(std::move(b)) {}
  explicit Clear(Bytes&& b) : bytes(b.begin(), b.end()) { crypto::wipe(b.data(), b.size()); }
  crypto::ByteView key() const { return crypto::ByteView(bytes).subspan(2); }
};

// A stored value in the clear (up to kMaxData, on its way in or out of the enclave): wiped when
// it goes out of scope, in ordinary memory (the secure heap is sized for keys and secrets).
struct Wiped {
  Bytes bytes;
  ~Wiped() { crypto::wipe(bytes.data(), bytes.size()); }
};

Clear open_key(const Sealer& sealer, Kind kind, const std::string& ref, crypto::ByteView blob) {
  Clear clear{sealer.open(Purpose::key, key_aad(kind, ref), blob)};
  if (clear.bytes.size() != 34 || clear.bytes[0] != static_cast<std::uint8_t>(kind)) {
    throw EnclaveError("invalid_key", "the sealed key is not a " + std::string(kind_name(kind)) + " key");
  }
  return clear;
}

json sealed_key(const Sealer& sealer, Kind kind, const std::string& ref, crypto::ByteView key, bool exportable) {
  Clear clear{Bytes{static_cast<std::uint8_t>(kind), static_cast<std::uint8_t>(exportable ? kExportable : 0)}};
  clear.bytes.insert(clear.bytes.end(), key.begin(), key.end());
  const auto blob = sealer.seal(Purpose::key, key_aad(kind, ref), clear.bytes);
  return {{"ok", true},
          {"sealed", crypto::to_hex(blob)},
          {"public_key", crypto::to_hex(public_of(kind, key))},
          {"root_id", crypto::to_hex(*Sealer::root_of(blob))}};
}

// What rewrap may re-seal: any purpose.
Purpose rewrap_purpose(const json& r) {
  const auto& p = string_field(r, "purpose", 16);
  if (p == "secret") return Purpose::secret;
  if (p == "data_key") return Purpose::data_key;
  if (p == "key") return Purpose::key;
  bad("\"purpose\" must be key, secret or data_key");
}

Purpose secret_purpose(const json& r) {
  if (string_field(r, "purpose", 16) != "secret") bad("\"purpose\" must be secret: keys and data keys never leave in the clear");
  return Purpose::secret;
}

std::string now_iso() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// A P-256 key derived from the newest root for one use ("attestation", "jwt"): stable across
// restarts and replicas that share the root, changed when the root is rotated.
crypto::LockedBytes derived_p256_key(const Sealer& sealer, std::string_view label) {
  const auto seed = sealer.derive(label);
  crypto::LockedBytes key(seed->view().begin(), seed->view().end());
  while (!crypto::p256::is_valid_private_key(key)) {
    auto h = crypto::sha256(key);
    key.assign(h.begin(), h.end());
    crypto::wipe(h.data(), h.size());
  }
  return key;
}

crypto::key_wrap::Wrapped wrapped_of(const json& r, Kind kind) {
  const auto it = r.find("wrapped");
  return wrapped_from_json(it == r.end() ? json() : *it, kind_name(kind));
}

}  // namespace

EnclaveService::EnclaveService(Sealer& sealer, Identity identity) : sealer_(sealer), identity_(std::move(identity)) {}

json EnclaveService::handle(const json& request) {
  try {
    if (!request.is_object()) bad("a request must be a JSON object");
    return dispatch(request);
  } catch (const EnclaveError& e) {
    return {{"ok", false}, {"error", {{"code", e.code()}, {"message", e.what()}}}};
  } catch (const std::invalid_argument& e) {
    return {{"ok", false}, {"error", {{"code", "bad_request"}, {"message", e.what()}}}};
  } catch (const std::exception& e) {
    return {{"ok", false}, {"error", {{"code", "internal"}, {"message", e.what()}}}};
  }
}

namespace {

struct Signed {
  Bytes signature;
  int recovery_id = -1;
};

// The one signing step behind {"op":"sign"} and 'S' items; `payload` is the digest (ECDSA) or
// the message (Ed25519).
Signed sign_with(const Sealer& sealer, Kind kind, const std::string& ref, crypto::ByteView sealed, crypto::ByteView payload) {
  const auto clear = open_key(sealer, kind, ref, sealed);
  Signed out;
  switch (kind) {
    case Kind::secp256r1:
    case Kind::secp256k1: {
      if (payload.size() != 32) bad("\"digest\" must be 32 bytes");
      crypto::Hash256 d{};
      std::copy(payload.begin(), payload.end(), d.begin());
      if (kind == Kind::secp256r1) {
        const auto sig = crypto::p256::sign_digest(clear.key(), d);
        out.signature.assign(sig.begin(), sig.end());
      } else {
        const auto sig = crypto::secp256k1::sign(clear.key(), d);
        out.signature.assign(sig.r.begin(), sig.r.end());
        out.signature.insert(out.signature.end(), sig.s.begin(), sig.s.end());
        out.recovery_id = sig.recovery_id;
      }
      return out;
    }
    case Kind::ed25519: {
      const auto sig = crypto::ed25519::sign(clear.key(), payload);
      out.signature.assign(sig.begin(), sig.end());
      return out;
    }
  }
  bad("unknown kind");
}

// data_encrypt (nonce | ciphertext | tag out) and data_decrypt, behind the JSON operations and
// 'E' / 'D' items, under the tenant's data key.
Bytes data_crypt(const Sealer& sealer, bool encrypt, crypto::ByteView tenant, crypto::ByteView sealed_key, crypto::ByteView aad,
                 crypto::ByteView data) {
  if (tenant.size() > kMaxRef) bad("\"tenant\" is longer than " + std::to_string(kMaxRef) + " bytes");
  if (aad.size() > kMaxRef) bad("\"aad\" is longer than " + std::to_string(kMaxRef) + " bytes");
  if (sealed_key.size() > 1024) bad("\"sealed_key\" is longer than 1024 bytes");
  if (data.size() > kMaxData + (encrypt ? 0 : 64)) bad("the value is longer than " + std::to_string(kMaxData) + " bytes");
  Clear key{sealer.open(Purpose::data_key, tenant, sealed_key)};
  if (encrypt) {
    auto out = crypto::random_bytes(crypto::aes256gcm::kNonceSize);
    const auto sealed = crypto::aes256gcm::seal(key.bytes, out, aad, data);
    out.insert(out.end(), sealed.begin(), sealed.end());
    return out;
  }
  if (data.size() < crypto::aes256gcm::kNonceSize + crypto::aes256gcm::kTagSize) {
    throw EnclaveError("decrypt_failed", "the ciphertext is too short");
  }
  auto plain = crypto::aes256gcm::open(key.bytes, data.first(crypto::aes256gcm::kNonceSize), aad,
                                       data.subspan(crypto::aes256gcm::kNonceSize));
  if (!plain) throw EnclaveError("decrypt_failed", "the ciphertext does not verify under this tenant's key and record");
  return std::move(*plain);
}

json refusal(const std::string& code, const std::string& message) {
  return {{"ok", false}, {"error", {{"code", code}, {"message", message}}}};
}

}  // namespace

json EnclaveService::sign_one(const json& r) {
  const auto kind = kind_field(r);
  const auto& ref = string_field(r, "key_ref", kMaxRef);
  const auto blob = hex_field(r, "sealed", 1024);
  const auto payload = kind == Kind::ed25519 ? hex_field(r, "message", kMaxMessage) : hex_field(r, "digest", 32);
  const auto s = sign_with(sealer_, kind, ref, blob, payload);
  json out{{"ok", true}, {"signature", crypto::to_hex(s.signature)}};
  if (s.recovery_id >= 0) out["recovery_id"] = s.recovery_id;
  return out;
}

std::string EnclaveService::handle_items(std::string_view frame) {
  try {
    ItemsReader in(frame);
    ItemsWriter out(frame.size() / 2 + 64);
    while (!in.done()) {
      const auto item = in.next();
      if (item.type == 'J') {
        const auto request = json::parse(item.json, nullptr, false);
        const auto op = request.is_object() ? request.value("op", std::string()) : std::string();
        if (request.is_discarded()) {
          out.json(refusal("bad_request", "the request is not JSON").dump());
        } else if (op == "batch" || op == "sign_batch") {
          out.json(refusal("bad_request", "batches do not nest").dump());
        } else {
          out.json(handle(request).dump());
        }
        continue;
      }
      if (item.type != 'S' && item.type != 'E' && item.type != 'D') {
        out.json(refusal("bad_request", "a request item must be 'J', 'S', 'E' or 'D'").dump());
        continue;
      }
      const auto bytes = [](std::string_view v) {
        return crypto::ByteView(reinterpret_cast<const std::uint8_t*>(v.data()), v.size());
      };
      try {
        if (item.type != 'S') {
          const auto& f = item.data;
          Wiped result{data_crypt(sealer_, item.type == 'E', bytes(f.tenant), bytes(f.sealed_key), bytes(f.aad), bytes(f.data))};
          out.bytes(std::string_view(reinterpret_cast<const char*>(result.bytes.data()), result.bytes.size()));
          continue;
        }
        const auto& f = item.sign;
        if (f.kind < 1 || f.kind > 3) bad("\"kind\" must be secp256r1, secp256k1 or ed25519");
        if (f.key_ref.size() > kMaxRef) bad("\"key_ref\" is longer than " + std::to_string(kMaxRef) + " characters");
        if (f.sealed.size() > 1024) bad("\"sealed\" is longer than 1024 bytes");
        if (f.payload.size() > kMaxMessage) bad("\"message\" is longer than " + std::to_string(kMaxMessage) + " bytes");
        const auto s = sign_with(sealer_, static_cast<Kind>(f.kind), std::string(f.key_ref), bytes(f.sealed), bytes(f.payload));
        out.signature(std::string_view(reinterpret_cast<const char*>(s.signature.data()), s.signature.size()), s.recovery_id);
      } catch (const EnclaveError& e) {
        out.json(refusal(e.code(), e.what()).dump());
      } catch (const std::invalid_argument& e) {
        out.json(refusal("bad_request", e.what()).dump());
      } catch (const std::exception& e) {
        out.json(refusal("internal", e.what()).dump());
      }
    }
    return out.finish();
  } catch (const std::invalid_argument& e) {
    return refusal("bad_request", e.what()).dump();
  } catch (const std::exception& e) {
    return refusal("internal", e.what()).dump();
  }
}

json EnclaveService::public_keys() {
  json out = json::object();
  // The keys a relying party checks the service's work with: attestation signs reports, jwt the
  // server's ES256 access tokens, transport is what keys are wrapped for on their way in.
  for (const char* purpose : {"attestation", "jwt", "transport"}) {
    auto key = derived_p256_key(sealer_, purpose);
    out[purpose] = crypto::to_hex(crypto::p256::public_key(key));
    crypto::wipe(key.data(), key.size());
  }
  return out;
}

json EnclaveService::memory() const {
  const auto heap = crypto::secure_heap();
  return {{"locked", heap.locked && sealer_.locked()},
          {"secure_heap_bytes", heap.size},
          {"secure_heap_used", heap.used},
          {"fallbacks", heap.fallbacks}};
}

json EnclaveService::attest(const json& r) {
  const auto nonce = hex_field(r, "nonce", 64);
  if (nonce.size() < 16) bad("\"nonce\" must be 16 to 64 bytes");
  auto key = derived_p256_key(sealer_, "attestation");
  json report = {{"version", 1},
                 {"mode", identity_.mode},
                 {"measurement", identity_.measurement},
                 {"nonce", crypto::to_hex(nonce)},
                 {"time", now_iso()},
                 {"root_id", crypto::to_hex(sealer_.current_root())},
                 {"public_keys", public_keys()}};
  const auto signature = crypto::p256::sign(key, attestation_signing_bytes(report));
  crypto::wipe(key.data(), key.size());
  return {{"ok", true}, {"report", report}, {"signature", crypto::to_hex(signature)}};
}

json EnclaveService::dispatch(const json& r) {
  const auto& op = string_field(r, "op", 32);
  if (op == "info") {
    return {{"ok", true},
            {"mode", identity_.mode},
            {"measurement", identity_.measurement},
            {"protocol", kProtocolVersion},
            {"root_id", crypto::to_hex(sealer_.current_root())},
            {"public_keys", public_keys()},
            {"memory", memory()}};
  }
  if (op == "create_key") {
    const auto kind = kind_field(r);
    const auto& ref = string_field(r, "key_ref", kMaxRef);
    Clear fresh;
    do {
      fresh.bytes = crypto::random_locked(32);
    } while (!valid_private(kind, fresh.bytes));
    return sealed_key(sealer_, kind, ref, fresh.bytes, r.value("exportable", false));
  }
  if (op == "import_key") {
    const auto kind = kind_field(r);
    const auto& ref = string_field(r, "key_ref", kMaxRef);
    Clear given{hex_field(r, "private_key", 32)};
    if (!valid_private(kind, given.bytes))
      throw EnclaveError("invalid_key", std::string("not a valid ") + kind_name(kind) + " private key");
    return sealed_key(sealer_, kind, ref, given.bytes, r.value("exportable", false));
  }
  // Moving keys between enclaves (or in from an operator's wallet): wrapped under the enclave's
  // transport key, a P-256 key derived from the newest root, so the clear key crosses no process
  // boundary. Keys created exportable leave the same way, wrapped for a recipient's key.
  if (op == "transport_key") {
    auto key = derived_p256_key(sealer_, "transport");
    const auto pub = crypto::p256::public_key(key);
    crypto::wipe(key.data(), key.size());
    return {{"ok", true},
            {"public_key", crypto::to_hex(pub)},
            {"format", crypto::key_wrap::kFormat},
            {"root_id", crypto::to_hex(sealer_.current_root())}};
  }
  if (op == "import_wrapped") {
    const auto kind = kind_field(r);
    const auto& ref = string_field(r, "key_ref", kMaxRef);
    const auto wrapped = wrapped_of(r, kind);
    auto transport = derived_p256_key(sealer_, "transport");
    auto unwrapped = crypto::key_wrap::unwrap(transport, wrapped);
    crypto::wipe(transport.data(), transport.size());
    if (!unwrapped) {
      throw EnclaveError("invalid_key",
                         "the wrapped key does not open under this enclave's transport key "
                         "(wrapped for another key, for another kind, or changed)");
    }
    Clear given{std::move(*unwrapped)};
    if (!valid_private(kind, given.bytes))
      throw EnclaveError("invalid_key", std::string("not a valid ") + kind_name(kind) + " private key");
    return sealed_key(sealer_, kind, ref, given.bytes, r.value("exportable", false));
  }
  if (op == "export_key") {
    const auto kind = kind_field(r);
    const auto clear = open_key(sealer_, kind, string_field(r, "key_ref", kMaxRef), hex_field(r, "sealed", 1024));
    if ((clear.bytes[1] & kExportable) == 0) throw EnclaveError("not_exportable", "the key was not created exportable");
    const auto recipient = hex_field(r, "recipient", 65);
    if (!crypto::p256::is_valid_public_key(recipient)) bad("\"recipient\" must be a P-256 public key");
    return {{"ok", true}, {"wrapped", wrapped_to_json(crypto::key_wrap::wrap(recipient, kind_name(kind), clear.key()))}};
  }
  if (op == "public_key") {
    const auto kind = kind_field(r);
    const auto clear = open_key(sealer_, kind, string_field(r, "key_ref", kMaxRef), hex_field(r, "sealed", 1024));
    return {{"ok", true},
            {"public_key", crypto::to_hex(public_of(kind, clear.key()))},
            {"exportable", (clear.bytes[1] & kExportable) != 0}};
  }
  if (op == "sign") return sign_one(r);
  // Several requests in one frame (the server batches whatever its callers sent meanwhile); each
  // has its own answer. "sign_batch" is the older name of the same operation.
  if (op == "batch" || op == "sign_batch") {
    const auto it = r.find("items");
    if (it == r.end() || !it->is_array()) bad("\"items\" must be an array");
    if (it->size() > kMaxItems) bad("\"items\" holds more than " + std::to_string(kMaxItems) + " requests");
    json results = json::array();
    for (const auto& item : *it) {
      const auto inner = item.is_object() ? item.value("op", std::string()) : std::string();
      if (inner == "batch" || inner == "sign_batch") {
        results.push_back({{"ok", false}, {"error", {{"code", "bad_request"}, {"message", "batches do not nest"}}}});
        continue;
      }
      results.push_back(handle(item.is_object() ? item : json(nullptr)));
    }
    return {{"ok", true}, {"results", std::move(results)}};
  }
  // Secret values only: data keys are made by data_key_create and used in here, and keys by the
  // key operations; neither is sealed from, or opened to, the outside in the clear.
  if (op == "seal") {
    const auto purpose = secret_purpose(r);
    const auto aad = hex_field(r, "aad", kMaxRef);
    Clear plain{hex_field(r, "plaintext", kMaxSecret)};
    return {{"ok", true}, {"sealed", crypto::to_hex(sealer_.seal(purpose, aad, plain.bytes))}};
  }
  if (op == "open") {
    const auto purpose = secret_purpose(r);
    Clear plain{sealer_.open(purpose, hex_field(r, "aad", kMaxRef), hex_field(r, "sealed", kMaxSecret + 64))};
    return {{"ok", true}, {"plaintext", crypto::to_hex(plain.bytes)}};
  }
  // Per-tenant data keys: created and used only in here; the server stores them sealed (purpose
  // data_key, bound to the tenant) and sends values in and out for one request at a time.
  if (op == "data_key_create") {
    const auto tenant = hex_field(r, "tenant", kMaxRef);
    Clear key{crypto::random_locked(crypto::aes256gcm::kKeySize)};
    return {{"ok", true}, {"sealed", crypto::to_hex(sealer_.seal(Purpose::data_key, tenant, key.bytes))}};
  }
  if (op == "data_encrypt" || op == "data_decrypt") {
    const auto tenant = hex_field(r, "tenant", kMaxRef);
    const auto sealed_key = hex_field(r, "sealed_key", 1024);
    const auto aad = hex_field(r, "aad", kMaxRef);
    if (op == "data_encrypt") {
      Wiped plain{hex_field(r, "plaintext", kMaxData)};
      return {{"ok", true}, {"ciphertext", crypto::to_hex(data_crypt(sealer_, true, tenant, sealed_key, aad, plain.bytes))}};
    }
    const auto data = hex_field(r, "ciphertext", kMaxData + 64);
    Wiped clear{data_crypt(sealer_, false, tenant, sealed_key, aad, data)};
    return {{"ok", true}, {"plaintext", crypto::to_hex(clear.bytes)}};
  }
  if (op == "rewrap") {
    // Keys are named by kind and reference; other blobs by their associated data.
    const auto purpose = rewrap_purpose(r);
    const auto aad =
        purpose == Purpose::key ? key_aad(kind_field(r), string_field(r, "key_ref", kMaxRef)) : hex_field(r, "aad", kMaxRef);
    const auto blob = sealer_.rewrap(purpose, aad, hex_field(r, "sealed", kMaxSecret + 64));
    return {{"ok", true}, {"sealed", crypto::to_hex(blob)}, {"root_id", crypto::to_hex(*Sealer::root_of(blob))}};
  }
  if (op == "rotate_root") return {{"ok", true}, {"root_id", crypto::to_hex(sealer_.rotate())}};
  if (op == "attest") return attest(r);
  if (op == "jwt_public_key" || op == "jwt_sign") {
    // The key that signs the server's ES256 access tokens: the server verifies with the public
    // key and never holds the private one.
    auto key = derived_p256_key(sealer_, "jwt");
    json out{{"ok", true}};
    if (op == "jwt_public_key") {
      out["public_key"] = crypto::to_hex(crypto::p256::public_key(key));
    } else {
      const auto& input = string_field(r, "input", 8192);
      out["signature"] = crypto::to_hex(crypto::p256::sign(key, crypto::as_bytes(input)));
    }
    crypto::wipe(key.data(), key.size());
    return out;
  }
  throw EnclaveError("unknown_op", "unknown operation \"" + op + "\"");
}

}  // namespace nsl::enclave
