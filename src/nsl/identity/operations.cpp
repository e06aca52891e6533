// The OpenAPI operations of the identity routes (/v1/auth, /v1/api-keys, /v1/admin/accounts), by
// "VERB pattern". IdentityService::add_routes and add_admin_routes take each route's operation
// from here; a route without one is a startup error.
#include "nsl/identity/operations.hpp"

#include <map>
#include <stdexcept>
#include <string>

namespace nsl::identity {
namespace {

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

const std::map<std::string, http::Doc>& operations() {
  static const std::map<std::string, http::Doc> ops{
      {"POST /v1/auth/token",
       {.summary = "Tokens for an API key",
        .request = R"js({"type": "object", "required": ["api_key"],
          "properties": {"api_key": {"type": "string", "minLength": 1, "maxLength": 200}}})js",
        .responses = {{200, kTokens}},
        .errors = {401}}},
      {"POST /v1/auth/refresh",
       {.summary = "New tokens for a refresh token (each works once; a reused one revokes its family)",
        .request = R"js({"type": "object", "required": ["refresh_token"],
          "properties": {"refresh_token": {"type": "string", "minLength": 1, "maxLength": 200}}})js",
        .responses = {{200, kTokens}},
        .errors = {401}}},
      {"POST /v1/auth/revoke",
       {.summary = "Revoke the access token of this request, and a refresh token's family if given",
        .request = R"js({"type": "object",
          "properties": {"refresh_token": {"type": ["string", "null"], "minLength": 1, "maxLength": 200}}})js",
        .responses = {{204, ""}},
        .optional_request = true}},
      {"GET /v1/auth/keys",
       {.summary = "The public key that verifies access tokens (ES256 only)",
        .responses = {{200, R"js({"type": "object", "required": ["alg", "crv", "public_key"],
          "properties": {"alg": {"const": "ES256"}, "crv": {"const": "P-256"}, "public_key": {"type": "string"}}})js"}},
        .errors = {404}}},
      {"GET /v1/auth/me",
       {.summary = "The caller: account, role, permissions and how it authenticated",
        .responses = {{200, R"js({"type": "object", "required": ["account_id", "name", "role", "permissions", "authenticated_by"],
          "properties": {"account_id": {"type": "string"}, "name": {"type": "string"}, "role": {"type": "string"},
            "permissions": {"type": "array", "items": {"type": "string"}},
            "authenticated_by": {"enum": ["api-key", "jwt"]}}})js"}}}},
      {"POST /v1/auth/wallet/challenge",
       {.summary = "A one-time message for a wallet address to sign",
        .request = R"js({"type": "object", "required": ["chain", "address"], "properties": {
          "chain": {"enum": ["neo-n3", "neo-x"]},
          "address": {"type": "string", "pattern": "^(0x[0-9a-fA-F]{40}|N[1-9A-HJ-NP-Za-km-z]{33})$"}}})js",
        .responses = {{200, R"js({"type": "object", "required": ["nonce", "message", "expires_in"],
          "properties": {"nonce": {"type": "string"}, "message": {"type": "string"}, "expires_in": {"type": "integer"}}})js"}}}},
      {"POST /v1/auth/wallet/sign-in",
       {.summary = "Tokens for a signed challenge (Neo N3: P-256 and the public key; Neo X: EIP-191)",
        .request = R"js({"type": "object", "required": ["nonce", "signature"], "properties": {
          "nonce": {"type": "string", "minLength": 1, "maxLength": 64},
          "signature": {"type": "string", "minLength": 1, "maxLength": 200},
          "public_key": {"type": "string", "maxLength": 200}}})js",
        .responses = {{200, kTokens}},
        .errors = {401}}},
      {"POST /v1/api-keys",
       {.summary = "A new API key of the caller's account, with at most the caller's permissions",
        .request = kApiKeyRequest,
        .responses = {{201, kNewApiKey}},
        .errors = {409}}},
      {"GET /v1/api-keys",
       {.summary = "The API keys of the caller's account",
        .responses = {{200, R"js({"type": "object", "required": ["api_keys"], "properties": {"api_keys": {"type": "array",
          "items": {"type": "object", "required": ["id", "name", "permissions", "created_at", "revoked_at"]}}}})js"}}}},
      {"DELETE /v1/api-keys/{id}",
       {.summary = "Revoke an API key of the caller's account", .responses = {{204, ""}}, .errors = {404}}},
      {"GET /v1/admin/accounts",
       {.summary = "Accounts, by id, 1000 at a time",
        .responses = {{200, R"js({"type": "object", "required": ["accounts"], "properties": {
          "accounts": {"type": "array", "items": {"type": "object"}}, "next": {"type": "string"}}})js"}},
        .query = {{"role", R"js({"enum": ["admin", "operator", "user", "auditor"]})js"},
                  {"after", R"js({"type": "string"})js"}}}},
      {"POST /v1/admin/accounts",
       {.summary = "Create an account known by name, with its first API key",
        .request = R"js({"type": "object", "required": ["name", "role"], "properties": {
          "name": {"type": "string", "minLength": 1, "maxLength": 100},
          "role": {"enum": ["admin", "operator", "user", "auditor"]}}})js",
        .responses = {{201,
                       std::string(R"js({"type": "object", "required": ["account", "api_key"], "properties": {"account": )js") +
                           kAccount + R"js(, "api_key": {"type": "string"}}})js"}},
        .errors = {409}}},
      {"GET /v1/admin/accounts/{id}",
       {.summary = "An account and its API keys", .responses = {{200, kAccount}}, .errors = {404}}},
      {"POST /v1/admin/accounts/{id}/role",
       {.summary = "Change an account's role (not one's own)",
        .request = kRole,
        .responses = {{200, kAccount}},
        .errors = {404, 409}}},
      {"POST /v1/admin/accounts/{id}/disable",
       {.summary = "Disable an account (not one's own): its credentials stop working",
        .responses = {{200, kAccount}},
        .errors = {404, 409}}},
      {"POST /v1/admin/accounts/{id}/enable",
       {.summary = "Enable an account again", .responses = {{200, kAccount}}, .errors = {404, 409}}},
      {"POST /v1/admin/accounts/{id}/api-keys",
       {.summary = "A new API key for an account, with at most its role's permissions",
        .request = kApiKeyRequest,
        .responses = {{201, kNewApiKey}},
        .errors = {404, 409}}},
      {"DELETE /v1/admin/accounts/{id}/api-keys/{key_id}",
       {.summary = "Revoke an API key of an account", .responses = {{204, ""}}, .errors = {404}}},
  };
  return ops;
}

}  // namespace

http::Route documented(http::Route route) {
  const auto key = std::string(http::beast_http::to_string(route.verb)) + " " + route.pattern;
  const auto it = operations().find(key);
  if (it == operations().end()) throw std::logic_error("identity route without an OpenAPI operation: " + key);
  route.doc = it->second;
  return route;
}

}  // namespace nsl::identity
