#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nsl/http/router.hpp"

namespace nsl::http {

/// The document's `info`.
struct ApiInfo {
  std::string title = "Neo Service Layer";
  std::string version;
};

/// The OpenAPI 3.1 document of every route of `router`, built from each route's Doc: paths and
/// path parameters from the pattern, bearer authentication unless the route is public, the
/// route's permission, request and response schemas, and problem+json answers.
nlohmann::json openapi_document(const Router& router, const ApiInfo& info);

/// What is missing or malformed in the routes' docs ("GET /v1/x: no summary"), empty when every
/// route has an operation with a summary, a success answer and schemas that parse as JSON objects.
std::vector<std::string> openapi_problems(const Router& router);

/// Adds `GET /openapi.json` (public), which serves the document of `router` as it is when the
/// first request comes (every route is added by then).
void add_openapi_route(Router& router, ApiInfo info);

}  // namespace nsl::http
