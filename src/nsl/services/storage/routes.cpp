// The Storage routes: each parses its request, calls the StorageService (storage.hpp) and renders
// the answer. The table below is every route of the service.
#include "nsl/services/storage/routes.hpp"

#include <nlohmann/json.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/core/strings.hpp"
#include "nsl/services/common/fields.hpp"
#include "nsl/services/common/route_table.hpp"

namespace nsl::services::storage {
namespace {

using http::Context;
using http::Response;
using http::Verb;
using nlohmann::json;

constexpr std::size_t kMaxValueBytes = 1048576;  // guide §7.2.2: 1 MB
constexpr std::size_t kMaxMetadataBytes = 16 * 1024;
constexpr std::int64_t kMaxTtlSeconds = 10LL * 365 * 86400;
constexpr std::size_t kMaxShared = 100;

class Routes {
 public:
  explicit Routes(StorageService& storage) : storage_(storage) {}
  asio::awaitable<Response> export_owner(Context& ctx);
  asio::awaitable<Response> erase_owner(Context& ctx);
  asio::awaitable<Response> compliance(Context& ctx);
  asio::awaitable<Response> store(Context& ctx);
  asio::awaitable<Response> read(Context& ctx);
  asio::awaitable<Response> metadata(Context& ctx);
  asio::awaitable<Response> list(Context& ctx);
  asio::awaitable<Response> remove(Context& ctx);
  asio::awaitable<Response> share(Context& ctx);

 private:
  StorageService& storage_;
};

// The JSON Schemas of the OpenAPI operations.
constexpr const char* kChainKeyFields = R"js("key": {"type": "string"}, "owner": {"type": "string"},
  "chain": {"enum": ["neo-n3", "neo-x"]})js";
const std::string kFields = std::string(kChainKeyFields) + R"js(, "access_level": {"enum": ["private", "shared", "public"]},
  "created_at": {"type": "string"}, "updated_at": {"type": "string"}, "encrypted": {"type": "boolean"},
  "expires_at": {"type": ["string", "null"]}, "metadata": {"type": ["object", "null"]},
  "size_bytes": {"type": "integer", "minimum": 0}, "shared_with": {"type": "array", "items": {"type": "string"}})js";
const std::string kRead = R"js({"type": "object", "required": ["key", "owner", "chain", "value"], "properties": {)js" + kFields +
                          R"js(, "value": {}}})js";
const std::string kMetadata = R"js({"type": "object", "required": ["key", "owner", "chain"], "properties": {)js" + kFields +
                              R"js(, "accessed_count": {"type": "integer"}, "last_accessed": {"type": ["string", "null"]}}})js";
constexpr const char* kStore = R"js({"type": "object", "required": ["key", "value"], "properties": {
  "key": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[A-Za-z0-9:_-]+$"},
  "value": {"not": {"type": "null"}, "description": "any JSON value but null, at most 1 MB as sent"},
  "encrypted": {"type": "boolean"}, "access_level": {"enum": ["private", "shared", "public"]},
  "principals": {"type": "array", "maxItems": 100, "items": {"type": "string", "minLength": 1, "maxLength": 128}},
  "ttl_seconds": {"type": "integer", "minimum": 1, "maximum": 315360000}, "metadata": {"type": ["object", "null"]}}})js";
constexpr const char* kStored = R"js({"type": "object",
  "required": ["key", "owner", "chain", "size_bytes", "encrypted", "created", "updated_at", "expires_at"],
  "properties": {"key": {"type": "string"}, "owner": {"type": "string"}, "chain": {"type": "string"},
    "size_bytes": {"type": "integer"}, "encrypted": {"type": "boolean"}, "created": {"type": "boolean"},
    "updated_at": {"type": "string"}, "expires_at": {"type": ["string", "null"]}}})js";
constexpr const char* kList = R"js({"type": "object", "required": ["owner", "items"], "properties": {
  "owner": {"type": "string"}, "next_cursor": {"type": "string"},
  "items": {"type": "array", "items": {"type": "object",
    "required": ["key", "size_bytes", "encrypted", "access_level", "created_at", "updated_at", "expires_at"]}}}})js";
constexpr const char* kShare = R"js({"type": "object", "required": ["access_level"], "properties": {
  "access_level": {"enum": ["private", "shared", "public"]},
  "principals": {"type": "array", "maxItems": 100, "items": {"type": "string", "minLength": 1, "maxLength": 128}}},
  "if": {"properties": {"access_level": {"const": "shared"}}},
  "then": {"required": ["principals"], "properties": {"principals": {"minItems": 1}}}})js";
