// The identity routes (/v1/auth, /v1/api-keys, /v1/admin/accounts): each parses its request, calls
// the IdentityService (identity.hpp) and renders the answer. The two tables below are every route
// of the service: the caller's own credentials, and administrators acting on other accounts
// (every such request is audited as an "admin_action" naming the account acted on).
#include "nsl/services/identity/routes.hpp"

#include <nlohmann/json.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/services/common/fields.hpp"
#include "nsl/services/common/route_table.hpp"

namespace nsl::services::identity {
namespace {

using http::Context;
using http::Response;
using http::Verb;
using nlohmann::json;

class Routes {
 public:
  explicit Routes(IdentityService& identity) : identity_(identity) {}
  asio::awaitable<Response> exchange(Context& ctx);
  asio::awaitable<Response> refresh(Context& ctx);
  asio::awaitable<Response> revoke(Context& ctx);
  asio::awaitable<Response> public_key(Context& ctx);
  asio::awaitable<Response> me(Context& ctx);
  asio::awaitable<Response> challenge(Context& ctx);
  asio::awaitable<Response> sign_in(Context& ctx);
  asio::awaitable<Response> create_key(Context& ctx);
  asio::awaitable<Response> keys(Context& ctx);
  asio::awaitable<Response> revoke_key(Context& ctx);

  asio::awaitable<Response> accounts(Context& ctx);
  asio::awaitable<Response> create_account(Context& ctx);
  asio::awaitable<Response> show_account(Context& ctx);
  asio::awaitable<Response> set_role(Context& ctx);
  asio::awaitable<Response> disable(Context& ctx);
  asio::awaitable<Response> enable(Context& ctx);
  asio::awaitable<Response> create_account_key(Context& ctx);
  asio::awaitable<Response> revoke_account_key(Context& ctx);

 private:
  /// The account a request acts on (path parameter id), named in the audit trail; 404 if none.
  asio::awaitable<Account> target(Context& ctx);

  IdentityService& identity_;
};

constexpr const char* kTokens = R"js({"type": "object",
  "required": ["access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in", "scope"],
  "properties": {"access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
    "expires_in": {"type": "integer", "description": "seconds"}, "refresh_token": {"type": "string"},
    "refresh_expires_in": {"type": "integer", "description": "seconds"},
    "scope": {"type": "array", "items": {"type": "string"}}}})js";
constexpr const char* kAccount = R"js({"type": "object", "required": ["id", "name", "kind", "role", "disabled"],
  "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "kind": {"enum": ["name", "neo-n3", "neo-x"]},
    "role": {"enum": ["admin", "operator", "user", "auditor"]}, "disabled": {"type": "boolean"},
    "created_at": {"type": "string"}, "api_keys": {"type": "array"}}})js";
constexpr const char* kRole = R"js({"type": "object", "required": ["role"],
  "properties": {"role": {"enum": ["admin", "operator", "user", "auditor"]}}})js";
constexpr const char* kApiKeyRequest = R"js({"type": "object", "required": ["name"], "properties": {
  "name": {"type": "string", "minLength": 1, "maxLength": 100},
  "permissions": {"type": "array", "minItems": 1, "maxItems": 64,
    "items": {"type": "string", "maxLength": 64, "pattern": "^(\\*|[a-z0-9-]+:(\\*|[a-z0-9-]+))$"}}}})js";
constexpr const char* kNewApiKey = R"js({"type": "object", "required": ["id", "name", "api_key", "permissions"],
  "properties": {"id": {"type": "string"}, "name": {"type": "string"},
    "api_key": {"type": "string", "description": "shown once"}, "permissions": {"type": "array", "items": {"type": "string"}}}})js";

