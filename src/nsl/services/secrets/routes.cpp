#include "nsl/services/secrets/routes.hpp"

#include <nlohmann/json.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/services/common/fields.hpp"
#include "nsl/crypto/bytes.hpp"

namespace nsl::services::secrets {
namespace {

using nlohmann::json;
constexpr std::size_t kMaxValue = 64 * 1024;
constexpr int kMaxAttempts = 64;  // versions sealed again when concurrent writes took them first

std::string valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128) throw field_error("name", "must be 1 to 128 characters");
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != ':') {
      throw field_error("name", "may hold letters, digits and - _ . : only");
    }
  }
  return std::string(name);
}

std::string value_of(const json& body) {
  const auto it = body.find("value");
  if (it == body.end() || !it->is_string()) throw field_error("value", "is required (a string)");
  auto v = it->get<std::string>();
  if (v.empty() || v.size() > kMaxValue) throw field_error("value", "must be 1 to 65536 bytes");
  return v;
}

// The record a sealed secret is bound to.
std::string aad(const std::string& account, const std::string& name, std::int64_t version) {
  return account + "/" + name + "/" + std::to_string(version);
}

constexpr const char* kMetadata = R"({"type": "object", "required": ["name", "version", "bytes", "created_at"],
  "properties": {"name": {"type": "string"}, "version": {"type": "integer", "minimum": 1},
                 "bytes": {"type": "integer", "minimum": 1}, "created_at": {"type": "string"}}})";
constexpr const char* kName = R"({"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9._:-]+$"})";
constexpr const char* kValue = R"({"type": "string", "minLength": 1, "maxLength": 65536})";
const std::string kCreate = std::string(R"({"type": "object", "required": ["name", "value"], "properties": {"name": )") + kName +
                            R"(, "value": )" + kValue + "}}";
const std::string kUpdate = std::string(R"({"type": "object", "required": ["value"], "properties": {"value": )") + kValue + "}}";
const std::string kList =
    std::string(R"({"type": "object", "required": ["secrets"], "properties": {"secrets": {"type": "array", "items": )") +
    kMetadata + "}}}";
const std::string kRevealed = std::string(R"({"type": "object", "required": ["name", "value"], "properties": {"name": )") +
                              kName + R"(, "value": {"type": "string"}}})";

json metadata(const db::Result& r, std::size_t i) {
  return {{"name", r.get<std::string>(i, 0)},
          {"version", r.get<std::int64_t>(i, 1)},
          {"bytes", r.get<std::int64_t>(i, 2)},
          {"created_at", r.get<std::string>(i, 3)}};
}

}  // namespace

asio::awaitable<std::optional<std::string>> SecretStore::value(std::string account, std::string name) {
  const auto r = co_await db_.run([&](db::Connection& c) {
    return c.query("SELECT sealed, version FROM secrets WHERE account_id = $1 AND name = $2 AND status = 'active'",
                   {account, name});
  });
  std::optional<std::string> out;
  if (r.empty()) co_return out;
  const auto record = aad(account, name, r.get<std::int64_t>(0, 1));
  const auto sealed = crypto::from_hex(r.get<std::string>(0, 0)).value();
  auto bytes = co_await enclave_.open("secret", crypto::as_bytes(record), sealed);
  out = std::string(bytes.begin(), bytes.end());
  crypto::wipe(bytes.data(), bytes.size());
  co_return out;
}

