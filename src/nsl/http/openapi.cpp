#include "nsl/http/openapi.hpp"

#include <algorithm>
#include <memory>
#include <mutex>

#include "nsl/core/strings.hpp"

namespace nsl::http {
namespace {

using nlohmann::json;

const char* const kProblemSchema = R"({
  "type": "object",
  "required": ["type", "title", "status", "detail"],
  "properties": {
    "type": {"type": "string"},
    "title": {"type": "string"},
    "status": {"type": "integer"},
    "detail": {"type": "string"},
    "instance": {"type": "string"},
    "request_id": {"type": "string"},
    "errors": {"type": "array", "items": {"type": "object", "required": ["field", "message"],
               "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}
  }
})";

std::string lower_verb(Verb verb) { return to_lower(std::string(beast_http::to_string(verb))); }

std::string route_name(const Route& r) { return std::string(beast_http::to_string(r.verb)) + " " + r.pattern; }

std::vector<std::string> path_parameters(const std::string& pattern) {
  std::vector<std::string> out;
  for (auto part : split(pattern, "/")) {
    if (part.size() > 2 && part.front() == '{' && part.back() == '}') out.emplace_back(part.substr(1, part.size() - 2));
  }
  return out;
}

// A schema given as text, or nothing when it does not parse to an object.
std::optional<json> schema_of(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

const char* reason_of(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "The request is malformed; `errors` names the fields";
    case 401:
      return "Authentication is missing or invalid";
    case 403:
      return "The credential lacks the route's permission";
    case 404:
      return "Not found";
    case 409:
      return "Conflict with the current state (taken, quota used up, ...)";
    case 413:
      return "The request body is too large";
    case 429:
      return "Rate limit exceeded; see Retry-After";
    case 503:
      return "Overloaded or a dependency is unavailable; see Retry-After";
    case 504:
      return "The request took longer than Services:ServiceTimeoutSeconds";
    default:
      return status < 300 ? "Success" : "Error";
  }
}

json operation_of(const Route& r) {
  const auto& d = r.doc;
  json op{{"summary", d.summary}, {"operationId", lower_verb(r.verb) + r.pattern}, {"tags", json::array({r.service})}};
  json params = json::array();
  for (const auto& name : path_parameters(r.pattern)) {
    json schema{{"type", "string"}, {"minLength", 1}};
    for (const auto& [p, text] : d.path) {
      if (p == name) schema = schema_of(text).value_or(schema);
    }
    params.push_back({{"name", name}, {"in", "path"}, {"required", true}, {"schema", schema}});
  }
  for (const auto& [name, schema] : d.query) {
    const bool required = std::find(d.required_query.begin(), d.required_query.end(), name) != d.required_query.end();
    params.push_back(
        {{"name", name}, {"in", "query"}, {"required", required}, {"schema", schema_of(schema).value_or(json::object())}});
  }
  if (!params.empty()) op["parameters"] = params;
  if (!d.request.empty()) {
    op["requestBody"] = {{"required", !d.optional_request},
                         {"content", {{"application/json", {{"schema", schema_of(d.request).value_or(json::object())}}}}}};
    // Whether the audit trail may keep a failed request's body (credential-like members redacted).
    op["x-nsl-audit-body"] = r.audit_body;
  }
  json responses = json::object();
  for (const auto& [status, schema] : d.responses) {
    json one{{"description", reason_of(status)}};
    if (!schema.empty()) one["content"] = {{d.content_type, {{"schema", schema_of(schema).value_or(json::object())}}}};
    responses[std::to_string(status)] = one;
  }
  std::vector<int> problems{400, 503, 504};
  if (!r.is_public) problems.insert(problems.end(), {401, 429});
  if (!r.permission.empty()) problems.push_back(403);
  if (!d.request.empty()) problems.push_back(413);
  problems.insert(problems.end(), d.errors.begin(), d.errors.end());
  std::sort(problems.begin(), problems.end());
  problems.erase(std::unique(problems.begin(), problems.end()), problems.end());
  for (const int status : problems) {
    if (responses.contains(std::to_string(status))) continue;  // the route documents it itself
    responses[std::to_string(status)] = {
        {"description", reason_of(status)},
        {"content", {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
  }
  op["responses"] = responses;
  if (r.is_public) {
    op["security"] = json::array();
  } else if (!r.permission.empty()) {
    op["x-permission"] = r.permission;
  }
  return op;
}

}  // namespace

json openapi_document(const Router& router, const ApiInfo& info) {
  json paths = json::object();
  for (const auto& r : router.routes()) paths[r.pattern][lower_verb(r.verb)] = operation_of(r);
  return {{"openapi", "3.1.0"},
          {"info", {{"title", info.title}, {"version", info.version}}},
          {"paths", paths},
          {"security", json::array({{{"bearer", json::array()}}, {{"apiKey", json::array()}}})},
          {"components",
           {{"securitySchemes",
             {{"bearer", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}},
              {"apiKey", {{"type", "apiKey"}, {"in", "header"}, {"name", "X-API-Key"}}}}},
            {"schemas", {{"Problem", json::parse(kProblemSchema)}}}}}};
}

std::vector<std::string> openapi_problems(const Router& router) {
  std::vector<std::string> out;
  for (const auto& r : router.routes()) {
    const auto name = route_name(r);
    const auto& d = r.doc;
    if (d.summary.empty()) out.push_back(name + ": no summary");
    if (std::none_of(d.responses.begin(), d.responses.end(), [](const auto& a) { return a.first >= 200 && a.first < 300; })) {
      out.push_back(name + ": no success answer");
    }
    for (const auto& [status, schema] : d.responses) {
      if (!schema.empty() && !schema_of(schema))
        out.push_back(name + ": the schema of answer " + std::to_string(status) + " does not parse");
    }
    if (!d.request.empty() && !schema_of(d.request)) out.push_back(name + ": the request schema does not parse");
    for (const auto& [q, schema] : d.path) {
      if (!schema_of(schema)) out.push_back(name + ": the schema of path parameter " + q + " does not parse");
    }
    for (const auto& [q, schema] : d.query) {
      if (!schema_of(schema)) out.push_back(name + ": the schema of query parameter " + q + " does not parse");
    }
  }
  return out;
}

void add_openapi_route(Router& router, ApiInfo info) {
  struct Cached {
    std::once_flag once;
    std::string text;
  };
  auto cached = std::make_shared<Cached>();
  const Router* all = &router;
  router.add({Verb::get, "/openapi.json", "openapi", "",
              [cached, all, info](Context&) -> asio::awaitable<Response> {
                std::call_once(cached->once, [&] { cached->text = openapi_document(*all, info).dump(); });
                co_return json_response(200, cached->text);
              },
              true, false,
              Doc{.summary = "The OpenAPI 3.1 document of this server's API", .responses = {{200, R"({"type": "object"})"}}}});
}

}  // namespace nsl::http