constexpr const char* kShared = R"js({"type": "object", "required": ["key", "owner", "access_level", "shared_with"],
  "properties": {"key": {"type": "string"}, "owner": {"type": "string"}, "access_level": {"type": "string"},
    "shared_with": {"type": "array"}}})js";
constexpr const char* kExport = R"js({"type": "object", "required": ["owner", "exported_at", "items"], "properties": {
  "owner": {"type": "string"}, "exported_at": {"type": "string"}, "items": {"type": "array", "items": {"type": "object",
    "required": ["key", "value", "encrypted", "access_level", "size_bytes", "created_at", "updated_at", "accessed_count"]}}}})js";
constexpr const char* kErased = R"js({"type": "object", "required": ["owner", "entries_erased", "erased_at"], "properties": {
  "owner": {"type": "string"}, "entries_erased": {"type": "integer"}, "erased_at": {"type": "string"}}})js";
constexpr const char* kCompliance = R"js({"type": "object", "required": ["generated_at", "owner", "rows"], "properties": {
  "generated_at": {"type": "string"}, "owner": {"type": ["string", "null"]}, "rows": {"type": "array", "items": {
    "type": "object", "required": ["data_type", "record_count", "encrypted_count", "old_records"]}}}})js";
const std::vector<std::pair<std::string, std::string>> kChainKey = {
    {"chain", R"js({"enum": ["neo-n3", "neo-x"]})js"},
    {"key", R"js({"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[A-Za-z0-9:_-]+$"})js"}};
constexpr const char* kOwnerQuery = R"js({"type": "string", "minLength": 1, "maxLength": 42, "pattern": "^[A-Za-z0-9:-]+$",
  "description": "a Neo N3 or Neo X address, or <chain>:<account id without dashes>"})js";
const std::vector<std::pair<std::string, std::string>> kOwnerPath = {{"owner", kOwnerQuery}};

// First: these literal paths take precedence over /v1/storage/{chain}/{key}.
const RouteRow<Routes> kRoutes[] = {
    {Verb::get,
     "/v1/storage/admin/users/{owner}/export",
     "storage:export",
     &Routes::export_owner,
     {.summary = "Export every entry of one owner, values in clear (guide §17.2)",
      .path = kOwnerPath,
      .responses = {{200, kExport}}}},
    {Verb::delete_,
     "/v1/storage/admin/users/{owner}",
     "storage:erase",
     &Routes::erase_owner,
     {.summary = "Erase one owner's entries and data key (right to be forgotten)",
      .path = kOwnerPath,
      .responses = {{200, kErased}}}},
    {Verb::get,
     "/v1/storage/admin/compliance-report",
     "storage:report",
     &Routes::compliance,
     {.summary = "Record counts and records past retention (guide §17.2)",
      .responses = {{200, kCompliance}},
      .query = {{"owner", kOwnerQuery}}}},
    {Verb::post,
     "/v1/storage/store/{chain}",
     "storage:write",
     &Routes::store,
     {.summary = "Create or replace an entry",
      .path = kChainKey,
      .request = kStore,
      .responses = {{200, kStored}},
      .errors = {409}}},
    {Verb::get,
     "/v1/storage/{chain}/{key}",
     "storage:read",
     &Routes::read,
     {.summary = "An entry and its value (the caller's, or another owner's shared or public one)",
      .path = kChainKey,
      .responses = {{200, kRead}},
      .query = {{"owner", kOwnerQuery}},
      .errors = {404}}},
    {Verb::get,
     "/v1/storage/{chain}/{key}/metadata",
     "storage:read",
     &Routes::metadata,
     {.summary = "An entry without its value, with its read counts",
      .path = kChainKey,
      .responses = {{200, kMetadata}},
      .query = {{"owner", kOwnerQuery}},
      .errors = {404}}},
    {Verb::get,
     "/v1/storage/{chain}",
     "storage:read",
     &Routes::list,
     {.summary = "The caller's entries, newest first",
      .path = kChainKey,
      .responses = {{200, kList}},
      .query = {{"prefix", R"js({"type": "string", "maxLength": 256, "pattern": "^[A-Za-z0-9:_-]*$"})js"},
                {"limit", R"js({"type": "integer", "minimum": 1, "maximum": 1000})js"},
                {"cursor", R"js({"type": "string", "maxLength": 1024,
                  "description": "the next_cursor of the previous page, as given"})js"}}}},
    {Verb::delete_,
     "/v1/storage/{chain}/{key}",
     "storage:write",
     &Routes::remove,
     {.summary = "Delete an entry", .path = kChainKey, .responses = {{204, ""}}, .errors = {404}}},
    {Verb::post,
     "/v1/storage/{chain}/{key}/share",
     "storage:write",
     &Routes::share,
     {.summary = "Set who may read an entry",
      .path = kChainKey,
      .request = kShare,
      .responses = {{200, kShared}},
      .errors = {404}}},
};

// --- request fields ---

// Guide §7.2.2: not empty, at most 256 characters, ^[a-zA-Z0-9:_-]+$.
std::string valid_key(std::string_view key, const char* field = "key") {
  if (key.empty()) throw field_error(field, "must not be empty");
  if (key.size() > 256) throw field_error(field, "must be at most 256 characters");
  for (const char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != ':' && c != '_' && c != '-') {
      throw field_error(field, "Key must be alphanumeric with colons, underscores, and hyphens only");
    }
  }
  return std::string(key);
}

std::string valid_chain(std::string_view chain) {
  if (chain != "neo-n3" && chain != "neo-x") throw field_error("chain", "must be neo-n3 or neo-x");
  return std::string(chain);
}

// An owner as owner_of writes one: a Neo N3 or Neo X address, or "<chain>:<32 hex digits>".
std::string valid_owner(std::string_view owner) {
  if (owner.empty() || owner.size() > 42) throw field_error("owner", "must be 1 to 42 characters");
  for (const char c : owner) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != ':' && c != '-') {
      throw field_error("owner", "must be an address or <chain>:<account id> (letters, digits, : and -)");
    }
  }
  return std::string(owner);
}