const RouteRow<Routes> kAuthRoutes[] = {
    {Verb::post,
     "/v1/auth/token",
     "",
     &Routes::exchange,
     {.summary = "Tokens for an API key",
      .request = R"js({"type": "object", "required": ["api_key"],
          "properties": {"api_key": {"type": "string", "minLength": 1, "maxLength": 200}}})js",
      .responses = {{200, kTokens}},
      .errors = {401}},
     false,
     true},
    {Verb::post,
     "/v1/auth/refresh",
     "",
     &Routes::refresh,
     {.summary = "New tokens for a refresh token (each works once; a reused one revokes its family)",
      .request = R"js({"type": "object", "required": ["refresh_token"],
          "properties": {"refresh_token": {"type": "string", "minLength": 1, "maxLength": 200}}})js",
      .responses = {{200, kTokens}},
      .errors = {401}},
     false,
     true},
    {Verb::post,
     "/v1/auth/revoke",
     "",
     &Routes::revoke,
     {.summary = "Revoke the access token of this request, and a refresh token's family if given",
      .request = R"js({"type": "object",
          "properties": {"refresh_token": {"type": ["string", "null"], "minLength": 1, "maxLength": 200}}})js",
      .responses = {{204, ""}},
      .optional_request = true}},
    {Verb::get,
     "/v1/auth/keys",
     "",
     &Routes::public_key,
     {.summary = "The public key that verifies access tokens (ES256 only)",
      .responses = {{200, R"js({"type": "object", "required": ["alg", "crv", "public_key"],
          "properties": {"alg": {"const": "ES256"}, "crv": {"const": "P-256"}, "public_key": {"type": "string"}}})js"}},
      .errors = {404}},
     false,
     true},
    {Verb::get,
     "/v1/auth/me",
     "",
     &Routes::me,
     {.summary = "The caller: account, role, permissions and how it authenticated",
      .responses = {{200, R"js({"type": "object", "required": ["account_id", "name", "role", "permissions", "authenticated_by"],
          "properties": {"account_id": {"type": "string"}, "name": {"type": "string"}, "role": {"type": "string"},
            "permissions": {"type": "array", "items": {"type": "string"}},
            "authenticated_by": {"enum": ["api-key", "jwt"]}}})js"}}}},
    {Verb::post,
     "/v1/auth/wallet/challenge",
     "",
     &Routes::challenge,
     {.summary = "A one-time message for a wallet address to sign",
      .request = R"js({"type": "object", "required": ["chain", "address"], "properties": {
          "chain": {"enum": ["neo-n3", "neo-x"]},
          "address": {"type": "string", "pattern": "^(0x[0-9a-fA-F]{40}|N[1-9A-HJ-NP-Za-km-z]{33})$"}}})js",
      .responses = {{200, R"js({"type": "object", "required": ["nonce", "message", "expires_in"],
          "properties": {"nonce": {"type": "string"}, "message": {"type": "string"}, "expires_in": {"type": "integer"}}})js"}}},
     false,
     true},
    {Verb::post,
     "/v1/auth/wallet/sign-in",
     "",
     &Routes::sign_in,
     {.summary = "Tokens for a signed challenge (Neo N3: P-256 and the public key; Neo X: EIP-191)",
      .request = R"js({"type": "object", "required": ["nonce", "signature"], "properties": {
          "nonce": {"type": "string", "minLength": 1, "maxLength": 64},
          "signature": {"type": "string", "minLength": 1, "maxLength": 200},
          "public_key": {"type": "string", "maxLength": 200}}})js",
      .responses = {{200, kTokens}},
      .errors = {401}},
     false,
     true},
    {Verb::post,
     "/v1/api-keys",
     "",
     &Routes::create_key,
     {.summary = "A new API key of the caller's account, with at most the caller's permissions",
      .request = kApiKeyRequest,
      .responses = {{201, kNewApiKey}},
      .errors = {409}},
     true},  // names, roles and permissions: no secret material
    {Verb::get,
     "/v1/api-keys",
     "",
     &Routes::keys,
     {.summary = "The API keys of the caller's account",
      .responses = {{200, R"js({"type": "object", "required": ["api_keys"], "properties": {"api_keys": {"type": "array",
          "items": {"type": "object", "required": ["id", "name", "permissions", "created_at", "revoked_at"]}}}})js"}}}},
    {Verb::delete_,
     "/v1/api-keys/{id}",
     "",
     &Routes::revoke_key,
     {.summary = "Revoke an API key of the caller's account", .responses = {{204, ""}}, .errors = {404}}},
};

