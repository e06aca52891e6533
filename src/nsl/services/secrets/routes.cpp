// The Secrets routes: each parses its request, calls the SecretService (secrets.hpp) and renders
// the answer. The table below is every route of the service.
#include "nsl/services/secrets/routes.hpp"

#include <nlohmann/json.hpp>

#include "nsl/core/errors.hpp"
#include "nsl/crypto/bytes.hpp"
#include "nsl/services/common/fields.hpp"
#include "nsl/services/common/route_table.hpp"

namespace nsl::services::secrets {
namespace {

using http::Context;
using http::Response;
using http::Verb;
using nlohmann::json;

class Routes {
 public:
  explicit Routes(SecretService& secrets) : secrets_(secrets) {}
  asio::awaitable<Response> create(Context& ctx);
  asio::awaitable<Response> update(Context& ctx);
  asio::awaitable<Response> list(Context& ctx);
  asio::awaitable<Response> metadata(Context& ctx);
  asio::awaitable<Response> reveal(Context& ctx);
  asio::awaitable<Response> remove(Context& ctx);

 private:
  SecretService& secrets_;
};

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

const RouteRow<Routes> kRoutes[] = {
    {Verb::post,
     "/v1/secrets",
     "secrets:write",
     &Routes::create,
     {.summary = "Create a secret (version 1)", .request = kCreate, .responses = {{201, kMetadata}}, .errors = {409}}},
    {Verb::put,
     "/v1/secrets/{name}",
     "secrets:write",
     &Routes::update,
     {.summary = "Store a new version of a secret",
      .path = {{"name", kName}},
      .request = kUpdate,
      .responses = {{200, kMetadata}},
      .errors = {404, 409}}},
    {Verb::get,
     "/v1/secrets",
     "secrets:read-metadata",
     &Routes::list,
     {.summary = "List the caller's secrets (metadata only)", .responses = {{200, kList}}}},
    {Verb::get,
     "/v1/secrets/{name}",
     "secrets:read-metadata",
     &Routes::metadata,
     {.summary = "A secret's metadata", .path = {{"name", kName}}, .responses = {{200, kMetadata}}, .errors = {404}}},
    {Verb::post,
     "/v1/secrets/{name}/reveal",
     "secrets:read",
     &Routes::reveal,
     {.summary = "Reveal the newest value of a secret",
      .path = {{"name", kName}},
      .responses = {{200, kRevealed}},
      .errors = {404}}},
    {Verb::delete_,
     "/v1/secrets/{name}",
     "secrets:write",
     &Routes::remove,
     {.summary = "Delete a secret and every version", .path = {{"name", kName}}, .responses = {{204, ""}}, .errors = {404}}},
};

std::string value_of(const json& body) {
  const auto it = body.find("value");
  if (it == body.end() || !it->is_string()) throw field_error("value", "is required (a string)");
  return it->get<std::string>();
}

json describe(const Metadata& m) {
  return {{"name", m.name}, {"version", m.version}, {"bytes", m.bytes}, {"created_at", m.created_at}};
}

asio::awaitable<Response> Routes::create(Context& ctx) {
  const auto body = json_body(ctx);
  const auto it = body.find("name");
  auto name = valid_name(it != body.end() && it->is_string() ? it->get<std::string>() : std::string());
  auto value = value_of(body);
  const auto out = co_await secrets_.create(ctx.principal->account_id, std::move(name), std::move(value));
  co_return http::json_response(201, describe(out).dump());
}

asio::awaitable<Response> Routes::update(Context& ctx) {
  auto name = valid_name(ctx.param("name"));
  auto value = value_of(json_body(ctx));
  const auto out = co_await secrets_.update(ctx.principal->account_id, std::move(name), std::move(value));
  co_return http::json_response(200, describe(out).dump());
}

asio::awaitable<Response> Routes::list(Context& ctx) {
  json list = json::array();
  const auto all = co_await secrets_.list(ctx.principal->account_id);
  for (const auto& m : all) list.push_back(describe(m));
  co_return http::json_response(200, json{{"secrets", list}}.dump());
}

asio::awaitable<Response> Routes::metadata(Context& ctx) {
  const auto m = co_await secrets_.metadata(ctx.principal->account_id, std::string(ctx.param("name")));
  co_return http::json_response(200, describe(m).dump());
}

asio::awaitable<Response> Routes::reveal(Context& ctx) {
  const std::string name(ctx.param("name"));
  auto v = co_await secrets_.value(ctx.principal->account_id, name);
  if (!v) throw NotFound("no secret " + name);
  auto body = json{{"name", name}, {"value", *v}}.dump();
  crypto::wipe(v->data(), v->size());
  co_return http::json_response(200, std::move(body));
}

asio::awaitable<Response> Routes::remove(Context& ctx) {
  co_await secrets_.remove(ctx.principal->account_id, std::string(ctx.param("name")));
  co_return Response{http::beast_http::status::no_content, 11};
}

}  // namespace

void add_routes(http::Router& router, SecretService& secrets) {
  add_route_table<Routes>(router, "secrets", std::make_shared<Routes>(secrets), kRoutes);
}

}  // namespace nsl::services::secrets