std::string access_level_of(const json& v) {
  if (!v.is_string()) throw field_error("access_level", "must be private, shared or public");
  auto s = v.get<std::string>();
  if (s != "private" && s != "shared" && s != "public") throw field_error("access_level", "must be private, shared or public");
  return s;
}

json principals_of(const json& body) {
  const auto it = body.find("principals");
  if (it == body.end()) return json::array();
  if (!it->is_array() || it->size() > kMaxShared) throw field_error("principals", "must be an array of at most 100 names");
  for (const auto& p : *it) {
    if (!p.is_string() || p.get<std::string>().empty() || utf8_length(p.get<std::string>()) > 128) {
      throw field_error("principals", "must hold account names or addresses");
    }
  }
  return *it;
}

// The caller's owner string in a chain's address space: a wallet account's own address, or for
// an account known by name "<chain>:<account id without dashes>".
std::string owner_of(const http::Principal& p, const std::string& chain) {
  if (const auto space = http::address_space_of(p.name); space != http::AddressSpace::none) {
    const bool n3 = space == http::AddressSpace::neo_n3;
    if ((chain == "neo-n3") != n3) {
      throw RequestError(ErrorKind::forbidden, std::string("this account's address space is ") + (n3 ? "neo-n3" : "neo-x"));
    }
    return p.name;
  }
  std::string id;
  for (const char c : p.account_id) {
    if (c != '-') id.push_back(c);
  }
  return chain + ":" + id.substr(0, 32);
}

// The store request's optional fields: encrypted, access_level, principals, ttl_seconds, metadata.
void options_of(const json& body, std::string_view text, Put& put) {
  if (const auto e = body.find("encrypted"); e != body.end()) {
    if (!e->is_boolean()) throw field_error("encrypted", "must be true or false");
    put.encrypted = e->get<bool>();
  }
  if (body.contains("access_level")) put.level = access_level_of(body["access_level"]);
  const auto shared = principals_of(body);
  if (body.contains("principals")) put.principals = shared.dump();
  if (const auto t = body.find("ttl_seconds"); t != body.end()) {
    const auto seconds = whole_number(*t);
    if (!seconds || *seconds < 1 || *seconds > kMaxTtlSeconds) {
      throw field_error("ttl_seconds", "must be a whole number of seconds from 1 to 10 years");
    }
    put.expires_at = db::utc_now_text(std::chrono::seconds(*seconds));
  }
  if (const auto m = body.find("metadata"); m != body.end() && !m->is_null()) {
    if (!m->is_object()) throw field_error("metadata", "must be a JSON object");
    put.metadata = std::string(json_member_text(text, "metadata").value_or("{}"));
    if (put.metadata->size() > kMaxMetadataBytes) throw field_error("metadata", "must be at most 16 KiB");
  }
}

// What a read names: the chain, the key, the caller's own owner string and the owner asked for
// (?owner=, else the caller).
struct ReadTarget {
  std::string chain, key, mine, owner;
};

