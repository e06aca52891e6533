#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nsl/http/types.hpp"

namespace nsl::http {

/// What the OpenAPI document (`GET /openapi.json`) says of a route. Schemas are JSON Schema
/// (OpenAPI 3.1) as JSON text, written next to the handler. Problem answers (400, 401, 403, 413,
/// 429, 503, 504) are added by the generator from the route's shape; `errors` names the others.
struct Doc {
  std::string summary = {};
  /// Schemas of path parameters, by name (default: a non-empty string).
  std::vector<std::pair<std::string, std::string>> path = {};
  std::string request = {};  // schema of the JSON request body; empty: the route takes none
  /// Success answers: status and the schema of the JSON body ("" for an empty body).
  std::vector<std::pair<int, std::string>> responses = {};
  /// Query parameters: name and schema.
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::string> required_query = {};   // the query parameters a request must give
  std::vector<int> errors;                        // further problem statuses (404, 409, ...)
  std::string content_type = "application/json";  // of the success body
  bool optional_request = false;                  // the request body may be left out
};

/// One route: verb, path pattern (`/v1/keys/{id}`), the service it belongs to (the `service`
/// label of the HTTP metrics), the permission it needs (empty for public routes) and its handler.
struct Route {
  Verb verb;
  std::string pattern;
  std::string service;
  std::string permission;
  Handler handler;
  bool is_public = false;  // health and metrics: no authentication
  /// Whether the audit trail may record a failed request's body (credential-like fields redacted).
  /// Off by default: a body may carry secret material (secret values, key material, storage
  /// values, wallet signatures, tokens); a route whose body never can says so.
  bool audit_body = false;
  Doc doc = {};  // its OpenAPI operation
};

/// The outcome of matching a request against the routes.
struct RouteMatch {
  const Route* route = nullptr;                             // set on a match
  std::vector<std::pair<std::string, std::string>> params;  // decoded path parameters
  std::string allow;      // when the path exists but not for this verb: the verbs it has ("GET, HEAD")
  bool bad_path = false;  // the path has a malformed percent-escape
};

/// Matches request paths against route patterns. Literal segments match exactly, `{name}`
/// segments match one non-empty segment. HEAD is served by GET routes.
class Router {
 public:
  /// Adds a route; throws std::logic_error for a duplicate verb + pattern.
  void add(Route route);
  RouteMatch match(Verb verb, std::string_view path) const;
  const std::vector<Route>& routes() const noexcept { return routes_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;  // "{x}" marks a parameter
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

}  // namespace nsl::http
