#include "nsl/services/common/fields.hpp"

#include <cmath>
#include <cstdint>

#include "nsl/core/errors.hpp"
#include "nsl/core/strings.hpp"

namespace nsl::services {

using nlohmann::json;

json json_body(const http::Context& ctx) {
  auto j = json::parse(ctx.request.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw BadRequest("the request body must be a JSON object");
  return j;
}

std::string string_field(const json& body, const char* name, std::size_t max) {
  const auto it = body.find(name);
  if (it == body.end() || !it->is_string()) throw field_error(name, "is required (a string)");
  auto s = it->get<std::string>();
  if (s.empty() || utf8_length(s) > max) throw field_error(name, "must be 1 to " + std::to_string(max) + " characters");
  return s;
}

std::string optional_string_field(const json& body, const char* name, std::size_t max) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return {};
  if (!it->is_string()) throw field_error(name, "must be a string");
  auto s = it->get<std::string>();
  if (utf8_length(s) > max) throw field_error(name, "must be at most " + std::to_string(max) + " characters");
  return s;
}

crypto::Bytes hex_field(const json& body, const char* name, std::size_t max_bytes) {
  const auto s = string_field(body, name, max_bytes * 2 + 2);
  auto b = crypto::from_hex(s);
  if (!b) throw field_error(name, "must be hex");
  return std::move(*b);
}

std::string valid_name(std::string_view name, const char* field, std::size_t max) {
  if (name.empty() || name.size() > max) throw field_error(field, "must be 1 to " + std::to_string(max) + " characters");
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != ':') {
      throw field_error(field, "may hold letters, digits and - _ . : only");
    }
  }
  return std::string(name);
}

std::optional<std::int64_t> whole_number(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (!v.is_number_float()) return std::nullopt;
  const double d = v.get<double>();
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > kExact) return std::nullopt;
  return static_cast<std::int64_t>(d);
}

bool bool_field(const json& body, const char* name) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw field_error(name, "must be true or false");
  return it->get<bool>();
}

}  // namespace nsl::services