ReadTarget read_target(const Context& ctx) {
  ReadTarget t;
  t.chain = valid_chain(ctx.param("chain"));
  t.key = valid_key(ctx.param("key"));
  t.mine = owner_of(*ctx.principal, t.chain);
  const auto asked = ctx.query_param("owner");
  t.owner = asked && !asked->empty() ? *asked : t.mine;
  valid_owner(t.owner);
  return t;
}

// --- handlers ---

asio::awaitable<Response> Routes::export_owner(Context& ctx) {
  const std::string owner(ctx.param("owner"));
  ctx.acting_on = owner;
  valid_owner(owner);
  const auto rows = co_await storage_.export_owner(owner);
  // Written as text: values and metadata go out exactly as stored (no parse that would round
  // numbers beyond 64 bits).
  std::string items = "[";
  for (const auto& row : rows) {
    if (items.size() > 1) items += ',';
    items += JsonObjectText()
                 .add("key", row.key)
                 .add_raw("value", row.stored)
                 .add_raw("encrypted", row.encrypted ? "true" : "false")
                 .add("access_level", row.access_level)
                 .add_raw("size_bytes", std::to_string(row.size_bytes))
                 .add("created_at", row.created_at)
                 .add("updated_at", row.updated_at)
                 .add_raw("expires_at", row.expires_at ? json(*row.expires_at).dump() : "null")
                 .add_raw("metadata", row.metadata ? *row.metadata : "null")
                 .add_raw("accessed_count", std::to_string(row.accessed_count))
                 .finish();
  }
  items += ']';
  co_return http::json_response(
      200, JsonObjectText().add("owner", owner).add("exported_at", db::utc_now_text()).add_raw("items", items).finish());
}

asio::awaitable<Response> Routes::erase_owner(Context& ctx) {
  const std::string owner(ctx.param("owner"));
  ctx.acting_on = owner;
  valid_owner(owner);
  const auto removed = co_await storage_.erase_owner(owner, ctx.principal->account_id);
  json out{{"owner", owner}, {"entries_erased", removed}, {"erased_at", db::utc_now_text()}};
  co_return http::json_response(200, out.dump());
}

asio::awaitable<Response> Routes::compliance(Context& ctx) {
  const auto owner = ctx.query_param("owner");
  if (owner) valid_owner(*owner);
  const auto counts = co_await storage_.compliance(owner);
  const auto line = [](const char* type, const RecordCounts& c) {
    return json{{"data_type", type}, {"record_count", c.records}, {"encrypted_count", c.encrypted}, {"old_records", c.old}};
  };
  json out{{"generated_at", db::utc_now_text()},
           {"owner", owner ? json(*owner) : json(nullptr)},
           {"rows", json::array({line("Storage Data", counts.first), line("Audit Logs", counts.second)})}};
  co_return http::json_response(200, out.dump());
}

// Store: create or replace (guide §13.3: POST /v1/storage/store/neo-n3 {key, value, encrypted}).
asio::awaitable<Response> Routes::store(Context& ctx) {
  const auto chain = valid_chain(ctx.param("chain"));
  const auto body = json_body(ctx);
  const auto k = body.find("key");
  if (k == body.end() || !k->is_string()) throw field_error("key", "is required (a string)");
  Put put;
  put.key = valid_key(k->get<std::string>());
  const auto v = body.find("value");
  if (v == body.end() || v->is_null()) throw field_error("value", "is required (any JSON value but null)");
  // Stored as sent, not as parsed: a number beyond 64 bits (an amount in wei) stays exact.
  put.clear = std::string(json_member_text(ctx.request.body(), "value").value_or(""));
  if (put.clear.size() > kMaxValueBytes) throw field_error("value", "Data size cannot exceed 1MB");
  options_of(body, ctx.request.body(), put);
  const auto owner = owner_of(*ctx.principal, chain);
  const auto size = put.clear.size();
  const bool encrypted = put.encrypted;
  const auto expires = put.expires_at;
  const auto key = put.key;
  const auto result = co_await storage_.put(owner, std::move(put));
  json out{{"key", key},
           {"owner", owner},
           {"chain", chain},
           {"size_bytes", size},
           {"encrypted", encrypted},
           {"created", result.created},
           {"updated_at", result.updated_at},
           {"expires_at", expires ? json(*expires) : json(nullptr)}};
  co_return http::json_response(200, out.dump());
}