const RouteRow<Routes> kAdminRoutes[] = {
    {Verb::get,
     "/v1/admin/accounts",
     "accounts:read",
     &Routes::accounts,
     {.summary = "Accounts, by id, 1000 at a time",
      .responses = {{200, R"js({"type": "object", "required": ["accounts"], "properties": {
          "accounts": {"type": "array", "items": {"type": "object"}}, "next": {"type": "string"}}})js"}},
      .query = {{"role", R"js({"enum": ["admin", "operator", "user", "auditor"]})js"}, {"after", R"js({"type": "string"})js"}}}},
    {Verb::post,
     "/v1/admin/accounts",
     "accounts:write",
     &Routes::create_account,
     {.summary = "Create an account known by name, with its first API key",
      .request = R"js({"type": "object", "required": ["name", "role"], "properties": {
          "name": {"type": "string", "minLength": 1, "maxLength": 100},
          "role": {"enum": ["admin", "operator", "user", "auditor"]}}})js",
      .responses = {{201,
                     std::string(R"js({"type": "object", "required": ["account", "api_key"], "properties": {"account": )js") +
                         kAccount + R"js(, "api_key": {"type": "string"}}})js"}},
      .errors = {409}},
     true},  // names, roles and permissions: no secret material
    {Verb::get,
     "/v1/admin/accounts/{id}",
     "accounts:read",
     &Routes::show_account,
     {.summary = "An account and its API keys", .responses = {{200, kAccount}}, .errors = {404}}},
    {Verb::post,
     "/v1/admin/accounts/{id}/role",
     "accounts:write",
     &Routes::set_role,
     {.summary = "Change an account's role (not one's own)",
      .request = kRole,
      .responses = {{200, kAccount}},
      .errors = {404, 409}},
     true},  // names, roles and permissions: no secret material
    {Verb::post,
     "/v1/admin/accounts/{id}/disable",
     "accounts:write",
     &Routes::disable,
     {.summary = "Disable an account (not one's own): its credentials stop working",
      .responses = {{200, kAccount}},
      .errors = {404, 409}}},
    {Verb::post,
     "/v1/admin/accounts/{id}/enable",
     "accounts:write",
     &Routes::enable,
     {.summary = "Enable an account again", .responses = {{200, kAccount}}, .errors = {404, 409}}},
    {Verb::post,
     "/v1/admin/accounts/{id}/api-keys",
     "accounts:write",
     &Routes::create_account_key,
     {.summary = "A new API key for an account, with at most its role's permissions",
      .request = kApiKeyRequest,
      .responses = {{201, kNewApiKey}},
      .errors = {404, 409}},
     true},  // names, roles and permissions: no secret material
    {Verb::delete_,
     "/v1/admin/accounts/{id}/api-keys/{key_id}",
     "accounts:write",
     &Routes::revoke_account_key,
     {.summary = "Revoke an API key of an account", .responses = {{204, ""}}, .errors = {404}}},
};

Response no_content() { return Response{http::beast_http::status::no_content, 11}; }

json tokens_json(const Tokens& t) {
  return {{"access_token", t.access_token},
          {"token_type", "Bearer"},
          {"expires_in", t.expires_in},
          {"refresh_token", t.refresh_token},
          {"refresh_expires_in", t.refresh_expires_in},
          {"scope", t.scope}};
}

json account_json(const Account& a) {
  json out{{"id", a.id}, {"name", a.name}, {"kind", a.kind}, {"role", a.role}, {"disabled", a.disabled}};
  if (!a.created_at.empty()) out["created_at"] = a.created_at;
  return out;
}

json optional_json(const std::optional<std::string>& text) { return text ? json(*text) : json(nullptr); }

json keys_json(const std::vector<ApiKey>& keys, bool with_last_use) {
  json out = json::array();
  for (const auto& k : keys) {
    json key{{"id", k.id},
             {"name", k.name},
             {"permissions", k.permissions},
             {"created_at", k.created_at},
             {"revoked_at", optional_json(k.revoked_at)}};
    if (with_last_use) key["last_used_at"] = optional_json(k.last_used_at);
    out.push_back(std::move(key));
  }
  return out;
}

Role parse_role(std::string_view text) {
  const auto role = nsl::identity::parse_role(text);
  if (!role) throw field_error("role", "must be admin, operator, user or auditor");
  return *role;
}

Role role_field(const json& body) { return parse_role(string_field(body, "role", 16)); }