void SecretStore::add_routes(http::Router& router) {
  // Seals `value` as the next version of `name` (version 1 only when `create`). The version is
  // bound into the sealed value, so it is chosen before sealing; when a concurrent write took it
  // first, a create is told the name exists and a new version is sealed again under the next number.
  auto store = [this](const std::string& account, const std::string& name, std::string value,
                      bool create) -> asio::awaitable<json> {
    const auto bytes = static_cast<std::int64_t>(value.size());
    struct Wipe {
      std::string& v;
      ~Wipe() { crypto::wipe(v.data(), v.size()); }
    } wipe{value};
    const auto taken = [&] {
      return RequestError(ErrorKind::conflict, "a secret named " + name + " exists already").with_field("name", "is taken");
    };
    for (int attempt = 1;; ++attempt) {
      const auto current = co_await db_.run([&](db::Connection& c) {
        return c.query("SELECT coalesce(max(version), 0) FROM secrets WHERE account_id = $1 AND name = $2", {account, name});
      });
      const auto version = current.get<std::int64_t>(0, 0) + 1;
      if (create && version != 1) throw taken();
      if (!create && version == 1) throw NotFound("no secret " + name);
      const auto record = aad(account, name, version);
      const auto blob = co_await enclave_.seal("secret", crypto::as_bytes(record), crypto::as_bytes(value));
      const auto sealed = crypto::to_hex(blob);
      // Checked again inside the write transaction (writes are serialized): the number is still
      // the next one (old versions are pruned, so the primary key alone would let a number be
      // used twice), the secret still exists, and a new name fits the quota.
      enum class Outcome { stored, version_taken, gone, over_quota } outcome = Outcome::stored;
      std::optional<db::Result> row;
      try {
        row = co_await db_.transaction([&](db::Connection& c) {
          outcome = Outcome::stored;
          const auto newest =
              c.query("SELECT coalesce(max(version), 0) FROM secrets WHERE account_id = $1 AND name = $2", {account, name})
                  .get<std::int64_t>(0, 0);
          if (newest >= version)
            outcome = Outcome::version_taken;
          else if (!create && newest == 0)
            outcome = Outcome::gone;  // deleted meanwhile: not brought back
          else if (create &&
                   c.query("SELECT count(DISTINCT name) FROM secrets WHERE account_id = $1", {account}).get<std::int64_t>(0, 0) >=
                       secrets_per_account_) {
            outcome = Outcome::over_quota;
          }
          if (outcome != Outcome::stored) return db::Result{};
          c.query("UPDATE secrets SET status = 'retired' WHERE account_id = $1 AND name = $2", {account, name});
          // Only the newest versions are kept.
          c.query("DELETE FROM secrets WHERE account_id = $1 AND name = $2 AND version <= $3",
                  {account, name, version - versions_kept_});
          c.query("INSERT INTO secrets (account_id, name, version, sealed, bytes, status) VALUES ($1, $2, $3, $4, $5, 'active')",
                  {account, name, version, sealed, bytes});
          return c.query(
              "SELECT name, version, bytes, created_at FROM secrets WHERE account_id = $1 AND name = $2 AND version = $3",
              {account, name, version});
        });
      } catch (const db::DatabaseError& e) {
        if (e.kind() != db::DatabaseError::Kind::unique_violation) throw;
        outcome = Outcome::version_taken;
      }
      if (outcome == Outcome::version_taken) {
        if (create) throw taken();
        if (attempt == kMaxAttempts) {
          throw RequestError(ErrorKind::conflict, "secret " + name + " is being written by too many requests at once; try again");
        }
        continue;
      }
      if (outcome == Outcome::over_quota) {
        throw RequestError(ErrorKind::conflict, "the quota of " + std::to_string(secrets_per_account_) +
                                                    " secrets is used up (Quotas:SecretsPerAccount); delete one first");
      }
      if (outcome == Outcome::gone) throw NotFound("no secret " + name);
      co_return metadata(*row, 0);
    }
  };
  router.add(
      {http::Verb::post, "/v1/secrets", "secrets", "secrets:write",
       [store](http::Context& ctx) -> asio::awaitable<http::Response> {
         const auto body = json_body(ctx);
         const auto it = body.find("name");
         const auto name = valid_name(it != body.end() && it->is_string() ? it->get<std::string>() : std::string());
         auto out = co_await store(ctx.principal->account_id, name, value_of(body), true);
         co_return http::json_response(201, out.dump());
       },
       false, false,
       http::Doc{
           .summary = "Create a secret (version 1)", .request = kCreate, .responses = {{201, kMetadata}}, .errors = {409}}});
  router.add({http::Verb::put, "/v1/secrets/{name}", "secrets", "secrets:write",
              [store](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto name = valid_name(ctx.param("name"));
                auto out = co_await store(ctx.principal->account_id, name, value_of(json_body(ctx)), false);
                co_return http::json_response(200, out.dump());
              },
              false, false,
              http::Doc{.summary = "Store a new version of a secret",
                        .request = kUpdate,
                        .responses = {{200, kMetadata}},
                        .errors = {404, 409}}});
  router.add({http::Verb::get, "/v1/secrets", "secrets", "secrets:read-metadata",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto r = co_await db_.run([&](db::Connection& c) {
                  return c.query(
                      "SELECT name, version, bytes, created_at FROM secrets WHERE account_id = $1 AND status = 'active' "
                      "ORDER BY name",
                      {ctx.principal->account_id});
                });
                json list = json::array();
                for (std::size_t i = 0; i < r.rows.size(); ++i) list.push_back(metadata(r, i));
                co_return http::json_response(200, json{{"secrets", list}}.dump());
              },
              false, false, http::Doc{.summary = "List the caller's secrets (metadata only)", .responses = {{200, kList}}}});
  router.add({http::Verb::get, "/v1/secrets/{name}", "secrets", "secrets:read-metadata",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const std::string name(ctx.param("name"));
                const auto r = co_await db_.run([&](db::Connection& c) {
                  return c.query(
                      "SELECT name, version, bytes, created_at FROM secrets WHERE account_id = $1 AND name = $2 "
                      "AND status = 'active'",
                      {ctx.principal->account_id, name});
                });
                if (r.empty()) throw NotFound("no secret " + name);
                co_return http::json_response(200, metadata(r, 0).dump());
              },
              false, false, http::Doc{.summary = "A secret's metadata", .responses = {{200, kMetadata}}, .errors = {404}}});
  router.add({http::Verb::post, "/v1/secrets/{name}/reveal", "secrets", "secrets:read",
              [this](http::Context& ctx) -> asio::awaitable<http::Response> {
                const std::string name(ctx.param("name"));
                auto v = co_await value(ctx.principal->account_id, name);
                if (!v) throw NotFound("no secret " + name);
                auto body = json{{"name", name}, {"value", *v}}.dump();
                crypto::wipe(v->data(), v->size());
                co_return http::json_response(200, std::move(body));
              },
              false, false,
              http::Doc{.summary = "Reveal the newest value of a secret", .responses = {{200, kRevealed}}, .errors = {404}}});
  router.add(
      {http::Verb::delete_, "/v1/secrets/{name}", "secrets", "secrets:write",
       [this](http::Context& ctx) -> asio::awaitable<http::Response> {
         const std::string name(ctx.param("name"));
         // In a write transaction: a new version committed while the delete waited for its
         // rows is deleted too (on PostgreSQL the transaction is retried on a new snapshot).
         const auto removed = co_await db_.transaction([&](db::Connection& c) {
           return c.query("DELETE FROM secrets WHERE account_id = $1 AND name = $2", {ctx.principal->account_id, name}).affected;
         });
         if (removed == 0) throw NotFound("no secret " + name);
         co_return http::Response{http::beast_http::status::no_content, 11};
       },
       false, false, http::Doc{.summary = "Delete a secret and every version", .responses = {{204, ""}}, .errors = {404}}});
}

}  // namespace nsl::services::secrets
