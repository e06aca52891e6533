#include "nsl/services/attestation/routes.hpp"

#include "nsl/core/errors.hpp"
#include "nsl/crypto/bytes.hpp"

namespace nsl::services::attestation {

void add_routes(http::Router& router, enclave::EnclaveClient& enclave) {
  router.add({http::Verb::get, "/v1/attestation/report", "attestation", "",
              [&enclave](http::Context& ctx) -> asio::awaitable<http::Response> {
                const auto nonce = ctx.query_param("nonce");
                const bool hex = nonce && !nonce->empty() && nonce->size() % 2 == 0 &&
                                 nonce->find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
                if (!hex || nonce->size() < 32 || nonce->size() > 128) {
                  throw RequestError(ErrorKind::bad_request, "nonce must be 16 to 64 bytes of hex")
                      .with_field("nonce", nonce ? "must be 32 to 128 hex digits" : "is required");
                }
                const auto bytes = crypto::from_hex(*nonce).value();
                enclave::Attestation answer;
                try {
                  answer = co_await enclave.attest(bytes);
                } catch (const enclave::EnclaveUnavailable& e) {
                  throw RequestError(ErrorKind::unavailable, "the enclave is not available", e.what());
                }
                const nlohmann::json body{{"report", answer.report}, {"signature", crypto::to_hex(answer.signature)}};
                co_return http::json_response(200, body.dump());
              },
              true, false,
              http::Doc{.summary = "An attestation report of the enclave, bound to the caller's nonce",
                        .responses = {{200, R"({"type": "object", "required": ["report", "signature"],
                                   "properties": {"report": {"type": "object"}, "signature": {"type": "string"}}})"}},
                        .query = {{"nonce", R"({"type": "string", "pattern": "^([0-9a-fA-F]{2}){16,64}$"})"}},
                        .required_query = {"nonce"}}});
}

}  // namespace nsl::services::attestation