// The permissions a new API key asks for: empty when left out (all the caller may give).
std::vector<std::string> permissions_field(const json& body) {
  if (!body.contains("permissions")) return {};
  const auto& list = body["permissions"];
  if (!list.is_array() || list.empty() || list.size() > 64)
    throw field_error("permissions", "must be a list of 1 to 64 permissions");
  std::vector<std::string> wanted;
  for (const auto& x : list) {
    if (!x.is_string() || !nsl::identity::valid_permission(x.get<std::string>())) {
      throw field_error("permissions", "each must look like \"service:action\", \"service:*\" or \"*\"");
    }
    wanted.push_back(x.get<std::string>());
  }
  return wanted;
}

asio::awaitable<Response> Routes::exchange(Context& ctx) {
  const auto tokens = co_await identity_.exchange_api_key(string_field(json_body(ctx), "api_key", 200));
  co_return http::json_response(200, tokens_json(tokens).dump());
}

// Each refresh token works once; presenting a used one means it was stolen or replayed, and the
// whole family is revoked.
asio::awaitable<Response> Routes::refresh(Context& ctx) {
  const auto tokens = co_await identity_.refresh(string_field(json_body(ctx), "refresh_token", 200));
  co_return http::json_response(200, tokens_json(tokens).dump());
}

// Revokes the access token used for this request, and a refresh token's family if given.
asio::awaitable<Response> Routes::revoke(Context& ctx) {
  const auto body = ctx.request.body().empty() ? json::object() : json_body(ctx);
  const auto refresh = optional_string_field(body, "refresh_token", 200);
  if (refresh.empty() && body.contains("refresh_token") && !body["refresh_token"].is_null()) {
    throw field_error("refresh_token", "must be 1 to 200 characters (or left out)");
  }
  const auto& p = *ctx.principal;
  std::string jti;  // an API key has no token to revoke
  if (p.method == "jwt") jti = p.token_id;
  co_await identity_.revoke(p.account_id, std::move(jti), refresh);
  co_return no_content();
}

// The key that verifies access tokens, for clients and other services (ES256 only: an HS256
// secret is never published).
asio::awaitable<Response> Routes::public_key(Context&) {
  const auto& keys = identity_.tokens().keys;
  if (keys.algorithm != "ES256") throw NotFound("tokens are signed with a shared secret (HS256): there is no public key");
  const json body{{"alg", "ES256"}, {"crv", "P-256"}, {"public_key", crypto::to_hex(keys.es256_public_key)}};
  co_return http::json_response(200, body.dump());
}

asio::awaitable<Response> Routes::me(Context& ctx) {
  const auto& p = *ctx.principal;
  const json body{{"account_id", p.account_id},
                  {"name", p.name},
                  {"role", p.role},
                  {"permissions", p.permissions},
                  {"authenticated_by", p.method}};
  co_return http::json_response(200, body.dump());
}

asio::awaitable<Response> Routes::challenge(Context& ctx) {
  const auto body = json_body(ctx);
  const auto c = co_await identity_.challenge(string_field(body, "chain", 16), string_field(body, "address", 64));
  co_return http::json_response(200, json{{"nonce", c.nonce}, {"message", c.message}, {"expires_in", c.expires_in}}.dump());
}

// Neo N3: ECDSA P-256 over SHA-256 of the message with the wallet's key (its public key sent
// along); Neo X: an EIP-191 personal signature.
asio::awaitable<Response> Routes::sign_in(Context& ctx) {
  const auto body = json_body(ctx);
  auto nonce = string_field(body, "nonce", 64);
  auto signature = string_field(body, "signature", 200);
  auto public_key = optional_string_field(body, "public_key", 200);
  const auto tokens = co_await identity_.sign_in(std::move(nonce), std::move(signature), std::move(public_key));
  co_return http::json_response(200, tokens_json(tokens).dump());
}

asio::awaitable<Response> Routes::create_key(Context& ctx) {
  const auto body = json_body(ctx);
  auto name = string_field(body, "name", 100);
  const auto& p = *ctx.principal;
  auto permissions = within(permissions_field(body), p.permissions, "this credential");
  const auto key = co_await identity_.create_api_key(p.account_id, std::move(name), std::move(permissions));
  co_return http::json_response(
      201, json{{"id", key.id}, {"name", key.name}, {"api_key", key.api_key}, {"permissions", key.permissions}}.dump());
}