// Reads: the owner's own entries, or another owner's shared with the caller or public.
asio::awaitable<Response> Routes::read(Context& ctx) {
  const auto target = read_target(ctx);
  const auto &chain = target.chain, &key = target.key, &mine = target.mine, &owner = target.owner;
  const auto entry = co_await storage_.readable(owner, key, ctx.principal->name, owner == mine);
  const auto clear = co_await storage_.value(owner, key, *entry);
  // Written directly from the entry's serialised fields; the value goes out as stored (JSON text
  // the database checked, or the enclave's answer of it): no parse, no re-serialisation.
  std::string body;
  body.reserve(entry->fields.size() + clear.size() + key.size() + owner.size() + 96);
  body += "{\"key\":";
  append_json_string(body, key);
  body += ",\"owner\":";
  append_json_string(body, owner);
  body += ",\"chain\":";
  append_json_string(body, chain);
  body += ',';
  body += entry->fields;
  if (owner == mine) {
    body += ",\"shared_with\":";
    body += entry->shared_with;
  }
  body += ",\"value\":";
  body += clear;
  body += '}';
  co_return http::json_response(200, std::move(body));
}

asio::awaitable<Response> Routes::metadata(Context& ctx) {
  const auto target = read_target(ctx);
  const auto &chain = target.chain, &key = target.key, &mine = target.mine, &owner = target.owner;
  const auto entry = co_await storage_.readable(owner, key, ctx.principal->name, owner == mine);
  const auto counts = co_await storage_.access_counts(owner, key);
  JsonObjectText out;
  out.add("key", key).add("owner", owner).add("chain", chain);
  if (owner == mine) out.add_raw("shared_with", entry->shared_with);
  if (counts) out.add_raw("accessed_count", std::to_string(counts->first)).add_raw("last_accessed", counts->second);
  // The entry's fields as cached: metadata exactly as stored.
  auto body = out.finish();
  body.pop_back();
  body += ',';
  body += entry->fields;
  body += '}';
  co_return http::json_response(200, std::move(body));
}

asio::awaitable<Response> Routes::list(Context& ctx) {
  const auto chain = valid_chain(ctx.param("chain"));
  const auto owner = owner_of(*ctx.principal, chain);
  const auto prefix = ctx.query_param("prefix").value_or("");
  if (!prefix.empty()) valid_key(prefix, "prefix");
  int limit = 100;
  if (const auto l = ctx.query_param("limit")) {
    if (l->empty() || l->size() > 4 || l->find_first_not_of("0123456789") != std::string::npos || std::stoi(*l) < 1 ||
        std::stoi(*l) > 1000) {
      throw field_error("limit", "must be 1 to 1000");
    }
    limit = std::stoi(*l);
  }
  const auto page = co_await storage_.list(owner, prefix, limit, ctx.query_param("cursor").value_or(""));
  json items = json::array();
  for (const auto& e : page.items) {
    items.push_back({{"key", e.key},
                     {"size_bytes", e.size_bytes},
                     {"encrypted", e.encrypted},
                     {"access_level", e.access_level},
                     {"created_at", e.created_at},
                     {"updated_at", e.updated_at},
                     {"expires_at", e.expires_at ? json(*e.expires_at) : json(nullptr)}});
  }
  json out{{"owner", owner}, {"items", items}};
  if (page.next) out["next_cursor"] = *page.next;
  co_return http::json_response(200, out.dump());
}

asio::awaitable<Response> Routes::remove(Context& ctx) {
  const auto chain = valid_chain(ctx.param("chain"));
  const auto key = valid_key(ctx.param("key"));
  co_await storage_.remove(owner_of(*ctx.principal, chain), key);
  co_return Response{http::beast_http::status::no_content, 11};
}

asio::awaitable<Response> Routes::share(Context& ctx) {
  const auto chain = valid_chain(ctx.param("chain"));
  const auto key = valid_key(ctx.param("key"));
  const auto body = json_body(ctx);
  if (!body.contains("access_level")) throw field_error("access_level", "is required: private, shared or public");
  const auto level = access_level_of(body["access_level"]);
  const auto shared = principals_of(body);
  if (level == "shared" && shared.empty()) throw field_error("principals", "must name at least one principal to share with");
  const auto owner = owner_of(*ctx.principal, chain);
  co_await storage_.share(owner, key, level, shared.dump());
  json out{{"key", key}, {"owner", owner}, {"access_level", level}, {"shared_with", shared}};
  co_return http::json_response(200, out.dump());
}

}  // namespace

void add_routes(http::Router& router, StorageService& storage) {
  add_route_table<Routes>(router, "storage", std::make_shared<Routes>(storage), kRoutes);
}

}  // namespace nsl::services::storage
