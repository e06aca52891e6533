#include "nsl/http/types.hpp"

#include "nsl/core/errors.hpp"
#include "nsl/core/strings.hpp"
#include "nsl/http/router.hpp"

namespace nsl::http {
std::string_view Context::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

std::optional<std::string> Context::query_param(std::string_view name) const {
  for (auto part : split(query, "&")) {
    const auto eq = part.find('=');
    auto key = percent_decode(part.substr(0, eq), true);
    if (!key || *key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    auto value = percent_decode(part.substr(eq + 1), true);
    if (!value) {
      throw RequestError(ErrorKind::bad_request, "the query parameter " + std::string(name) + " is malformed")
          .with_field(std::string(name), "must be percent-encoded UTF-8 text without NUL");
    }
    return value;
  }
  return std::nullopt;
}

Response json_response(unsigned status, std::string body) { return text_response(status, std::move(body), "application/json"); }

Response text_response(unsigned status, std::string body, std::string_view content_type) {
  Response res{static_cast<beast_http::status>(status), 11};
  res.set(Field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_digit_value(in[i + 1]);
      const int lo = hex_digit_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return std::nullopt;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    out.push_back(c);
  }
  if (!is_storable_text(out)) return std::nullopt;  // not UTF-8 text
  return out;
}

}  // namespace nsl::http
