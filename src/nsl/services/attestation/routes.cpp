// The attestation route: parses the nonce, calls the AttestationService (attestation.hpp) and
// renders the report. Public: a client checks the enclave before it trusts the service.
#include "nsl/services/attestation/routes.hpp"

#include <nlohmann/json.hpp>

#include "nsl/services/common/route_table.hpp"

namespace nsl::services::attestation {
namespace {

using http::Context;
using http::Response;

class Routes {
 public:
  explicit Routes(AttestationService& attestation) : attestation_(attestation) {}
  asio::awaitable<Response> report(Context& ctx);

 private:
  AttestationService& attestation_;
};

const RouteRow<Routes> kRoutes[] = {
    {http::Verb::get,
     "/v1/attestation/report",
     "",
     &Routes::report,
     {.summary = "An attestation report of the enclave, bound to the caller's nonce",
      .responses = {{200, R"({"type": "object", "required": ["report", "signature"],
                              "properties": {"report": {"type": "object"}, "signature": {"type": "string"}}})"}},
      .query = {{"nonce", R"({"type": "string", "pattern": "^([0-9a-fA-F]{2}){16,64}$"})"}},
      .required_query = {"nonce"}},
     false,
     true},
};

asio::awaitable<Response> Routes::report(Context& ctx) {
  const auto answer = co_await attestation_.report(valid_nonce(ctx.query_param("nonce")));
  const nlohmann::json body{{"report", answer.report}, {"signature", crypto::to_hex(answer.signature)}};
  co_return http::json_response(200, body.dump());
}

}  // namespace

void add_routes(http::Router& router, AttestationService& attestation) {
  add_route_table<Routes>(router, "attestation", std::make_shared<Routes>(attestation), kRoutes);
}

}  // namespace nsl::services::attestation
