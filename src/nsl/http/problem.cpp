#include "nsl/http/problem.hpp"

#include <nlohmann/json.hpp>

namespace nsl::http {

std::string problem_body(const RequestError& error, std::string_view instance, std::string_view request_id) {
  nlohmann::json j;
  j["type"] = std::string(kProblemTypePrefix) + slug_of(error.kind());
  j["title"] = title_of(error.kind());
  j["status"] = status_of(error.kind());
  j["detail"] = error.what();
  if (!instance.empty()) j["instance"] = instance;
  if (!request_id.empty()) j["request_id"] = request_id;
  if (!error.field_errors().empty()) {
    auto& errs = j["errors"] = nlohmann::json::array();
    for (const auto& f : error.field_errors()) errs.push_back({{"field", f.field}, {"message", f.message}});
  }
  // Replace invalid UTF-8 rather than throw: details may quote client input.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response problem_response(const RequestError& error, std::string_view instance, std::string_view request_id) {
  auto res = text_response(static_cast<unsigned>(status_of(error.kind())), problem_body(error, instance, request_id),
                           "application/problem+json");
  for (const auto& [name, value] : error.headers()) res.set(name, value);
  return res;
}

}  // namespace nsl::http
