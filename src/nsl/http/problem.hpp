#pragma once

#include <string>
#include <string_view>

#include "nsl/core/errors.hpp"
#include "nsl/http/types.hpp"

namespace nsl::http {

/// Prefix of every problem `type`; the slug of the error kind follows ("…/not-found").
inline constexpr std::string_view kProblemTypePrefix = "https://neo-service-layer.dev/problems/";

/// The RFC 9457 body for an error: type, title, status, detail, instance, request_id and, for
/// invalid input, `errors: [{field, message}]`. Only the error's public detail is included.
std::string problem_body(const RequestError& error, std::string_view instance, std::string_view request_id);

/// The complete `application/problem+json` response, with the error's extra headers
/// (Allow, Retry-After, ...).
Response problem_response(const RequestError& error, std::string_view instance, std::string_view request_id);

}  // namespace nsl::http
