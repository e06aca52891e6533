#pragma once

// A service's routes as one table: each row names the verb, the pattern, the permission, the
// handler (a member of the service's Routes class) and the OpenAPI operation.
//
//   const RouteRow<Routes> kRoutes[] = {
//       {Verb::post, "/v1/keys", "keys:create", &Routes::create, {.summary = ..., .request = ...}},
//   };
//   add_route_table(router, "keys", std::make_shared<Routes>(keys), kRoutes);

#include <memory>
#include <span>
#include <string>

#include "nsl/core/asio.hpp"
#include "nsl/http/router.hpp"

namespace nsl::services {

template <class Routes>
struct RouteRow {
  http::Verb verb;
  const char* pattern;
  const char* permission;
  asio::awaitable<http::Response> (Routes::*handler)(http::Context&);
  http::Doc doc;
  /// Whether a failed request's body may be recorded in the audit trail (credential-like fields
  /// redacted). Off unless the route's body can never carry secret material.
  bool audit_body = false;
  bool is_public = false;  // answered without authentication (token exchange, wallet sign-in)
};

/// Adds every row of `table` to `router` under the metrics label `service`; the handlers share
/// `routes`.
template <class Routes>
void add_route_table(http::Router& router, const std::string& service, std::shared_ptr<Routes> routes,
                     std::span<const RouteRow<Routes>> table) {
  for (const auto& row : table) {
    router.add({row.verb, row.pattern, service, row.permission,
                [routes, handler = row.handler](http::Context& ctx) { return ((*routes).*handler)(ctx); }, row.is_public,
                row.audit_body, row.doc});
  }
}

}  // namespace nsl::services