asio::awaitable<Response> Routes::keys(Context& ctx) {
  const auto keys = co_await identity_.api_keys(ctx.principal->account_id);
  co_return http::json_response(200, json{{"api_keys", keys_json(keys, false)}}.dump());
}

asio::awaitable<Response> Routes::revoke_key(Context& ctx) {
  co_await identity_.revoke_api_key(ctx.principal->account_id, std::string(ctx.param("id")));
  co_return no_content();
}

asio::awaitable<Account> Routes::target(Context& ctx) {
  std::string id(ctx.param("id"));
  ctx.acting_on = id;
  co_return co_await identity_.account(std::move(id));
}

asio::awaitable<Response> Routes::accounts(Context& ctx) {
  std::optional<Role> role;
  if (const auto text = ctx.query_param("role")) role = parse_role(*text);
  std::optional<std::string> after;
  if (const auto text = ctx.query_param("after")) after = std::string(*text);
  const auto page = co_await identity_.accounts(role, std::move(after));
  json accounts = json::array();
  for (const auto& a : page.accounts) accounts.push_back(account_json(a));
  json out{{"accounts", std::move(accounts)}};
  if (page.next) out["next"] = *page.next;
  co_return http::json_response(200, out.dump());
}

asio::awaitable<Response> Routes::create_account(Context& ctx) {
  const auto body = json_body(ctx);
  auto name = string_field(body, "name", 100);
  const auto role = role_field(body);
  const auto created = co_await identity_.create_account(std::move(name), role);
  ctx.acting_on = created.account.id;
  co_return http::json_response(201, json{{"account", account_json(created.account)}, {"api_key", created.api_key}}.dump());
}

asio::awaitable<Response> Routes::show_account(Context& ctx) {
  const auto account = co_await target(ctx);
  const auto keys = co_await identity_.api_keys(account.id);
  auto out = account_json(account);
  out["api_keys"] = keys_json(keys, true);
  co_return http::json_response(200, out.dump());
}

// Role, disable and enable: never on one's own account.
asio::awaitable<Response> Routes::set_role(Context& ctx) {
  std::string id(ctx.param("id"));
  ctx.acting_on = id;
  const auto role = role_field(json_body(ctx));
  const auto account = co_await identity_.set_role(ctx.principal->account_id, std::move(id), role);
  co_return http::json_response(200, account_json(account).dump());
}

asio::awaitable<Response> Routes::disable(Context& ctx) {
  std::string id(ctx.param("id"));
  ctx.acting_on = id;
  const auto account = co_await identity_.set_disabled(ctx.principal->account_id, std::move(id), true);
  co_return http::json_response(200, account_json(account).dump());
}

asio::awaitable<Response> Routes::enable(Context& ctx) {
  std::string id(ctx.param("id"));
  ctx.acting_on = id;
  const auto account = co_await identity_.set_disabled(ctx.principal->account_id, std::move(id), false);
  co_return http::json_response(200, account_json(account).dump());
}

asio::awaitable<Response> Routes::create_account_key(Context& ctx) {
  const auto account = co_await target(ctx);
  const auto body = json_body(ctx);
  auto name = string_field(body, "name", 100);
  const auto role = nsl::identity::parse_role(account.role).value_or(Role::user);
  auto permissions = within(permissions_field(body), nsl::identity::role_permissions(role), "the account's role");
  const auto key = co_await identity_.create_api_key(account.id, std::move(name), std::move(permissions));
  co_return http::json_response(
      201, json{{"id", key.id}, {"name", key.name}, {"api_key", key.api_key}, {"permissions", key.permissions}}.dump());
}

asio::awaitable<Response> Routes::revoke_account_key(Context& ctx) {
  const auto account = co_await target(ctx);
  co_await identity_.revoke_api_key(account.id, std::string(ctx.param("key_id")));
  co_return no_content();
}

}  // namespace

void add_routes(http::Router& router, IdentityService& identity) {
  const auto routes = std::make_shared<Routes>(identity);
  add_route_table<Routes>(router, "auth", routes, kAuthRoutes);
  add_route_table<Routes>(router, "admin", routes, kAdminRoutes);
}

}  // namespace nsl::services::identity
